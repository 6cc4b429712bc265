import { DATA_INVALID_CONFIG, DATA_PROVIDER_CLOSED, DATA_TOKEN_OUT_OF_RANGE, PsycheError, type RngSeed } from '@psyche/core';
import { throwIfAborted, type DataDescription, type DataProvider, type GetSequencesOptions, type TokenBatch } from './data-provider.ts';
import { manifestSequenceCount, type DatasetManifest } from './dataset-manifest.ts';
import { forEachLimited } from './concurrency-internal.ts';
import { ShardLayout } from './shard-layout.ts';
import { SequenceOrder } from './sequence-order.ts';
import { allocateTokensUninitialized, bytesPerToken, findTokenOutOfRange, tokensFromBytes } from './token-dtype.ts';

/** Where a sharded provider's bytes come from: a directory, an HTTP server, memory. */
export interface ShardReader {
  /** Fills `target` with bytes [byteOffset, byteOffset + target.length) of file `fileIndex`, or rejects with a coded error. */
  readInto(fileIndex: number, byteOffset: number, target: Uint8Array, signal: AbortSignal | undefined): Promise<void>;
  /** True when every file was hashed and token-checked at open, so reads need no token check. */
  readonly contentVerified: boolean;
  close(): Promise<void>;
}

export interface ShardedProviderOptions {
  /** Seed of the per-epoch sequence shuffle; omit to serve sequences in file order. */
  shuffleSeed?: RngSeed;
  /** Consecutive sequences are fetched in one read up to this many bytes (default 8 MiB). */
  maxReadBytes?: number;
  /** Reads in flight at once for one request (default 8). */
  maxConcurrentReads?: number;
}

interface Run {
  firstSequence: number;
  sequences: number;
}

/**
 * A DataProvider over a manifest and a ShardReader. One request: map ids to sequences, sort and
 * merge consecutive sequences into runs (one read each, bounded in bytes), read runs with bounded
 * concurrency, copy each id's row out and check tokens < vocabSize unless the reader verified them.
 */
export class ShardedProvider implements DataProvider {
  readonly manifest: DatasetManifest;
  private readonly name: string;
  private readonly reader: ShardReader;
  private readonly layout: ShardLayout;
  private readonly order: SequenceOrder;
  private readonly maxRunSequences: number;
  private readonly maxConcurrentReads: number;
  private readonly scratch: Uint8Array[] = [];
  private closed = false;

  constructor(name: string, manifest: DatasetManifest, reader: ShardReader, options: ShardedProviderOptions = {}) {
    this.name = name;
    this.manifest = manifest;
    this.reader = reader;
    this.layout = new ShardLayout(manifest.dtype, manifest.files.map((file) => file.bytes));
    this.order = new SequenceOrder(manifestSequenceCount(manifest), options.shuffleSeed);
    const rowBytes = (manifest.seqLen + 1) * bytesPerToken(manifest.dtype);
    const maxReadBytes = options.maxReadBytes ?? 8 * 1024 * 1024;
    if (!Number.isSafeInteger(maxReadBytes) || maxReadBytes < 1) {
      throw new PsycheError(DATA_INVALID_CONFIG, { field: 'maxReadBytes', value: String(maxReadBytes), expected: 'positive integer' }, 'maxReadBytes must be a positive integer');
    }
    this.maxRunSequences = Math.max(1, Math.floor(maxReadBytes / rowBytes));
    this.maxConcurrentReads = Math.max(1, options.maxConcurrentReads ?? 8);
  }

  describe(): DataDescription {
    const { dtype, vocabSize, seqLen } = this.manifest;
    return { name: this.name, dtype, vocabSize, seqLen, sequenceCount: this.order.sequenceCount };
  }

  /** The sequence index a batch id maps to (the deterministic, optionally shuffled order). */
  sequenceFor(batchId: number): number {
    return this.order.sequenceFor(batchId);
  }

