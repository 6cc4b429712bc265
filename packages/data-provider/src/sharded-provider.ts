import { DATA_INVALID_CONFIG, DATA_PROVIDER_CLOSED, DATA_TOKEN_OUT_OF_RANGE, PsycheError, describeValue, type RngSeed } from '@psyche/core';
import { outputArray, throwIfAborted, type DataDescription, type DataProvider, type GetSequencesOptions, type TokenBatch } from './data-provider.ts';
import { manifestSequenceCount, type DatasetManifest } from './dataset-manifest.ts';
import { forEachLimited } from './concurrency-internal.ts';
import { integerOption } from './config-checks-internal.ts';
import type { ByteRangeTarget } from './multipart-byteranges.ts';
import { ShardLayout } from './shard-layout.ts';
import { SequenceOrder } from './sequence-order.ts';
import { bytesOfTokens, bytesPerToken, findTokenOutOfRange, tokensFromBytes, type TokenArray } from './token-dtype.ts';

/** Where a sharded provider's bytes come from: a directory, an HTTP server, memory. */
export interface ShardReader {
  /** Fills `target` with bytes [byteOffset, byteOffset + target.length) of file `fileIndex`, or rejects with a coded error. */
  readInto(fileIndex: number, byteOffset: number, target: Uint8Array, signal: AbortSignal | undefined): Promise<void>;
  /**
   * Optional: fills several byte ranges of one file at once (HTTP: one multi-range request; local
   * with sync I/O: one loop without a promise per range). Ranges are ascending and disjoint but
   * for one shared boundary token between neighbours.
   */
  readRangesInto?(fileIndex: number, ranges: readonly ByteRangeTarget[], signal: AbortSignal | undefined): Promise<void>;
  /** Ranges one readRangesInto call takes (default 1: every run is read on its own). */
  readonly maxRangesPerRead?: number;
  /**
   * True when readRangesInto reads ranges that touch end to end in place (local: one readv into
   * the targets), so a run of consecutive sequences is better asked as one range per output row
   * than as one range into scratch. False or absent (HTTP: every range a part of a multipart
   * response) keeps one range per run.
   */
  readonly readsAdjacentRangesInPlace?: boolean;
  /** True when every file was hashed and token-checked at open, so reads need no token check. */
  readonly contentVerified: boolean;
  close(): Promise<void>;
}

export interface ShardedProviderOptions {
  /** Seed of the per-epoch sequence shuffle; omit to serve sequences in file order. */
  shuffleSeed?: RngSeed;
  /**
   * Consecutive sequences are fetched in one read up to this many bytes (plus one boundary token),
   * and runs of scattered sequences are grouped into one multi-range read up to this many bytes
   * (default 8 MiB: on a loaded machine fewer, bigger requests cost less CPU than more in flight).
   */
  maxReadBytes?: number;
  /** Reads in flight at once for one request (default 8). */
  maxConcurrentReads?: number;
}

interface Run {
  firstSequence: number;
  sequences: number;
  /**
   * A lone sequence wanted by exactly one row is read straight into that row of the output (its
   * seqLen + 1 tokens are the row): no scratch space, no copy. Set by getSequencesInto.
   */
  directRow?: number;
  /**
   * Consecutive sequences each wanted by exactly one row, when the reader reads adjacent ranges in
   * place (readsAdjacentRangesInPlace): sequence s goes straight into row directRows[s] (its first
   * seqLen tokens; the last row also its final token), disjoint ranges that one readv fills; each
   * row's final token is then copied from the next row's first. No scratch, one copy less.
   */
  directRows?: number[];
}

/** Runs read together into one scratch buffer, each at an 8-byte aligned offset. */
interface ReadGroup {
  runs: Run[];
  offsets: number[];
  /** Scratch bytes (direct runs take none). */
  bytes: number;
  /** Bytes the group reads, direct runs included (bounded by maxReadBytes). */
  readBytes: number;
}

/**
 * A DataProvider over a manifest and a ShardReader. One request: map ids to sequences, sort and
 * merge consecutive sequences into runs (bounded in bytes), pack runs into groups read together
 * where the reader takes several ranges at once (a multi-range request, a sync read loop), read
 * groups with bounded concurrency, check tokens < vocabSize unless the reader verified them, and
 * copy each id's row out in request order.
 */
export class ShardedProvider implements DataProvider {
  readonly manifest: DatasetManifest;
  private readonly name: string;
  private readonly reader: ShardReader;
  private readonly layout: ShardLayout;
  private readonly order: SequenceOrder;
  private readonly maxRunSequences: number;
  private readonly maxReadBytes: number;
  private readonly maxConcurrentReads: number;
  private readonly scratch: Uint8Array[] = [];
  private closed = false;

