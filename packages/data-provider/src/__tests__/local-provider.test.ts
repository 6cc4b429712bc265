import { appendFileSync, closeSync, openSync, readFileSync, readSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DATA_BATCH_ID_OUT_OF_RANGE,
  DATA_CHECKSUM_MISMATCH,
  DATA_FILE_MISSING,
  DATA_FILE_TRUNCATED,
  DATA_MANIFEST_MALFORMED,
  DATA_MANIFEST_MISMATCH,
  DATA_TOKEN_OUT_OF_RANGE,
  isPsycheError,
} from '@psyche/core';
import {
  SequenceOrder,
  ShardLayout,
  createInMemoryProvider,
  dataProviderComplianceTests,
  openLocalProvider,
  verifyDatasetDirectory,
  writeDataset,
  type DatasetManifest,
} from '../index.ts';
import { makeTempDir, randomTokens, rejectionCode } from './helpers.ts';

const vocabSize = 1000;
const seqLen = 24;
const shards = [randomTokens(500, vocabSize, 'x'), randomTokens(20, vocabSize, 'y'), randomTokens(333, vocabSize, 'z')];

const codeOf = rejectionCode;

describe('local provider', () => {
  const temp = makeTempDir('local');
  beforeAll(() => {
    writeDataset({ dir: temp.dir, vocabSize, seqLen, shards, tokenizer: 'test' });
  });
  afterAll(() => temp.remove());

  for (const verify of ['full', 'size'] as const) {
    for (const io of ['sync', 'async', 'adaptive'] as const) {
      describe(`compliance (verify ${verify}, io ${io})`, () => {
        for (const test of dataProviderComplianceTests({
          setup: async () => ({
            provider: await openLocalProvider({ dir: temp.dir, verify, io, shuffleSeed: 3 }),
            reference: createInMemoryProvider({ shards, vocabSize, seqLen, shuffleSeed: 3 }),
          }),
          teardown: async ({ provider, reference }) => {
            await provider.close();
            await reference?.close();
          },
        })) it(test.name, test.run);
      });
    }
  }

  /** The plain reference: one positional readSync per sequence of its seqLen + 1 tokens (pieces across a file boundary), in request order. */
  function oneReadPerSequence(dir: string, ids: readonly number[], order: SequenceOrder): Uint16Array {
    const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as DatasetManifest;
    const layout = new ShardLayout('u16', manifest.files.map((file) => file.bytes));
    const out = new Uint16Array(ids.length * (seqLen + 1));
    const bytes = new Uint8Array(out.buffer);
    ids.forEach((id, row) => {
      let at = row * (seqLen + 1) * 2;
      for (const piece of layout.pieces(order.sequenceFor(id) * seqLen, seqLen + 1)) {
        const fd = openSync(join(dir, manifest.files[piece.fileIndex]!.path), 'r');
        try {
          expect(readSync(fd, bytes, at, piece.byteLength, piece.byteOffset)).toBe(piece.byteLength);
        } finally {
          closeSync(fd);
        }
        at += piece.byteLength;
      }
    });
    return out;
  }

  it('sorted, gap-merged, concurrent reads equal one readSync per sequence, rows in request order: duplicates, any io mode, gap, read size, queue depth (fuzz)', async () => {
    const count = createInMemoryProvider({ shards, vocabSize, seqLen }).describe().sequenceCount;
    const order = new SequenceOrder(count, 5);
    await fc.assert(
      fc.asyncProperty(
        // Ids past one epoch wrap; duplicates come from the small range and the explicit repeat.
        fc.array(fc.nat(3 * count), { maxLength: 40 }).chain((ids) => fc.constant([...ids, ...ids.slice(0, 3)])),
        fc.integer({ min: 1, max: 600 }),
        fc.constantFrom('sync' as const, 'async' as const, 'adaptive' as const),
        fc.nat(400),
        fc.integer({ min: 1, max: 6 }),
        async (ids, maxReadBytes, io, maxGapBytes, queueDepth) => {
          const provider = await openLocalProvider({ dir: temp.dir, verify: 'size', io, shuffleSeed: 5, maxReadBytes, maxConcurrentReads: 3, maxGapBytes, queueDepth });
          try {
            const batch = await provider.getSequences(ids);
            expect(batch.batchIds).toEqual(ids);
            expect(batch.tokens).toEqual(oneReadPerSequence(temp.dir, ids, order));
          } finally {
            await provider.close();
          }
        },
      ),
      { numRuns: 60 },
    );
  });

  it('out-of-range ids (negative, fractional, unsafe, NaN) among good ones → DATA_BATCH_ID_OUT_OF_RANGE in every io mode', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.nat(200), { maxLength: 10 }),
        fc.constantFrom(-1, -7, 1.5, Number.MAX_SAFE_INTEGER + 2, Number.NaN, Number.POSITIVE_INFINITY),
        fc.nat(10),
        fc.constantFrom('sync' as const, 'async' as const, 'adaptive' as const),
        async (good, bad, at, io) => {
          const provider = await openLocalProvider({ dir: temp.dir, io });
          try {
            const ids = [...good];
            ids.splice(Math.min(at, ids.length), 0, bad);
            expect(await codeOf(provider.getSequences(ids))).toBe(DATA_BATCH_ID_OUT_OF_RANGE);
          } finally {
            await provider.close();
          }
        },
      ),
      { numRuns: 30 },
    );
  });

  it('reports verification progress up to the total size', async () => {
    const seen: number[] = [];
    const provider = await openLocalProvider({ dir: temp.dir, onVerifyProgress: (done, total) => seen.push(done / total) });
    expect(seen.at(-1)).toBe(1);
    // Progress only grows and never passes the total.
    expect(seen.length).toBeGreaterThan(0);
    for (const [i, fraction] of seen.entries()) expect(fraction >= (seen[i - 1] ?? 0) && fraction <= 1).toBe(true);
    await provider.close();
  });
});

