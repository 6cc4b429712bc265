import { createHash } from 'node:crypto';
import {
  DATA_ABORTED,
  DATA_CHECKSUM_MISMATCH,
  DATA_FILE_TRUNCATED,
  DATA_INVALID_CONFIG,
  DATA_MANIFEST_MISMATCH,
  DATA_TOKEN_OUT_OF_RANGE,
  PsycheError,
  isPsycheError,
  toHex,
} from '@psyche/core';
import { MANIFEST_FORMAT, MANIFEST_VERSION, MAX_MANIFEST_BYTES, parseManifest, validateManifest, type DatasetManifest } from './dataset-manifest.ts';
import { forEachLimited } from './concurrency-internal.ts';
import { integerOption } from './config-checks-internal.ts';
import { HttpFetcher, type HttpRetryOptions } from './http-fetch.ts';
import type { ByteRangeTarget } from './multipart-byteranges.ts';
import { ShardedProvider, type ShardReader, type ShardedProviderOptions } from './sharded-provider.ts';
import { findTokenOutOfRange, tokensFromBytes, type TokenDtype } from './token-dtype.ts';

/** Psyche's numbered files: `template` with `{index}` replaced by start … start+count−1, zero-padded to `zeroPad` digits. */
export function numberedFileUrls(options: { template: string; start?: number; count: number; zeroPad?: number }): string[] {
  if (!options.template.includes('{index}') || !Number.isSafeInteger(options.count) || options.count < 1) {
    throw new PsycheError(DATA_INVALID_CONFIG, { field: 'template', value: options.template, expected: "a URL containing '{index}' and count ≥ 1" }, "numbered files need a template with '{index}' and count ≥ 1");
  }
  // A manifest lists at most 100 000 files (dataset-manifest.ts): a bigger count only allocated URLs to be refused later.
  integerOption('count', options.count, 1, 100_000);
  const start = integerOption('start', options.start ?? 0, 0);
  integerOption('zeroPad', options.zeroPad ?? 0, 0, 32);
  return Array.from({ length: options.count }, (_, i) => options.template.replaceAll('{index}', String(start + i).padStart(options.zeroPad ?? 0, '0')));
}

export type HttpSource =
  /** A manifest URL; shard paths resolve relative to it. */
  | { manifestUrl: string; manifestSha256?: string }
  /** Explicit shard URLs (one URL, or numberedFileUrls(...)) with their manifest. */
  | { urls: readonly string[]; manifest: DatasetManifest }
  /** Explicit shard URLs without a manifest (Psyche's raw mode): sizes come from HEAD, nothing to hash against. */
  | { urls: readonly string[]; format: { dtype: TokenDtype; vocabSize: number; seqLen: number } };

export interface HttpProviderOptions extends ShardedProviderOptions, HttpRetryOptions {
  source: HttpSource;
  /**
   * 'size' (default): HEAD every shard at open and check each Range response's total size; tokens
   * are checked on every read. 'full': also download every shard once at open (streamed, bounded
   * memory) and check its sha256 and tokens against the manifest.
   */
  verify?: 'size' | 'full';
  /** Cancels the open (manifest fetch and checks). */
  signal?: AbortSignal;
}

/** Ranges asked for in one multi-range request (the Range header stays under ~6 KiB, below servers' header limits). */
const RANGES_PER_REQUEST = 256;

class HttpShardReader implements ShardReader {
  readonly maxRangesPerRead = RANGES_PER_REQUEST;
  /** Cleared for good once the server answers a multi-range request with anything but multipart/byteranges. */
  private multiRange = true;

  constructor(
    private readonly fetcher: HttpFetcher,
    private readonly urls: readonly string[],
    private readonly sizes: readonly number[],
    readonly contentVerified: boolean,
  ) {}

  readInto(fileIndex: number, byteOffset: number, target: Uint8Array, signal: AbortSignal | undefined): Promise<void> {
    return this.fetcher.getRange(this.urls[fileIndex]!, byteOffset, target, this.sizes[fileIndex], signal);
  }

  /**
   * One multi-range request for scattered runs; where the server does not do multi-range, or the
   * attempt fails (a broken body, a timeout), the ranges are fetched one by one with the
   * single-range retries and checks. A wrong file size or an abort is final.
   */
  async readRangesInto(fileIndex: number, ranges: readonly ByteRangeTarget[], signal: AbortSignal | undefined): Promise<void> {
    const url = this.urls[fileIndex]!;
    if (this.multiRange) {
      try {
        if ((await this.fetcher.getRanges(url, ranges, this.sizes[fileIndex], signal)) === 'done') return;
        this.multiRange = false;
      } catch (error) {
        if (isPsycheError(error, DATA_ABORTED) || isPsycheError(error, DATA_MANIFEST_MISMATCH)) throw error;
      }
    }
    await forEachLimited(ranges, 8, (range) => this.fetcher.getRange(url, range.start, range.target, this.sizes[fileIndex], signal));
  }

  async close(): Promise<void> {
    this.fetcher.close();
  }
}

