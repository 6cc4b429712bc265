import { assertBytes, assertInteger, sha256, swapOrNotIndex, swapOrNotShuffle, utf8Encode } from '@psyche/core';
import type { RunConfig } from './run-config.ts';

/**
 * The deterministic helpers the program computes on-chain (programs/coordinator/src/shuffle.c),
 * built on @psyche/core's swap-or-not shuffle. Shared test vectors check both give the same answers.
 */

/** Psyche's witness quorum: 1→1, 2→2, 3→2, otherwise ⌊2n/3⌋. */
export function witnessQuorum(witnesses: number): number {
  assertInteger('witnesses', witnesses, 0, 2 ** 31);
  if (witnesses <= 2) return witnesses;
  if (witnesses === 3) return 2;
  return Math.floor((2 * witnesses) / 3);
}

/** sha256(seed ‖ label): an independent stream per purpose ("witness", "data"). */
export function deriveSeed(seed: Uint8Array, label: string): Uint8Array {
  assertBytes('seed', seed, 32);
  return sha256(seed, utf8Encode(label));
}

/** True when the client at `index` of `count` is among the round's `expected` witnesses. */
export function isWitness(index: number, count: number, expected: number, seed: Uint8Array): boolean {
  return swapOrNotIndex(index, count, deriveSeed(seed, 'witness')) < expected;
}

/** Client indices of the round's witnesses, in index order (computes the whole permutation once). */
export function witnessIndices(count: number, expected: number, seed: Uint8Array): number[] {
  const positions = swapOrNotShuffle(count, deriveSeed(seed, 'witness'));
  return positions.flatMap((position, index) => (position < expected ? [index] : []));
}

/** Global batch (sequences) of `step` (1-based): linear ramp from start to end over batchRampSteps. */
export function globalBatchForStep(config: Pick<RunConfig, 'globalBatchStart' | 'globalBatchEnd' | 'batchRampSteps'>, step: bigint): number {
  const start = BigInt(config.globalBatchStart);
  const end = BigInt(config.globalBatchEnd);
  const done = BigInt.asUintN(64, step - 1n);
  const ramp = config.batchRampSteps;
  if (ramp === 0n || done >= ramp) return Number(end);
  // u64 arithmetic, as the program does it.
  const value = end >= start ? start + BigInt.asUintN(64, (end - start) * done) / ramp : start - BigInt.asUintN(64, (start - end) * done) / ramp;
  return Number(BigInt.asUintN(32, value));
}

export interface RoundForAssignment {
  readonly seed: Uint8Array;
  readonly numClients: number;
  readonly globalBatch: number;
  readonly dataIndex: bigint;
}

/** Half-open interval of sequence ids [start, end). */
export interface DataInterval {
  readonly start: bigint;
  readonly end: bigint;
}

/**
 * The contiguous batch interval the client at `index` trains: clients permuted by swap-or-not over
 * sha256(seed ‖ "data"); position p gets ⌊B/n⌋ sequences, one more when p < B mod n.
 */
export function dataAssignment(round: RoundForAssignment, index: number): DataInterval {
  const n = round.numClients;
  const position = BigInt(swapOrNotIndex(index, n, deriveSeed(round.seed, 'data')));
  const batch = BigInt(round.globalBatch);
  const share = batch / BigInt(n);
  const extra = batch % BigInt(n);
  const start = round.dataIndex + position * share + (position < extra ? position : extra);
  return { start, end: start + share + (position < extra ? 1n : 0n) };
}

/** The next seed: sha256(seed ‖ mix ‖ u64le(step)), mix being the XOR of the witnesses' reveals. */
export function nextSeed(seed: Uint8Array, mix: Uint8Array, step: bigint): Uint8Array {
  const stepLe = new Uint8Array(8);
  new DataView(stepLe.buffer).setBigUint64(0, BigInt.asUintN(64, step), true);
  return sha256(seed, mix, stepLe);
}
