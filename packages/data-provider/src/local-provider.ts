import { closeSync, openSync, type Stats } from 'node:fs';
import { open, readFile, stat } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { join, resolve } from 'node:path';
import {
  DATA_CHECKSUM_MISMATCH,
  DATA_FILE_MISSING,
  DATA_FILE_TRUNCATED,
  DATA_MANIFEST_MALFORMED,
  DATA_MANIFEST_MISMATCH,
  DATA_TOKEN_OUT_OF_RANGE,
  PsycheError,
  toHex,
} from '@psyche/core';
import { throwIfAborted } from './data-provider.ts';
import { MANIFEST_FILE_NAME, MAX_MANIFEST_BYTES, parseManifest, type DatasetManifest, type ShardFile } from './dataset-manifest.ts';
import type { ByteRangeTarget } from './multipart-byteranges.ts';
import { AdaptiveReadState, readRangesCoalesced, type ReadMode } from './coalesced-reads.ts';
import { integerOption } from './config-checks-internal.ts';
import { ShardedProvider, type ShardReader, type ShardedProviderOptions } from './sharded-provider.ts';
import { findTokenOutOfRange, tokensFromBytes } from './token-dtype.ts';

export interface LocalProviderOptions extends ShardedProviderOptions {
  /** Directory holding manifest.json and the shards it lists. */
  dir: string;
  /**
   * 'full' (default): hash every file and check every token at open, then serve without per-read checks.
   * 'size': check sizes only at open (fast for huge datasets) and check tokens on every read.
   */
  verify?: 'full' | 'size';
  /**
   * How a call's ranges are read (after sorting them by offset and merging near ones, see
   * maxGapBytes). 'adaptive' (default): readSync while reads come at page-cache speed, then,
   * once two were slow (the data is on the disk), the rest of the call on libuv's thread pool
   * with queueDepth reads in flight. 'sync': readSync only (fastest from the page cache, queue
   * depth 1 on a disk; blocks the event loop for each read). 'async': thread pool only.
   */
  io?: ReadMode;
  /** Ranges of one call closer than this are read as one span, gap included (default DEFAULT_MAX_GAP_BYTES, 32 KiB). */
  maxGapBytes?: number;
  /** Reads in flight at once when reads go to the thread pool (default DEFAULT_QUEUE_DEPTH, 16). */
  queueDepth?: number;
  /** Progress of the open-time verification, in bytes. */
  onVerifyProgress?: (doneBytes: number, totalBytes: number) => void;
}

export async function readManifestFile(dir: string): Promise<DatasetManifest> {
  const path = join(dir, MANIFEST_FILE_NAME);
  let info: Stats;
  try {
    info = await stat(path);
  } catch (cause) {
    throw new PsycheError(DATA_FILE_MISSING, { file: path }, `${path}: manifest is missing`, { cause });
  }
  if (info.size > MAX_MANIFEST_BYTES) {
    throw new PsycheError(DATA_MANIFEST_MALFORMED, { source: path, reason: 'too large' }, `${path}: manifest larger than ${MAX_MANIFEST_BYTES} bytes`);
  }
  return parseManifest(await readFile(path), path);
}

/** Checks that every listed file exists with exactly the listed size. */
export async function checkShardSizes(dir: string, manifest: DatasetManifest): Promise<void> {
  for (const file of manifest.files) {
    const path = join(dir, file.path);
    let size: number;
    try {
      size = (await stat(path)).size;
    } catch (cause) {
      throw new PsycheError(DATA_FILE_MISSING, { file: path }, `${path}: shard listed in the manifest is missing`, { cause });
    }
    if (size < file.bytes) {
      throw new PsycheError(DATA_FILE_TRUNCATED, { file: path, expectedBytes: file.bytes, actualBytes: size }, `${path}: ${size} bytes, manifest says ${file.bytes}`);
    }
    if (size > file.bytes) {
      throw new PsycheError(
        DATA_MANIFEST_MISMATCH,
        { file: path, field: 'bytes', expected: String(file.bytes), actual: String(size) },
        `${path}: ${size} bytes, manifest says ${file.bytes}`,
      );
    }
  }
}

const SCAN_CHUNK_BYTES = 1024 * 1024;

/** Streams one shard (bounded memory): sha256 and the first token ≥ vocabSize; throws the coded error on a mismatch. */
export async function verifyShardFile(
  path: string,
  file: ShardFile,
  manifest: Pick<DatasetManifest, 'dtype' | 'vocabSize'>,
  onBytes: (bytes: number) => void = () => {},
  signal?: AbortSignal,
): Promise<void> {
  const handle = await open(path, 'r');
  try {
    const hash = createHash('sha256');
    const chunk = new Uint8Array(SCAN_CHUNK_BYTES);
    let position = 0;
    for (;;) {
      throwIfAborted(signal, `verify ${path}`);
      const { bytesRead } = await handle.read(chunk, 0, chunk.length, position);
      if (bytesRead === 0) break;
      const piece = chunk.subarray(0, bytesRead);
      hash.update(piece);
      // Chunks are a multiple of 4 bytes and the file a multiple of the token width, so tokens never straddle chunks.
      const tokens = tokensFromBytes(manifest.dtype, piece);
      const bad = findTokenOutOfRange(tokens, manifest.vocabSize);
      if (bad >= 0) {
        const width = piece.length / tokens.length;
        throw new PsycheError(
          DATA_TOKEN_OUT_OF_RANGE,
          { source: path, position: position / width + bad, token: tokens[bad]!, vocabSize: manifest.vocabSize },
          `${path}: token ${tokens[bad]!} at position ${position / width + bad} is not below vocabSize ${manifest.vocabSize}`,
        );
      }
      position += bytesRead;
      onBytes(bytesRead);
    }
    if (position !== file.bytes) {
      throw new PsycheError(DATA_FILE_TRUNCATED, { file: path, expectedBytes: file.bytes, actualBytes: position }, `${path}: read ${position} bytes, manifest says ${file.bytes}`);
    }
    const actual = toHex(new Uint8Array(hash.digest()));
    if (actual !== file.sha256) {
      throw new PsycheError(DATA_CHECKSUM_MISMATCH, { file: path, expected: file.sha256, actual }, `${path}: sha256 ${actual}, manifest says ${file.sha256}`);
    }
  } finally {
    await handle.close();
  }
}

