import { DATA_ABORTED, DATA_INVALID_CONFIG, PsycheError } from '@psyche/core';
import { allocateTokensUninitialized, type TokenArray, type TokenDtype } from './token-dtype.ts';

/** What a provider serves; equal descriptions mean interchangeable providers. */
export interface DataDescription {
  /** Human-readable origin (a directory, a URL, a server address). */
  name: string;
  dtype: TokenDtype;
  vocabSize: number;
  /** Tokens of input per sequence; each row holds seqLen + 1 tokens (the last one is the final target). */
  seqLen: number;
  /** Sequences in one epoch; batch ids past it wrap. */
  sequenceCount: number;
}

/**
 * Rows of seqLen + 1 tokens, one per requested batch id in request order, laid end to end:
 * row r is tokens[r·(seqLen+1) .. (r+1)·(seqLen+1)); inputs are its first seqLen tokens and
 * targets its last seqLen.
 */
export interface TokenBatch {
  dtype: TokenDtype;
  seqLen: number;
  batchIds: readonly number[];
  tokens: TokenArray;
}

export interface GetSequencesOptions {
  signal?: AbortSignal;
  /** Training step the ids belong to; remote providers send it so the server can authorize the request. */
  step?: number;
  /**
   * Fill this array instead of allocating one: the provider's dtype, exactly ids × (seqLen + 1)
   * tokens; the batch's `tokens` is then `into` itself. A loader that reuses a few arrays saves a
   * fresh allocation per call (its page faults cost about as much as the copy). Another length or
   * dtype is DATA_INVALID_CONFIG. On a failed call its contents are unspecified.
   */
  into?: TokenArray;
}

/**
 * One interface for every source of training tokens: local directory, HTTP, TCP data server,
 * in-memory arrays, weighted mixtures. `dataProviderComplianceTests` checks any implementation.
 */
export interface DataProvider {
  describe(): DataDescription;
  /** The sequences of `batchIds` (same order, duplicates allowed); rejects with a coded PsycheError. */
  getSequences(batchIds: readonly number[], options?: GetSequencesOptions): Promise<TokenBatch>;
  /** Releases files, sockets and caches; later calls reject with DATA_PROVIDER_CLOSED. Idempotent. */
  close(): Promise<void>;
}

export function rowLength(batch: Pick<TokenBatch, 'seqLen'>): number {
  return batch.seqLen + 1;
}

/** Row r of a batch as a view (no copy). */
export function batchRow(batch: TokenBatch, row: number): TokenArray {
  const length = batch.seqLen + 1;
  return batch.tokens.subarray(row * length, (row + 1) * length);
}

/** The model's inputs (first seqLen tokens) and targets (last seqLen tokens) of row r, as views. */
export function inputsAndTargets(batch: TokenBatch, row: number): { inputs: TokenArray; targets: TokenArray } {
  const full = batchRow(batch, row);
  return { inputs: full.subarray(0, batch.seqLen), targets: full.subarray(1) };
}

/** The array a call fills: `options.into` once checked against the provider's dtype and the ids, or a fresh one. */
export function outputArray(description: Pick<DataDescription, 'name' | 'dtype' | 'seqLen'>, idCount: number, into: TokenArray | undefined): TokenArray {
  const length = idCount * (description.seqLen + 1);
  if (into === undefined) return allocateTokensUninitialized(description.dtype, length);
  if (into.length !== length || (description.dtype === 'u16') !== into instanceof Uint16Array) {
    const expected = `${description.dtype === 'u16' ? 'Uint16Array' : 'Uint32Array'}(${length})`;
    throw new PsycheError(DATA_INVALID_CONFIG, { field: 'into', value: `${into.constructor.name}(${into.length})`, expected }, `${description.name}: into must be a ${expected}`);
  }
  return into;
}

export function throwIfAborted(signal: AbortSignal | undefined, operation: string): void {
  if (signal?.aborted) {
    throw new PsycheError(DATA_ABORTED, { operation }, `${operation}: aborted`, { cause: signal.reason });
  }
}
