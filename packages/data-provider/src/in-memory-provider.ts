import { DATA_FILE_TRUNCATED, sha256, toHex, type RngSeed } from '@psyche/core';
import { PsycheError } from '@psyche/core';
import { throwIfAborted } from './data-provider.ts';
import { MANIFEST_FORMAT, MANIFEST_VERSION, validateManifest, type DatasetManifest } from './dataset-manifest.ts';
import { ShardedProvider, type ShardReader, type ShardedProviderOptions } from './sharded-provider.ts';
import { bytesOfTokens, dtypeForVocabSize, type TokenArray } from './token-dtype.ts';

export interface InMemoryProviderOptions extends ShardedProviderOptions {
  /** Token shards, in order (one or more). */
  shards: readonly TokenArray[];
  vocabSize: number;
  seqLen: number;
  name?: string;
  shuffleSeed?: RngSeed;
}

/** The manifest that a set of in-memory shards would have on disk (shard-00000.bin, …). */
export function manifestForShards(shards: readonly TokenArray[], vocabSize: number, seqLen: number): DatasetManifest {
  const dtype = shards[0] instanceof Uint32Array ? 'u32' : dtypeForVocabSize(vocabSize);
  return validateManifest({
    format: MANIFEST_FORMAT,
    version: MANIFEST_VERSION,
    dtype,
    vocabSize,
    seqLen,
    files: shards.map((shard, index) => ({
      path: `shard-${String(index).padStart(5, '0')}.bin`,
      bytes: shard.byteLength,
      sha256: toHex(sha256(bytesOfTokens(shard))),
    })),
  });
}

class MemoryShardReader implements ShardReader {
  readonly contentVerified = false;
  constructor(private readonly files: readonly Uint8Array[]) {}

  async readInto(fileIndex: number, byteOffset: number, target: Uint8Array, signal: AbortSignal | undefined): Promise<void> {
    throwIfAborted(signal, 'memory read');
    const file = this.files[fileIndex]!;
    if (byteOffset + target.length > file.length) {
      throw new PsycheError(DATA_FILE_TRUNCATED, { file: `memory:${fileIndex}`, expectedBytes: byteOffset + target.length, actualBytes: file.length }, 'read past the end of an in-memory shard');
    }
    target.set(file.subarray(byteOffset, byteOffset + target.length));
  }

  async close(): Promise<void> {}
}

/**
 * A provider over token arrays held in memory: the reference the compliance suite and the other
 * providers are compared against, and a convenient provider for tests and small experiments.
 */
export function createInMemoryProvider(options: InMemoryProviderOptions): ShardedProvider {
  const manifest = manifestForShards(options.shards, options.vocabSize, options.seqLen);
  const files = options.shards.map((shard) => new Uint8Array(bytesOfTokens(shard)));
  return new ShardedProvider(options.name ?? 'memory', manifest, new MemoryShardReader(files), options);
}