/** Full check of a dataset directory: manifest, sizes, sha256 of every shard, every token below vocabSize. */
export async function verifyDatasetDirectory(
  dir: string,
  options: { onProgress?: (doneBytes: number, totalBytes: number) => void; signal?: AbortSignal } = {},
): Promise<DatasetManifest> {
  const manifest = await readManifestFile(dir);
  await checkShardSizes(dir, manifest);
  const total = manifest.files.reduce((sum, file) => sum + file.bytes, 0);
  let done = 0;
  for (const file of manifest.files) {
    await verifyShardFile(join(dir, file.path), file, manifest, (bytes) => {
      done += bytes;
      options.onProgress?.(done, total);
    }, options.signal);
  }
  return manifest;
}

class LocalShardReader implements ShardReader {
  readonly contentVerified: boolean;
  /** Every run of a call in one readRangesInto: it sorts, merges near ranges and reads them (concurrently once on the disk). */
  readonly maxRangesPerRead = 1024;
  /** readRangesCoalesced reads disjoint ranges of a span with one readv straight into their targets. */
  readonly readsAdjacentRangesInPlace = true;
  private readonly descriptors = new Map<number, number>();
  private readonly adaptiveState = new AdaptiveReadState();

  constructor(
    private readonly dir: string,
    private readonly manifest: DatasetManifest,
    verified: boolean,
    private readonly io: ReadMode,
    private readonly maxGapBytes: number | undefined,
    private readonly queueDepth: number | undefined,
  ) {
    this.contentVerified = verified;
  }

  private descriptor(fileIndex: number): number {
    let fd = this.descriptors.get(fileIndex);
    if (fd === undefined) {
      const path = join(this.dir, this.manifest.files[fileIndex]!.path);
      try {
        fd = openSync(path, 'r');
      } catch (cause) {
        throw new PsycheError(DATA_FILE_MISSING, { file: path }, `${path}: cannot open shard`, { cause });
      }
      this.descriptors.set(fileIndex, fd);
    }
    return fd;
  }

  async readInto(fileIndex: number, byteOffset: number, target: Uint8Array, signal: AbortSignal | undefined): Promise<void> {
    await this.readRangesInto(fileIndex, [{ start: byteOffset, target }], signal);
  }

  async readRangesInto(fileIndex: number, ranges: readonly ByteRangeTarget[], signal: AbortSignal | undefined): Promise<void> {
    throwIfAborted(signal, 'local read');
    await readRangesCoalesced(this.descriptor(fileIndex), ranges, {
      mode: this.io,
      adaptiveState: this.adaptiveState,
      ...(this.maxGapBytes === undefined ? {} : { maxGapBytes: this.maxGapBytes }),
      ...(this.queueDepth === undefined ? {} : { queueDepth: this.queueDepth }),
      onEnd: (position) => this.truncated(fileIndex, position),
    });
  }

  private truncated(fileIndex: number, actualBytes: number): never {
    const path = join(this.dir, this.manifest.files[fileIndex]!.path);
    const expectedBytes = this.manifest.files[fileIndex]!.bytes;
    throw new PsycheError(DATA_FILE_TRUNCATED, { file: path, expectedBytes, actualBytes }, `${path}: ended at byte ${actualBytes}, manifest says ${expectedBytes}`);
  }

  async close(): Promise<void> {
    for (const fd of this.descriptors.values()) closeSync(fd);
    this.descriptors.clear();
  }
}

/**
 * Opens a dataset directory (manifest.json + shards) as a DataProvider, after checking the
 * manifest against the files (sizes always; sha256 and token range with verify: 'full').
 *
 * @example
 * const provider = await openLocalProvider({ dir: 'data/train', shuffleSeed: 42 });
 * const batch = await provider.getSequences([0, 1, 2, 3]);
 */
export async function openLocalProvider(options: LocalProviderOptions): Promise<ShardedProvider> {
  const dir = resolve(options.dir);
  const verify = options.verify ?? 'full';
  // Checked before the (possibly long) verification: a NaN queueDepth started no thread-pool read, so batches read that way were zeros.
  if (options.maxGapBytes !== undefined) integerOption('maxGapBytes', options.maxGapBytes, 0);
  if (options.queueDepth !== undefined) integerOption('queueDepth', options.queueDepth, 1);
  const manifest = verify === 'full' ? await verifyDatasetDirectory(dir, options.onVerifyProgress ? { onProgress: options.onVerifyProgress } : {}) : await readManifestFile(dir);
  if (verify !== 'full') await checkShardSizes(dir, manifest);
  return new ShardedProvider(dir, manifest, new LocalShardReader(dir, manifest, verify === 'full', options.io ?? 'adaptive', options.maxGapBytes, options.queueDepth), options);
}
