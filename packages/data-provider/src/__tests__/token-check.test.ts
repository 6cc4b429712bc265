import { describe, expect, it } from 'vitest';
import { findTokenOutOfRange } from '../index.ts';

describe('findTokenOutOfRange', () => {
  it('finds a single bad token in a long clean array, including in the last block', () => {
    const tokens = new Uint16Array(10_000).fill(999);
    expect(findTokenOutOfRange(tokens, 1000)).toBe(-1);
    for (const at of [0, 4095, 4096, 9999]) {
      tokens[at] = 1000;
      expect(findTokenOutOfRange(tokens, 1000)).toBe(at);
      tokens[at] = 5;
    }
    expect(findTokenOutOfRange(Uint32Array.of(0, 2 ** 32 - 1), 2 ** 31 + 5)).toBe(1);
    expect(findTokenOutOfRange(Uint32Array.of(2 ** 31 - 1, 2 ** 31), 2 ** 31)).toBe(1);
    expect(findTokenOutOfRange(new Uint16Array(10).fill(65_535), 65_536)).toBe(-1);
  });
});
