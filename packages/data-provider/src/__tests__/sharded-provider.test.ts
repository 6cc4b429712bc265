import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createInMemoryProvider, manifestForShards } from '../in-memory-provider.ts';
import type { ByteRangeTarget } from '../multipart-byteranges.ts';
import { ShardedProvider, type ShardReader } from '../sharded-provider.ts';
import { randomTokens } from './helpers.ts';

const vocabSize = 1000;
const seqLen = 8;
// Two shards whose boundary falls inside a sequence, so runs cross files.
const shards = [randomTokens(8 * 20 + 3, vocabSize, 'a'), randomTokens(8 * 30, vocabSize, 'b')];

/** A reader over the shards in memory that records every readRangesInto call (the layer below, mocked). */
class RecordingReader implements ShardReader {
  readonly contentVerified = false;
  readonly maxRangesPerRead = 1024;
  readonly calls: { fileIndex: number; lengths: number[] }[] = [];
  private readonly files = shards.map((shard) => new Uint8Array(shard.buffer, shard.byteOffset, shard.byteLength));

  constructor(readonly readsAdjacentRangesInPlace: boolean) {}

  async readInto(fileIndex: number, byteOffset: number, target: Uint8Array): Promise<void> {
    this.calls.push({ fileIndex, lengths: [target.length] });
    this.copy(fileIndex, byteOffset, target);
  }

  async readRangesInto(fileIndex: number, ranges: readonly ByteRangeTarget[]): Promise<void> {
    this.calls.push({ fileIndex, lengths: ranges.map((range) => range.target.length) });
    for (const range of ranges) this.copy(fileIndex, range.start, range.target);
  }

  private copy(fileIndex: number, byteOffset: number, target: Uint8Array): void {
    target.set(this.files[fileIndex]!.subarray(byteOffset, byteOffset + target.length));
  }

  async close(): Promise<void> {}
}

const providerWith = (reader: RecordingReader): ShardedProvider => new ShardedProvider('recording', manifestForShards(shards, vocabSize, seqLen), reader);
const reference = createInMemoryProvider({ shards, vocabSize, seqLen });

describe('ShardedProvider runs of consecutive sequences', () => {
  it('a reader that reads adjacent ranges in place gets one range per row; one that does not (HTTP) gets one range per run', async () => {
    const ids = [4, 5, 6, 7, 8, 9];
    const inPlace = new RecordingReader(true);
    const perRun = new RecordingReader(false);
    const expected = (await reference.getSequences(ids)).tokens;
    expect((await providerWith(inPlace).getSequences(ids)).tokens).toEqual(expected);
    expect((await providerWith(perRun).getSequences(ids)).tokens).toEqual(expected);
    expect(inPlace.calls).toEqual([{ fileIndex: 0, lengths: [...Array(5).fill(seqLen * 2), (seqLen + 1) * 2] }]);
    expect(perRun.calls).toEqual([{ fileIndex: 0, lengths: [(6 * seqLen + 1) * 2] }]);
  });

  it('rows read in place match the reference for any batch: duplicates, runs across the shard boundary, any order (fuzz)', async () => {
    const sequenceCount = reference.describe().sequenceCount;
    await fc.assert(
      fc.asyncProperty(fc.array(fc.nat(sequenceCount - 1), { minLength: 1, maxLength: 40 }), fc.boolean(), async (ids, contiguous) => {
        const batch = contiguous ? Array.from({ length: ids.length }, (_, i) => (ids[0]! + i) % sequenceCount) : ids;
        const provider = providerWith(new RecordingReader(true));
        expect((await provider.getSequences(batch)).tokens).toEqual((await reference.getSequences(batch)).tokens);
      }),
      { numRuns: 300 },
    );
  });
});
