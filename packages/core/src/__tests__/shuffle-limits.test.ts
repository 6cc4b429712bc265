import { describe, expect, it } from 'vitest';
import { CORE_INVALID_ARGUMENT, MAX_SHUFFLED_INDICES, createRng, psycheErrorCodeOf, sha256, shuffledIndices, swapOrNotShuffle, utf8Encode } from '../index.ts';

describe('shuffle argument limits', () => {
  it('shuffledIndices refuses counts it cannot materialise with CORE_INVALID_ARGUMENT, before allocating', () => {
    // 2^32 used to pass the check and fail with a plain RangeError from the array allocation;
    // counts between the limit and 2^32 would allocate until the heap ran out.
    for (const count of [2 ** 32, 2 ** 31, MAX_SHUFFLED_INDICES + 1, Number.MAX_SAFE_INTEGER, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(psycheErrorCodeOf(() => shuffledIndices(count, createRng(1))), String(count)).toBe(CORE_INVALID_ARGUMENT);
    }
  });
  it('shuffledIndices still gives a permutation at small counts, and none for zero', () => {
    expect(shuffledIndices(0, createRng(1))).toEqual([]);
    const perm = shuffledIndices(1000, createRng('limits'));
    expect([...perm].sort((a, b) => a - b)).toEqual(Array.from({ length: 1000 }, (_, i) => i));
  });
  it('swapOrNotShuffle checks rounds like swapOrNotIndex (NaN or negative rounds used to return the identity)', () => {
    const seed = sha256(utf8Encode('rounds'));
    for (const rounds of [Number.NaN, -1, 1.5, 256, 1e9, Number.POSITIVE_INFINITY]) {
      expect(psycheErrorCodeOf(() => swapOrNotShuffle(9, seed, rounds)), String(rounds)).toBe(CORE_INVALID_ARGUMENT);
    }
    expect(swapOrNotShuffle(9, seed, 255)).toHaveLength(9);
  });
});