describe('local provider on bad input', () => {
  function freshDataset(tokens = shards): { dir: string; remove(): void } {
    const temp = makeTempDir('bad');
    writeDataset({ dir: temp.dir, vocabSize, seqLen, shards: tokens });
    return temp;
  }

  it('missing manifest or shard → DATA_FILE_MISSING', async () => {
    const temp = freshDataset();
    rmSync(join(temp.dir, 'shard-00001.bin'));
    expect(await codeOf(openLocalProvider({ dir: temp.dir, verify: 'size' }))).toBe(DATA_FILE_MISSING);
    rmSync(join(temp.dir, 'manifest.json'));
    expect(await codeOf(openLocalProvider({ dir: temp.dir }))).toBe(DATA_FILE_MISSING);
    temp.remove();
  });

  it('truncated shard → DATA_FILE_TRUNCATED; longer shard → DATA_MANIFEST_MISMATCH', async () => {
    const temp = freshDataset();
    truncateSync(join(temp.dir, 'shard-00000.bin'), 998);
    expect(await codeOf(openLocalProvider({ dir: temp.dir }))).toBe(DATA_FILE_TRUNCATED);
    expect(await codeOf(openLocalProvider({ dir: temp.dir, verify: 'size' }))).toBe(DATA_FILE_TRUNCATED);
    appendFileSync(join(temp.dir, 'shard-00002.bin'), Uint8Array.of(1, 2));
    writeFileSync(join(temp.dir, 'shard-00000.bin'), new Uint8Array(1000));
    expect(await codeOf(openLocalProvider({ dir: temp.dir, verify: 'size' }))).toBe(DATA_MANIFEST_MISMATCH);
    temp.remove();
  });

  it('a shard truncated after open → DATA_FILE_TRUNCATED on read, not a crash', async () => {
    const temp = freshDataset();
    const provider = await openLocalProvider({ dir: temp.dir, verify: 'size' });
    truncateSync(join(temp.dir, 'shard-00002.bin'), 10);
    const last = provider.describe().sequenceCount - 1;
    expect(await codeOf(provider.getSequences([last]))).toBe(DATA_FILE_TRUNCATED);
    await provider.close();
    temp.remove();
  });

  it('changed bytes → DATA_CHECKSUM_MISMATCH with full verification', async () => {
    const temp = freshDataset();
    const path = join(temp.dir, 'shard-00002.bin');
    const bytes = readFileSync(path);
    bytes[7] = bytes[7]! ^ 1;
    writeFileSync(path, bytes);
    expect(await codeOf(openLocalProvider({ dir: temp.dir }))).toBe(DATA_CHECKSUM_MISMATCH);
    temp.remove();
  });

  it('tokens ≥ vocabSize → DATA_TOKEN_OUT_OF_RANGE at open (full) or on read (size)', async () => {
    const temp = freshDataset();
    const path = join(temp.dir, 'shard-00000.bin');
    const bytes = readFileSync(path);
    bytes.writeUInt16LE(vocabSize, 2 * 30);
    writeFileSync(path, bytes);
    expect(await codeOf(openLocalProvider({ dir: temp.dir }))).toBe(DATA_TOKEN_OUT_OF_RANGE);
    const provider = await openLocalProvider({ dir: temp.dir, verify: 'size' });
    expect(await codeOf(provider.getSequences([1]))).toBe(DATA_TOKEN_OUT_OF_RANGE);
    expect((await provider.getSequences([3])).tokens.length).toBe(seqLen + 1);
    await provider.close();
    temp.remove();
  });

  it('a bad token inside a group of scattered runs is found with its stream position; groups without it pass', async () => {
    const temp = freshDataset();
    const path = join(temp.dir, 'shard-00000.bin');
    const bytes = readFileSync(path);
    // Token 250 is in sequence 10 (tokens 240…264) and, as its first token's predecessor, nowhere else.
    bytes.writeUInt16LE(vocabSize + 7, 2 * 250);
    writeFileSync(path, bytes);
    for (const io of ['sync', 'async', 'adaptive'] as const) {
      const provider = await openLocalProvider({ dir: temp.dir, verify: 'size', io });
      try {
        await provider.getSequences([2, 30, 10, 5, 20, 0]);
        expect.unreachable('the bad token was not found');
      } catch (error) {
        expect(isPsycheError(error, DATA_TOKEN_OUT_OF_RANGE) && [error.context.position, error.context.token]).toEqual([250, vocabSize + 7]);
      }
      expect((await provider.getSequences([2, 30, 5, 20, 0, 8, 12])).tokens.length).toBe(7 * (seqLen + 1));
      await provider.close();
    }
    temp.remove();
  });

  it('a bad token inside a contiguous run (rows read in place, boundary tokens copied) is found with its stream position', async () => {
    const temp = freshDataset();
    const path = join(temp.dir, 'shard-00000.bin');
    const bytes = readFileSync(path);
    // Token 250 is inside sequence 10 only; token 264 is sequence 10's last and sequence 11's first.
    for (const position of [250, 264]) {
      const bad = Buffer.from(bytes);
      bad.writeUInt16LE(vocabSize + 3, 2 * position);
      writeFileSync(path, bad);
      for (const io of ['sync', 'async', 'adaptive'] as const) {
        const provider = await openLocalProvider({ dir: temp.dir, verify: 'size', io });
        try {
          await provider.getSequences([8, 9, 10, 11, 12]);
          expect.unreachable('the bad token was not found');
        } catch (error) {
          expect(isPsycheError(error, DATA_TOKEN_OUT_OF_RANGE) && [error.context.position, error.context.token]).toEqual([position, vocabSize + 3]);
        }
        // Rows in another order and away from the bad token still match the file.
        const batch = await provider.getSequences([3, 1, 2, 0]);
        const tokens = new Uint16Array(Uint8Array.from(bytes).buffer);
        [3, 1, 2, 0].forEach((sequence, row) => expect(batch.tokens.subarray(row * (seqLen + 1), (row + 1) * (seqLen + 1))).toEqual(tokens.subarray(sequence * seqLen, sequence * seqLen + seqLen + 1)));
        await provider.close();
      }
    }
    temp.remove();
  });

  it('malformed manifest JSON → DATA_MANIFEST_MALFORMED', async () => {
    const temp = freshDataset();
    writeFileSync(join(temp.dir, 'manifest.json'), '{"format": "psyche-token-shards", "version": 1, "dtype": "u16"');
    expect(await codeOf(verifyDatasetDirectory(temp.dir))).toBe(DATA_MANIFEST_MALFORMED);
    temp.remove();
  });
});