async function verifyRemoteShard(fetcher: HttpFetcher, url: string, manifest: DatasetManifest, index: number, signal?: AbortSignal): Promise<void> {
  const file = manifest.files[index]!;
  const width = manifest.dtype === 'u16' ? 2 : 4;
  let hash = createHash('sha256');
  let position = 0;
  let carry = new Uint8Array(0);
  const begin = () => {
    hash = createHash('sha256');
    position = 0;
    carry = new Uint8Array(0);
    return onChunk;
  };
  const onChunk = (chunk: Uint8Array): void => {
    position += chunk.length;
    if (position > file.bytes) throw new PsycheError(DATA_MANIFEST_MISMATCH, { file: url, field: 'bytes', expected: String(file.bytes), actual: `>${position - 1}` }, `${url}: longer than the manifest's ${file.bytes} bytes`);
    hash.update(chunk);
    // Chunks split tokens anywhere: keep the tail that does not fill a whole token for the next chunk.
    const joined = carry.length === 0 ? chunk : Buffer.concat([carry, chunk]);
    const whole = joined.length - (joined.length % width);
    const tokens = tokensFromBytes(manifest.dtype, joined.subarray(0, whole));
    const bad = findTokenOutOfRange(tokens, manifest.vocabSize);
    if (bad >= 0) {
      throw new PsycheError(DATA_TOKEN_OUT_OF_RANGE, { source: url, position: bad, token: tokens[bad]!, vocabSize: manifest.vocabSize }, `${url}: token ${tokens[bad]!} is not below vocabSize ${manifest.vocabSize}`);
    }
    carry = joined.slice(whole);
  };
  await fetcher.stream(url, begin, signal);
  if (position !== file.bytes) throw new PsycheError(DATA_FILE_TRUNCATED, { file: url, expectedBytes: file.bytes, actualBytes: position }, `${url}: ${position} bytes, manifest says ${file.bytes}`);
  const actual = toHex(new Uint8Array(hash.digest()));
  if (actual !== file.sha256) throw new PsycheError(DATA_CHECKSUM_MISMATCH, { file: url, expected: file.sha256, actual }, `${url}: sha256 ${actual}, manifest says ${file.sha256}`);
}

/**
 * A DataProvider reading shards over HTTP(S) with Range requests (seq_len + 1 tokens per sequence,
 * consecutive sequences merged into one request), per-attempt deadlines, retries with jittered
 * exponential backoff, and size / sha256 checks against the manifest.
 *
 * @example
 * const provider = await openHttpProvider({ source: { manifestUrl: 'http://10.0.0.2:8080/train/manifest.json' }, shuffleSeed: 1 });
 */
export async function openHttpProvider(options: HttpProviderOptions): Promise<ShardedProvider> {
  const fetcher = new HttpFetcher(options);
  try {
    const source = options.source;
    let manifest: DatasetManifest;
    let urls: readonly string[];
    let name: string;
    let hashed = true;
    if ('manifestUrl' in source) {
      const bytes = await fetcher.getAll(source.manifestUrl, MAX_MANIFEST_BYTES, options.signal);
      if (source.manifestSha256 !== undefined) {
        const actual = toHex(new Uint8Array(createHash('sha256').update(bytes).digest()));
        if (actual !== source.manifestSha256.toLowerCase()) {
          throw new PsycheError(DATA_CHECKSUM_MISMATCH, { file: source.manifestUrl, expected: source.manifestSha256, actual }, `${source.manifestUrl}: manifest sha256 ${actual} is not the pinned one`);
        }
      }
      manifest = parseManifest(bytes, source.manifestUrl);
      urls = manifest.files.map((file) => new URL(file.path, source.manifestUrl).toString());
      name = source.manifestUrl;
    } else if ('manifest' in source) {
      manifest = validateManifest(source.manifest);
      urls = source.urls;
      name = urls[0] ?? 'http';
      if (urls.length !== manifest.files.length) {
        throw new PsycheError(DATA_MANIFEST_MISMATCH, { file: name, field: 'files', expected: String(manifest.files.length), actual: String(urls.length) }, `${urls.length} URLs for ${manifest.files.length} manifest files`);
      }
    } else {
      urls = source.urls;
      name = urls[0] ?? 'http';
      hashed = false;
      const sizes: number[] = new Array<number>(urls.length);
      await forEachLimited(urls, 8, async (url, index) => {
        sizes[index] = await fetcher.contentLength(url, options.signal);
      });
      const width = source.format.dtype === 'u16' ? 2 : 4;
      // Raw mode has no hashes to check; the placeholder is never compared (verify 'full' is refused below).
      manifest = validateManifest({
        format: MANIFEST_FORMAT,
        version: MANIFEST_VERSION,
        ...source.format,
        files: urls.map((url, index) => ({ path: `raw-${index}.bin`, bytes: sizes[index]! - (sizes[index]! % width), sha256: '0'.repeat(64) })),
      }, name);
    }
    const verify = options.verify ?? 'size';
    if (verify === 'full') {
      if (!hashed) throw new PsycheError(DATA_INVALID_CONFIG, { field: 'verify', value: 'full', expected: "'size' without a manifest" }, "verify 'full' needs a manifest with sha256 per file");
      await forEachLimited(urls, 4, (url, index) => verifyRemoteShard(fetcher, url, manifest, index, options.signal));
    } else if (hashed) {
      await forEachLimited(urls, 8, async (url, index) => {
        const size = await fetcher.contentLength(url, options.signal);
        const expected = manifest.files[index]!.bytes;
        if (size < expected) throw new PsycheError(DATA_FILE_TRUNCATED, { file: url, expectedBytes: expected, actualBytes: size }, `${url}: ${size} bytes, manifest says ${expected}`);
        if (size > expected) throw new PsycheError(DATA_MANIFEST_MISMATCH, { file: url, field: 'bytes', expected: String(expected), actual: String(size) }, `${url}: ${size} bytes, manifest says ${expected}`);
      });
    }
    const sizes = hashed ? manifest.files.map((file) => file.bytes) : [];
    return new ShardedProvider(name, manifest, new HttpShardReader(fetcher, urls, sizes, verify === 'full'), options);
  } catch (error) {
    fetcher.close();
    throw error;
  }
}
