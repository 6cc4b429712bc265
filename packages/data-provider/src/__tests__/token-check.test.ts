import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { findTokenOutOfRange, findTokenOutOfRangeReference, maxTokenSimd, simdTokenScanAvailable, simdTokenScanModuleBytes, webAssemblyApi } from '../index.ts';

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

  it('agrees with the plain loop on random arrays, offsets and lengths (u16 and u32)', () => {
    fc.assert(
      fc.property(
        fc.boolean(),
        fc.integer({ min: 0, max: 5000 }),
        fc.integer({ min: 0, max: 7 }),
        fc.integer({ min: 1, max: 2 ** 32 - 1 }),
        fc.array(fc.integer({ min: 0, max: 4999 }), { maxLength: 3 }),
        fc.integer({ min: 0, max: 2 ** 32 - 1 }),
        (wide, length, offset, vocab, badPositions, badValue) => {
          const vocabSize = wide ? vocab : (vocab % 65_536) + 1;
          const buffer = new ArrayBuffer((length + offset) * (wide ? 4 : 2));
          const tokens = wide ? new Uint32Array(buffer, offset * 4, length) : new Uint16Array(buffer, offset * 2, length);
          for (let i = 0; i < length; i++) tokens[i] = (i * 2_654_435_761) % vocabSize;
          for (const at of badPositions) if (at < length) tokens[at] = badValue;
          expect(findTokenOutOfRange(tokens, vocabSize)).toBe(findTokenOutOfRangeReference(tokens, vocabSize));
        },
      ),
      { numRuns: 300 },
    );
  });

  it('finds a bad token in every lane and block position, past the first 1 MiB block', () => {
    const tokens = new Uint16Array((1 << 19) + 37).fill(7);
    for (const at of [0, 1, 7, 8, 15, 16, (1 << 19) - 1, 1 << 19, (1 << 19) + 36]) {
      tokens[at] = 50_257;
      expect(findTokenOutOfRange(tokens, 50_257)).toBe(at);
      expect(maxTokenSimd(tokens) ?? 50_257).toBe(50_257);
      tokens[at] = 7;
    }
    const wide = new Uint32Array((1 << 18) + 5).fill(3);
    for (const at of [0, 3, 4, (1 << 18) - 1, (1 << 18) + 4]) {
      wide[at] = 0xffff_fffe;
      expect(findTokenOutOfRange(wide, 0xffff_fffe)).toBe(at);
      wide[at] = 3;
    }
  });

  it('uses WebAssembly SIMD on this node (the hand-assembled module validates)', () => {
    expect(webAssemblyApi()?.validate(simdTokenScanModuleBytes())).toBe(true);
    expect(simdTokenScanAvailable()).toBe(true);
    expect(maxTokenSimd(Uint16Array.from({ length: 1000 }, (_, i) => (i * 37) % 1001))).toBe(1000);
    expect(maxTokenSimd(new Uint32Array(0))).toBe(0);
  });
});