  async getSequences(batchIds: readonly number[], options: GetSequencesOptions = {}): Promise<TokenBatch> {
    if (this.closed) throw new PsycheError(DATA_PROVIDER_CLOSED, { provider: this.name }, `${this.name}: provider is closed`);
    throwIfAborted(options.signal, 'getSequences');
    const { dtype, seqLen } = this.manifest;
    const rowTokens = seqLen + 1;
    const sequences = this.order.sequencesFor(batchIds);
    // Every row is written below before the batch is returned; a failed read discards it.
    const out = allocateTokensUninitialized(dtype, sequences.length * rowTokens);
    const rowsOf = new Map<number, number[]>();
    sequences.forEach((sequence, row) => {
      const rows = rowsOf.get(sequence);
      if (rows === undefined) rowsOf.set(sequence, [row]);
      else rows.push(row);
    });
    await forEachLimited(this.planRuns([...rowsOf.keys()]), this.maxConcurrentReads, async (run) => {
      const scratch = this.takeScratch(run);
      try {
        const tokens = tokensFromBytes(dtype, await this.readRun(run, scratch, options.signal));
        for (let s = 0; s < run.sequences; s++) {
          const sequence = run.firstSequence + s;
          const rowView = tokens.subarray(s * seqLen, s * seqLen + rowTokens);
          if (!this.reader.contentVerified) this.checkTokens(rowView, sequence);
          for (const row of rowsOf.get(sequence)!) out.set(rowView, row * rowTokens);
        }
      } finally {
        this.scratch.push(scratch);
      }
    });
    return { dtype, seqLen, batchIds: [...batchIds], tokens: out };
  }

  private checkTokens(rowView: ReturnType<typeof tokensFromBytes>, sequence: number): void {
    const { seqLen, vocabSize } = this.manifest;
    const bad = findTokenOutOfRange(rowView, vocabSize);
    if (bad >= 0) {
      throw new PsycheError(
        DATA_TOKEN_OUT_OF_RANGE,
        { source: this.name, position: sequence * seqLen + bad, token: rowView[bad]!, vocabSize },
        `${this.name}: token ${rowView[bad]!} at position ${sequence * seqLen + bad} is not below vocabSize ${vocabSize}`,
      );
    }
  }

  /** A reusable read buffer (at most maxConcurrentReads of them live, each ≤ maxReadBytes + one row): no allocation per request. */
  private takeScratch(run: Run): Uint8Array {
    const needed = (run.sequences * this.manifest.seqLen + 1) * bytesPerToken(this.manifest.dtype);
    const index = this.scratch.findIndex((buffer) => buffer.length >= needed);
    if (index >= 0) return this.scratch.splice(index, 1)[0]!;
    if (this.scratch.length > 0) this.scratch.pop();
    return new Uint8Array(Math.max(needed, this.maxRunSequences * this.manifest.seqLen * bytesPerToken(this.manifest.dtype) + 64));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.scratch.length = 0;
    this.closed = true;
    await this.reader.close();
  }

  /** Distinct sequences in ascending order, consecutive ones merged up to maxRunSequences. */
  private planRuns(distinctSequences: readonly number[]): Run[] {
    const distinct = [...distinctSequences].sort((a, b) => a - b);
    const runs: Run[] = [];
    for (const sequence of distinct) {
      const last = runs[runs.length - 1];
      if (last !== undefined && last.firstSequence + last.sequences === sequence && last.sequences < this.maxRunSequences) last.sequences++;
      else runs.push({ firstSequence: sequence, sequences: 1 });
    }
    return runs;
  }

  private async readRun(run: Run, scratch: Uint8Array, signal: AbortSignal | undefined): Promise<Uint8Array> {
    const { seqLen, dtype } = this.manifest;
    const width = bytesPerToken(dtype);
    const tokenCount = run.sequences * seqLen + 1;
    const bytes = scratch.subarray(0, tokenCount * width);
    let at = 0;
    for (const piece of this.layout.pieces(run.firstSequence * seqLen, tokenCount)) {
      await this.reader.readInto(piece.fileIndex, piece.byteOffset, bytes.subarray(at, at + piece.byteLength), signal);
      at += piece.byteLength;
    }
    return bytes;
  }
}