  constructor(name: string, manifest: DatasetManifest, reader: ShardReader, options: ShardedProviderOptions = {}) {
    this.name = name;
    this.manifest = manifest;
    this.reader = reader;
    this.layout = new ShardLayout(manifest.dtype, manifest.files.map((file) => file.bytes));
    this.order = new SequenceOrder(manifestSequenceCount(manifest), options.shuffleSeed);
    const strideBytes = manifest.seqLen * bytesPerToken(manifest.dtype);
    const maxReadBytes = options.maxReadBytes ?? 8 * 1024 * 1024;
    if (!Number.isSafeInteger(maxReadBytes) || maxReadBytes < 1) {
      throw new PsycheError(DATA_INVALID_CONFIG, { field: 'maxReadBytes', value: describeValue(maxReadBytes), expected: 'positive integer' }, 'maxReadBytes must be a positive integer');
    }
    // A run of k sequences is k strides plus one boundary token: 1 MiB holds 256 sequences of 2048 u16.
    this.maxRunSequences = Math.max(1, Math.floor(maxReadBytes / strideBytes));
    this.maxReadBytes = maxReadBytes;
    // NaN here started no reader at all: every batch came back as zeros.
    this.maxConcurrentReads = integerOption('maxConcurrentReads', options.maxConcurrentReads ?? 8, 1);
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
    return this.getSequencesInto(batchIds, options.into, options);
  }

  /**
   * getSequences into `into` (see GetSequencesOptions.into; a fresh array when undefined). The TCP
   * server fills its own reused buffers with it.
   */
  async getSequencesInto(batchIds: readonly number[], into: TokenArray | undefined, options: GetSequencesOptions = {}): Promise<TokenBatch> {
    if (this.closed) throw new PsycheError(DATA_PROVIDER_CLOSED, { provider: this.name }, `${this.name}: provider is closed`);
    throwIfAborted(options.signal, 'getSequences');
    const { dtype, seqLen } = this.manifest;
    const rowTokens = seqLen + 1;
    // Every row is written before the batch is returned; a failed read leaves the array unspecified.
    const out = outputArray({ name: this.name, dtype, seqLen }, batchIds.length, into);
    const sequences = this.order.sequencesFor(batchIds);
    const rowsOf = new Map<number, number[]>();
    sequences.forEach((sequence, row) => {
      const rows = rowsOf.get(sequence);
      if (rows === undefined) rowsOf.set(sequence, [row]);
      else rows.push(row);
    });
    const runs = this.planRuns([...rowsOf.keys()]);
    for (const run of runs) {
      if (run.sequences === 1) {
        const rows = rowsOf.get(run.firstSequence)!;
        if (rows.length === 1) run.directRow = rows[0]!;
      } else if (this.reader.readRangesInto !== undefined && this.reader.readsAdjacentRangesInPlace === true) {
        const rows: number[] = [];
        for (let s = 0; s < run.sequences && rows.length === s; s++) {
          const wanting = rowsOf.get(run.firstSequence + s)!;
          if (wanting.length === 1) rows.push(wanting[0]!);
        }
        if (rows.length === run.sequences) run.directRows = rows;
      }
    }
    const outBytes = bytesOfTokens(out);
    await forEachLimited(this.groupRuns(runs), this.maxConcurrentReads, async (group) => {
      const scratch = this.takeScratch(group.bytes);
      try {
        await this.readGroup(group, scratch, outBytes, options.signal);
        // One check over the whole group (padding zeroed: token 0 is always valid); a run-by-run pass only to locate a bad token.
        const locate = !this.reader.contentVerified && this.groupHasBadToken(group, scratch);
        group.runs.forEach((run, index) => {
          if (run.directRows !== undefined) {
            const rows = run.directRows;
            for (let s = 0; s + 1 < rows.length; s++) out[rows[s]! * rowTokens + seqLen] = out[rows[s + 1]! * rowTokens]!;
            if (!this.reader.contentVerified) {
              for (let s = 0; s < rows.length; s++) this.checkTokens(out.subarray(rows[s]! * rowTokens, (rows[s]! + 1) * rowTokens), (run.firstSequence + s) * seqLen);
            }
            return;
          }
          if (run.directRow !== undefined) {
            if (!this.reader.contentVerified) this.checkTokens(out.subarray(run.directRow * rowTokens, (run.directRow + 1) * rowTokens), run.firstSequence * seqLen);
            return;
          }
          const tokens = tokensFromBytes(dtype, scratch.subarray(group.offsets[index]!, group.offsets[index]! + this.runBytes(run)));
          if (locate) this.checkTokens(tokens, run.firstSequence * seqLen);
          for (let s = 0; s < run.sequences; s++) {
            const rowView = tokens.subarray(s * seqLen, s * seqLen + rowTokens);
            for (const row of rowsOf.get(run.firstSequence + s)!) out.set(rowView, row * rowTokens);
          }
        });
      } finally {
        this.scratch.push(scratch);
      }
    });
    return { dtype, seqLen, batchIds: [...batchIds], tokens: out };
  }

  private groupHasBadToken(group: ReadGroup, scratch: Uint8Array): boolean {
    group.runs.forEach((run, index) => {
      if (run.directRow === undefined && run.directRows === undefined) scratch.fill(0, group.offsets[index]! + this.runBytes(run), group.offsets[index + 1] ?? group.bytes);
    });
    return findTokenOutOfRange(tokensFromBytes(this.manifest.dtype, scratch.subarray(0, group.bytes)), this.manifest.vocabSize) >= 0;
  }

