import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DISTRO_INDEX_OUT_OF_RANGE, DISTRO_RESULT_LAYOUT_MISMATCH, isPsycheError, psycheErrorCodeOf } from '@psyche/core';
import { computeChunkLayout, fastScatterMean, fastTopk, referenceScatterMean, referenceTopk, type SparseChunks } from '../index.ts';

describe('top-k', () => {
  it('keeps the largest magnitudes, lower index on ties, written ascending', () => {
    const l = computeChunkLayout([8]);
    const c = Float32Array.of(1, -3, 3, 0.5, -3, 2, 0, 3);
    for (const topk of [referenceTopk, fastTopk]) {
      const idx = new Uint32Array(3);
      const val = new Float32Array(3);
      topk(c, l, 3, idx, val);
      expect([...idx]).toEqual([1, 2, 4]); // |−3| = |3| = |−3| = |3|: indices 1, 2, 4 beat 7
      expect([...val]).toEqual([-3, 3, -3]);
    }
  });
  it('never prefers NaN over a number', () => {
    const l = computeChunkLayout([4]);
    const idx = new Uint32Array(2);
    const val = new Float32Array(2);
    fastTopk(Float32Array.of(Number.NaN, 1, Number.NaN, -2), l, 2, idx, val);
    expect([...idx]).toEqual([1, 3]);
  });
  it('fast path equals the reference on random chunks full of ties', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 40 }),
        fc.integer({ min: 1, max: 6 }),
        fc.array(fc.integer({ min: -4, max: 4 }), { minLength: 240, maxLength: 240 }),
        fc.integer({ min: 1, max: 40 }),
        (cols, rows, raw, kWanted) => {
          const l = computeChunkLayout([rows, cols], 8);
          const c = Float32Array.from({ length: l.size }, (_, i) => raw[i % raw.length]! / 2);
          const k = Math.min(kWanted, l.chunkElems);
          const a = [new Uint32Array(l.numChunks * k), new Float32Array(l.numChunks * k)] as const;
          const b = [new Uint32Array(l.numChunks * k), new Float32Array(l.numChunks * k)] as const;
          referenceTopk(c, l, k, a[0], a[1]);
          fastTopk(c, l, k, b[0], b[1]);
          expect([...b[0]]).toEqual([...a[0]]);
          expect([...b[1]]).toEqual([...a[1]]);
        },
      ),
      { numRuns: 500 },
    );
  });
});

describe('scatter-mean', () => {
  const l = computeChunkLayout([2, 4], 4); // one 2×4 chunk of 8 coefficients
  const sel = (indices: number[], values: number[]): SparseChunks => ({ layout: l, k: indices.length, indices: Uint32Array.from(indices), values: Float32Array.from(values) });
  it('averages coefficients chosen by several peers and leaves the zero out of the mean', () => {
    for (const scatter of [referenceScatterMean, fastScatterMean]) {
      const out = new Float32Array(8);
      scatter([sel([0, 3], [1, 4]), sel([3, 5], [2, -1]), sel([3, 7], [3, 1])], l, out);
      expect([...out]).toEqual([1, 0, 0, 3, 0, -1, 0, 1]);
    }
  });
  it('rejects out-of-range indices before writing anything', () => {
    const out = new Float32Array(8).fill(9);
    try {
      fastScatterMean([sel([0, 3], [1, 1]), sel([1, 8], [1, 1])], l, out);
      expect.unreachable();
    } catch (e) {
      expect(isPsycheError(e, DISTRO_INDEX_OUT_OF_RANGE)).toBe(true);
    }
    expect([...out]).toEqual(new Array(8).fill(9));
  });
  it('fast path equals the reference for any number of peers, k per peer and overlap (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 3 }).chain((rowChunks) =>
          fc.tuple(
            fc.constant(rowChunks),
            fc.array(
              fc.integer({ min: 1, max: 8 }).chain((k) =>
                fc.tuple(
                  fc.constant(k),
                  fc.array(fc.shuffledSubarray([0, 1, 2, 3, 4, 5, 6, 7], { minLength: k, maxLength: k }), { minLength: rowChunks, maxLength: rowChunks }),
                  fc.array(fc.oneof(fc.constantFrom(-1, 1), fc.float({ min: -8, max: 8, noNaN: true })), { minLength: rowChunks * k, maxLength: rowChunks * k }),
                ),
              ),
              { minLength: 0, maxLength: 6 },
            ),
          ),
        ),
        ([rowChunks, peers]) => {
          const layout = computeChunkLayout([8 * rowChunks], 8); // rowChunks chunks of 8 coefficients
          expect([layout.numChunks, layout.chunkElems]).toEqual([rowChunks, 8]);
          const selections: SparseChunks[] = peers.map(([k, chunks, values]) => ({
            layout,
            k,
            indices: Uint32Array.from(chunks.flatMap((chosen) => [...chosen].sort((a, b) => a - b))),
            values: Float32Array.from(values),
          }));
          const reference = new Float32Array(layout.size);
          const fast = new Float32Array(layout.size).fill(Number.NaN);
          referenceScatterMean(selections, layout, reference);
          fastScatterMean(selections, layout, fast);
          for (let i = 0; i < layout.size; i++) expect(Math.abs(fast[i]! - reference[i]!)).toBeLessThanOrEqual(1e-6 * Math.max(1, Math.abs(reference[i]!)));
        },
      ),
      { numRuns: 500 },
    );
  });
  it('a fractional k whose numChunks·k happens to match the array lengths is a layout mismatch, not silently skipped coefficients', () => {
    const l2 = computeChunkLayout([4, 4], 2); // 4 chunks of 4: k = 1.5 "expects" 6 indices
    const fractional: SparseChunks = { layout: l2, k: 1.5, indices: Uint32Array.of(0, 1, 0, 1, 0, 1), values: new Float32Array(6).fill(1) };
    for (const scatter of [referenceScatterMean, fastScatterMean]) {
      const out = new Float32Array(16).fill(9);
      expect(psycheErrorCodeOf(() => scatter([fractional], l2, out))).toBe(DISTRO_RESULT_LAYOUT_MISMATCH);
      expect([...out]).toEqual(new Array(16).fill(9));
    }
  });
});
