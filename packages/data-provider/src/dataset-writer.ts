import { closeSync, mkdirSync, openSync, writeFileSync, writeSync } from 'node:fs';
import { createHash, type Hash } from 'node:crypto';
import { join } from 'node:path';
import { DATA_INVALID_CONFIG, DATA_TOKEN_OUT_OF_RANGE, PsycheError, describeValue, toHex } from '@psyche/core';
import { integerOption } from './config-checks-internal.ts';
import { MANIFEST_FILE_NAME, MANIFEST_FORMAT, MANIFEST_VERSION, MAX_SEQ_LEN, MAX_U32_VOCAB_SIZE, serializeManifest, type DatasetManifest, type ShardFile } from './dataset-manifest.ts';
import { allocateTokens, bytesOfTokens, bytesPerToken, dtypeForVocabSize, type TokenArray, type TokenDtype } from './token-dtype.ts';

export interface DatasetWriterOptions {
  dir: string;
  vocabSize: number;
  seqLen: number;
  dtype?: TokenDtype;
  /** Shards roll over at this size (default 256 MiB); rounded down to whole tokens. */
  maxShardBytes?: number;
  /** File name prefix of the shards (default 'shard'). */
  prefix?: string;
  tokenizer?: string;
  eotToken?: number;
}

const BUFFER_TOKENS = 1 << 19;

/**
 * Writes token shards and their manifest with bounded memory: tokens are checked against the
 * vocabulary, buffered, written and hashed as they come; `finish()` writes manifest.json.
 */
export class DatasetWriter {
  readonly dtype: TokenDtype;
  private readonly options: DatasetWriterOptions;
  private readonly maxShardTokens: number;
  private readonly files: ShardFile[] = [];
  private buffer: TokenArray;
  private buffered = 0;
  private fd: number | undefined;
  private hash: Hash | undefined;
  private shardTokens = 0;
  private tokensWritten = 0;

  constructor(options: DatasetWriterOptions) {
    this.options = options;
    // Checked before dtypeForVocabSize compares it: a comparison with {toString: null} throws a TypeError.
    if (!Number.isSafeInteger(options.vocabSize) || options.vocabSize < 1 || options.vocabSize > MAX_U32_VOCAB_SIZE) {
      throw new PsycheError(DATA_INVALID_CONFIG, { field: 'vocabSize', value: describeValue(options.vocabSize), expected: `an integer in [1, ${MAX_U32_VOCAB_SIZE}]` }, `vocabSize ${describeValue(options.vocabSize)} is not an integer in [1, ${MAX_U32_VOCAB_SIZE}]`);
    }
    this.dtype = options.dtype ?? dtypeForVocabSize(options.vocabSize);
    if (this.dtype === 'u16' && options.vocabSize > 65_536) {
      throw new PsycheError(DATA_INVALID_CONFIG, { field: 'dtype', value: 'u16', expected: 'u32 for vocabSize > 65536' }, `vocabSize ${options.vocabSize} needs dtype u32`);
    }
    // The manifest reader refuses any other seqLen: fail here rather than after writing every shard.
    integerOption('seqLen', options.seqLen, 1, MAX_SEQ_LEN);
    const maxShardBytes = options.maxShardBytes ?? 256 * 1024 * 1024;
    // Only a number is divided: dividing {toString: null} (or a symbol) throws a TypeError.
    this.maxShardTokens = typeof maxShardBytes === 'number' ? Math.floor(maxShardBytes / bytesPerToken(this.dtype)) : Number.NaN;
    // Written as !(≥ 1) so that NaN is refused too: it made flush() write nothing and drop the tokens.
    if (!(this.maxShardTokens >= 1)) {
      throw new PsycheError(DATA_INVALID_CONFIG, { field: 'maxShardBytes', value: describeValue(maxShardBytes), expected: 'at least one token' }, 'maxShardBytes is smaller than one token');
    }
    this.buffer = allocateTokens(this.dtype, BUFFER_TOKENS);
    mkdirSync(options.dir, { recursive: true });
  }

  get tokenCount(): number {
    return this.tokensWritten + this.buffered;
  }

  append(tokens: ArrayLike<number>): void {
    const vocabSize = this.options.vocabSize;
    for (let i = 0; i < tokens.length; i++) {
      const token = tokens[i]!;
      if (!Number.isInteger(token) || token < 0 || token >= vocabSize) {
        throw new PsycheError(
          DATA_TOKEN_OUT_OF_RANGE,
          { source: this.options.dir, position: this.tokenCount, token, vocabSize },
          `token ${token} is not an id below vocabSize ${vocabSize}`,
        );
      }
      this.buffer[this.buffered++] = token;
      if (this.buffered === this.buffer.length) this.flush();
    }
  }

  private flush(): void {
    let start = 0;
    while (start < this.buffered) {
      if (this.fd === undefined) this.openShard();
      const take = Math.min(this.buffered - start, this.maxShardTokens - this.shardTokens);
      const bytes = bytesOfTokens(this.buffer.subarray(start, start + take));
      writeSync(this.fd!, bytes);
      this.hash!.update(bytes);
      this.shardTokens += take;
      this.tokensWritten += take;
      start += take;
      if (this.shardTokens === this.maxShardTokens) this.closeShard();
    }
    this.buffered = 0;
  }

  private shardPath(index: number): string {
    return `${this.options.prefix ?? 'shard'}-${String(index).padStart(5, '0')}.bin`;
  }

  private openShard(): void {
    this.fd = openSync(join(this.options.dir, this.shardPath(this.files.length)), 'w');
    this.hash = createHash('sha256');
    this.shardTokens = 0;
  }

  private closeShard(): void {
    if (this.fd === undefined) return;
    closeSync(this.fd);
    this.files.push({
      path: this.shardPath(this.files.length),
      bytes: this.shardTokens * bytesPerToken(this.dtype),
      sha256: toHex(new Uint8Array(this.hash!.digest())),
    });
    this.fd = undefined;
    this.hash = undefined;
  }

  /** Ends the current shard now (the next token starts a new file). */
  endShard(): void {
    this.flush();
    this.closeShard();
  }

  /** Flushes, closes the last shard and writes manifest.json; returns the manifest. */
  finish(): DatasetManifest {
    this.flush();
    this.closeShard();
    if (this.files.length === 0) {
      this.openShard();
      this.closeShard();
    }
    const manifest: DatasetManifest = {
      format: MANIFEST_FORMAT,
      version: MANIFEST_VERSION,
      dtype: this.dtype,
      vocabSize: this.options.vocabSize,
      seqLen: this.options.seqLen,
      files: this.files,
    };
    if (this.options.tokenizer !== undefined) manifest.tokenizer = this.options.tokenizer;
    if (this.options.eotToken !== undefined) manifest.eotToken = this.options.eotToken;
    writeFileSync(join(this.options.dir, MANIFEST_FILE_NAME), serializeManifest(manifest));
    return manifest;
  }
}

/** Writes one dataset directory from whole token arrays (tests, small datasets). */
export function writeDataset(options: DatasetWriterOptions & { shards: readonly ArrayLike<number>[] }): DatasetManifest {
  const writer = new DatasetWriter({ ...options, maxShardBytes: options.maxShardBytes ?? Number.MAX_SAFE_INTEGER });
  for (const shard of options.shards) {
    writer.append(shard);
    writer.endShard();
  }
  return writer.finish();
}