  /** Checks a run's tokens (which start at stream position `firstToken`) against vocabSize. */
  private checkTokens(tokens: ReturnType<typeof tokensFromBytes>, firstToken: number): void {
    const { vocabSize } = this.manifest;
    const bad = findTokenOutOfRange(tokens, vocabSize);
    if (bad >= 0) {
      throw new PsycheError(
        DATA_TOKEN_OUT_OF_RANGE,
        { source: this.name, position: firstToken + bad, token: tokens[bad]!, vocabSize },
        `${this.name}: token ${tokens[bad]!} at position ${firstToken + bad} is not below vocabSize ${vocabSize}`,
      );
    }
  }

  /** A reusable read buffer (at most maxConcurrentReads of them live, each about maxReadBytes): no allocation per request. */
  private takeScratch(needed: number): Uint8Array {
    const index = this.scratch.findIndex((buffer) => buffer.length >= needed);
    if (index >= 0) return this.scratch.splice(index, 1)[0]!;
    if (this.scratch.length > 0) this.scratch.pop();
    return new Uint8Array(Math.max(needed, this.maxReadBytes + 64));
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

  private runBytes(run: Run): number {
    return (run.sequences * this.manifest.seqLen + 1) * bytesPerToken(this.manifest.dtype);
  }

  /**
   * Packs runs (ascending) into groups read together when the reader takes several ranges at once:
   * up to maxRangesPerRead runs and maxReadBytes per group (a longer run alone). Otherwise one run per group.
   */
  private groupRuns(runs: Run[]): ReadGroup[] {
    const maxRanges = this.reader.readRangesInto === undefined ? 1 : Math.max(1, this.reader.maxRangesPerRead ?? 1);
    const groups: ReadGroup[] = [];
    let current: ReadGroup | undefined;
    for (const run of runs) {
      const bytes = this.runBytes(run);
      // A direct run takes no scratch space (its bytes go straight to the output row).
      const scratchBytes = run.directRow === undefined && run.directRows === undefined ? bytes + ((8 - (bytes % 8)) % 8) : 0;
      if (current === undefined || current.runs.length >= maxRanges || current.readBytes + bytes > this.maxReadBytes + 8) {
        current = { runs: [], offsets: [], bytes: 0, readBytes: 0 };
        groups.push(current);
      }
      current.runs.push(run);
      current.offsets.push(current.bytes);
      current.bytes += scratchBytes;
      current.readBytes += bytes;
    }
    return groups;
  }

  /** Reads every run of a group into its place in `scratch`: ranges of one file together when the reader can, else one by one; files concurrently. */
  private async readGroup(group: ReadGroup, scratch: Uint8Array, outBytes: Uint8Array, signal: AbortSignal | undefined): Promise<void> {
    const byFile = new Map<number, ByteRangeTarget[]>();
    const rowBytes = (this.manifest.seqLen + 1) * bytesPerToken(this.manifest.dtype);
    const addPieces = (firstToken: number, tokens: number, destination: Uint8Array, at: number): void => {
      for (const piece of this.layout.pieces(firstToken, tokens)) {
        let ranges = byFile.get(piece.fileIndex);
        if (ranges === undefined) byFile.set(piece.fileIndex, (ranges = []));
        ranges.push({ start: piece.byteOffset, target: destination.subarray(at, at + piece.byteLength) });
        at += piece.byteLength;
      }
    };
    group.runs.forEach((run, index) => {
      if (run.directRows !== undefined) {
        // Sequence s's own seqLen tokens into its row (the last one seqLen + 1): ranges end to end in the file.
        const { seqLen } = this.manifest;
        run.directRows.forEach((row, s) => addPieces((run.firstSequence + s) * seqLen, s + 1 < run.sequences ? seqLen : seqLen + 1, outBytes, row * rowBytes));
        return;
      }
      const destination = run.directRow === undefined ? scratch : outBytes;
      addPieces(run.firstSequence * this.manifest.seqLen, run.sequences * this.manifest.seqLen + 1, destination, run.directRow === undefined ? group.offsets[index]! : run.directRow * rowBytes);
    });
    // Files at once (a batch of shuffled ids touches every shard; on a disk each file's reads add to the queue).
    // All settle before a failure is reported, so no read still writes into the scratch buffer once it is reused.
    const files = await Promise.allSettled(
      [...byFile].map(async ([fileIndex, ranges]) => {
        if (ranges.length > 1 && this.reader.readRangesInto !== undefined) await this.reader.readRangesInto(fileIndex, ranges, signal);
        else for (const range of ranges) await this.reader.readInto(fileIndex, range.start, range.target, signal);
      }),
    );
    const failure = files.find((file): file is PromiseRejectedResult => file.status === 'rejected');
    if (failure !== undefined) throw failure.reason;
  }
}
