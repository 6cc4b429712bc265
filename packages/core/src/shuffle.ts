import { assertBytes, assertInteger } from './checks.ts';
import { sha256 } from './sha256.ts';
import type { Rng } from './rng.ts';

/** In-place Fisher–Yates shuffle (Durstenfeld's variant, Knuth TAOCP vol. 2 §3.4.2, algorithm P). */
export function fisherYatesShuffle<T>(items: T[], rng: Rng): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = rng.nextInt(i + 1);
    const tmp = items[i]!;
    items[i] = items[j]!;
    items[j] = tmp;
  }
  return items;
}

/**
 * Largest count {@link shuffledIndices} accepts: 2^26 indices are 512 MiB as a `number[]`. Much larger
 * counts cannot be materialised (2^32 is past the longest array, and counts well below it exhaust the
 * heap and end the process), so they are refused before allocating. Same limit as a shuffled epoch
 * in @psyche/data-provider (`MAX_SHUFFLED_SEQUENCES`); for more, compute single positions with
 * {@link swapOrNotIndex} instead of a whole permutation.
 */
export const MAX_SHUFFLED_INDICES = 2 ** 26;

/** A seeded permutation of 0..count−1; CORE_INVALID_ARGUMENT unless count is an integer in [0, MAX_SHUFFLED_INDICES]. */
export function shuffledIndices(count: number, rng: Rng): number[] {
  assertInteger('count', count, 0, MAX_SHUFFLED_INDICES);
  return fisherYatesShuffle(
    Array.from({ length: count }, (_, i) => i),
    rng,
  );
}

/** Rounds used by Ethereum's consensus spec and by Psyche for committee selection. */
export const SWAP_OR_NOT_ROUNDS = 90;

/**
 * Swap-or-not shuffle (Hoang, Morris, Rogaway, CRYPTO 2012), exactly as Ethereum's consensus spec
 * `compute_shuffled_index`: for each round r, pivot = u64le(sha256(seed ‖ u8 r)[0..8]) mod count,
 * flip = (pivot + count − index) mod count, position = max(index, flip),
 * source = sha256(seed ‖ u8 r ‖ u32le(position / 256)), and index becomes flip when bit
 * (position mod 8) of byte ((position mod 256) / 8) of source is set. Any single index is computed
 * without materialising the permutation, which is what an on-chain program needs.
 */
export function swapOrNotIndex(index: number, count: number, seed: Uint8Array, rounds = SWAP_OR_NOT_ROUNDS): number {
  assertInteger('count', count, 1, 2 ** 32 - 1);
  assertInteger('index', index, 0, count - 1);
  assertBytes('seed', seed, 32);
  assertInteger('rounds', rounds, 0, 255);
  let current = index;
  for (let round = 0; round < rounds; round++) {
    current = swapOrNotRound(current, count, seed, round, pivotFor(seed, round, count));
  }
  return current;
}

function pivotFor(seed: Uint8Array, round: number, count: number): number {
  const digest = sha256(seed, Uint8Array.of(round));
  const value = new DataView(digest.buffer, digest.byteOffset, 8).getBigUint64(0, true);
  return Number(value % BigInt(count));
}

function swapOrNotRound(index: number, count: number, seed: Uint8Array, round: number, pivot: number): number {
  const flip = (pivot + count - index) % count;
  const position = Math.max(index, flip);
  const block = new Uint8Array(4);
  new DataView(block.buffer).setUint32(0, Math.floor(position / 256), true);
  const source = sha256(seed, Uint8Array.of(round), block);
  const byte = source[Math.floor((position % 256) / 8)]!;
  return (byte >> position % 8) & 1 ? flip : index;
}

/** The whole swap-or-not permutation: result[i] = swapOrNotIndex(i, count, seed). */
export function swapOrNotShuffle(count: number, seed: Uint8Array, rounds = SWAP_OR_NOT_ROUNDS): number[] {
  assertInteger('count', count, 0, 2 ** 24);
  assertBytes('seed', seed, 32);
  // Same bounds as swapOrNotIndex: the round is one byte of the hash input, and NaN or a negative
  // count of rounds would otherwise give the identity permutation without a word.
  assertInteger('rounds', rounds, 0, 255);
  if (count === 0) return [];
  const pivots = Array.from({ length: rounds }, (_, round) => pivotFor(seed, round, count));
  const out = new Array<number>(count);
  for (let i = 0; i < count; i++) {
    let current = i;
    for (let round = 0; round < rounds; round++) current = swapOrNotRound(current, count, seed, round, pivots[round]!);
    out[i] = current;
  }
  return out;
}
