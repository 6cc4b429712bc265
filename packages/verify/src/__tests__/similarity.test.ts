import fc from 'fast-check';
import { createRng, isPsycheError, VERIFY_LAYOUT_MISMATCH, VERIFY_MALFORMED_RESULT } from '@psyche/core';
import { describe, expect, it } from 'vitest';
import { compareDense, compareSparse, compareSparseResults, judgeRecomputation, sparseToDense, type SparseSelection } from '../index.ts';

function randomSelection(seed: string, numChunks: number, chunkElems: number, k: number): SparseSelection {
  const rng = createRng(seed);
  const indices = new Uint32Array(numChunks * k);
  const values = new Float32Array(numChunks * k);
  for (let c = 0; c < numChunks; c++) {
    const chosen = new Set<number>();
    while (chosen.size < k) chosen.add(rng.nextInt(chunkElems));
    [...chosen].sort((a, b) => a - b).forEach((index, j) => {
      indices[c * k + j] = index;
      values[c * k + j] = (rng.nextGaussian() || 0.5) * 3;
    });
  }
  return { layout: { numChunks, chunkElems }, k, indices, values };
}

function close(a: number, b: number, tolerance = 1e-9): void {
  expect(Math.abs(a - b)).toBeLessThanOrEqual(tolerance * Math.max(1, Math.abs(a), Math.abs(b)));
}

describe('similarity metrics', () => {
  it('identical results: Jaccard 1, Hamming 0, Manhattan 0, cosine 1; sign-flipped: Hamming 1, cosine −1', () => {
    const a = randomSelection('a', 10, 64, 4);
    expect(compareSparse(a, a)).toMatchObject({ jaccard: 1, signHamming: 0, manhattan: 0, relativeManhattan: 0, shared: 40, union: 40 });
    close(compareSparse(a, a).cosine, 1);
    const flipped = { ...a, values: a.values.map((v) => -v) };
    const s = compareSparse(a, flipped);
    expect(s.signHamming).toBe(1);
    close(s.cosine, -1);
    close(s.relativeManhattan, 1);
    const zero = { ...a, values: new Float32Array(a.values.length) };
    expect(compareSparse(a, zero)).toMatchObject({ jaccard: 1, signHamming: 1, cosine: 0, relativeManhattan: 1 });
  });

  it('sparse metrics equal the dense reference on scattered coefficients (property)', () => {
    fc.assert(
      fc.property(fc.string(), fc.integer({ min: 1, max: 8 }), fc.integer({ min: 1, max: 6 }), fc.integer({ min: 1, max: 6 }), (seed, chunks, ka, kb) => {
        const a = randomSelection(seed + 'a', chunks, 16, ka);
        const b = randomSelection(seed + 'b', chunks, 16, kb);
        const sparse = compareSparse(a, b);
        const dense = compareDense(sparseToDense(a), sparseToDense(b));
        close(sparse.jaccard, dense.jaccard);
        close(sparse.signHamming, dense.signHamming);
        close(sparse.manhattan, dense.manhattan, 1e-6);
        close(sparse.relativeManhattan, dense.relativeManhattan, 1e-6);
        close(sparse.cosine, dense.cosine, 1e-6);
      }),
      { numRuns: 300 },
    );
  });

  it('aggregates over the tensors of a result before taking ratios', () => {
    const a = [randomSelection('x', 3, 64, 4), randomSelection('y', 5, 32, 2)];
    const b = [randomSelection('x', 3, 64, 4), randomSelection('z', 5, 32, 2)];
    const whole = compareSparseResults(a, b);
    const first = compareSparse(a[0]!, b[0]!);
    const second = compareSparse(a[1]!, b[1]!);
    close(whole.jaccard, (first.shared + second.shared) / (first.union + second.union));
    close(whole.manhattan, first.manhattan + second.manhattan, 1e-9);
  });

  it('dense metrics: Manhattan is L1, cosine of x and 2x is 1', () => {
    const x = Float32Array.of(1, -2, 0, 3);
    const y = Float32Array.of(2, -4, 0, 6);
    const s = compareDense(x, y);
    expect(s.manhattan).toBe(6);
    close(s.cosine, 1);
    expect(s.signHamming).toBe(0);
    expect(compareDense(Float32Array.of(1, 0), Float32Array.of(0, 1)).jaccard).toBe(0);
  });

  it('layout mismatches and malformed selections are coded errors', () => {
    const a = randomSelection('a', 4, 64, 4);
    expect(() => compareSparse(a, randomSelection('b', 5, 64, 4))).toThrowError(expect.objectContaining({ code: VERIFY_LAYOUT_MISMATCH }));
    expect(() => compareSparseResults([a], [a, a])).toThrowError(expect.objectContaining({ code: VERIFY_LAYOUT_MISMATCH }));
    expect(() => compareDense(new Float32Array(3), new Float32Array(4))).toThrowError(expect.objectContaining({ code: VERIFY_LAYOUT_MISMATCH }));
    const outOfChunk = { ...a, indices: Uint32Array.from(a.indices, (v, i) => (i === 3 ? 64 : v)) };
    const unsorted = { ...a, indices: Uint32Array.from(a.indices, (v, i) => (i === 1 ? a.indices[0]! : v)) };
    const short = { ...a, values: a.values.subarray(1) };
    const nonFinite = { ...a, values: Float32Array.from(a.values, (v, i) => (i === 2 ? Number.NaN : v)) };
    for (const bad of [outOfChunk, unsorted, short, nonFinite]) {
      expect(() => compareSparse(a, bad)).toThrowError(expect.objectContaining({ code: VERIFY_MALFORMED_RESULT }));
    }
  });

  it('hostile selections never crash the comparison (fuzz)', () => {
    const a = randomSelection('a', 2, 8, 3);
    // also selections of the right lengths with small indices, sorted or not: independent random arrays almost never
    // have length 2k and ascending indices below 8, so nearly nothing used to get past validation to be compared
    const hostile = fc.oneof(
      fc.tuple(fc.uint32Array({ maxLength: 8 }), fc.float32Array({ maxLength: 8 }), fc.integer({ min: -1, max: 9 })),
      fc.integer({ min: 0, max: 5 }).chain((k) =>
        fc.tuple(
          fc.tuple(fc.array(fc.integer({ min: 0, max: 9 }), { minLength: 2 * k, maxLength: 2 * k }), fc.boolean()).map(([xs, sorted]) =>
            Uint32Array.from(sorted ? [...xs.slice(0, k).sort((x, y) => x - y), ...xs.slice(k).sort((x, y) => x - y)] : xs),
          ),
          fc.float32Array({ minLength: 2 * k, maxLength: 2 * k }),
          fc.constant(k),
        ),
      ),
    );
    let compared = 0;
    fc.assert(
      fc.property(hostile, ([indices, values, k]) => {
        try {
          const b = { layout: a.layout, k, indices, values };
          const s = compareSparse(a, b);
          expect(s.jaccard).toBeGreaterThanOrEqual(0);
          compared++;
          // an accepted selection is compared exactly as its dense scatter is; zero values leave the dense
          // support, so Jaccard and Hamming are compared only without them
          const dense = compareDense(sparseToDense(a), sparseToDense(b));
          if ([dense.manhattan, dense.relativeManhattan, dense.cosine].every(Number.isFinite)) {
            close(s.manhattan, dense.manhattan, 1e-6);
            close(s.relativeManhattan, dense.relativeManhattan, 1e-6);
            close(s.cosine, dense.cosine, 1e-6);
          }
          if (values.every((v) => v !== 0)) {
            expect([s.jaccard, s.signHamming, s.shared, s.union]).toEqual([dense.jaccard, dense.signHamming, dense.shared, dense.union]);
          }
        } catch (e) {
          if (!isPsycheError(e, VERIFY_MALFORMED_RESULT)) throw e;
        }
      }),
      { numRuns: 2000 },
    );
    expect(compared).toBeGreaterThan(100);
  });

  it('judges a recomputation: the same work passes, a sign-flipped claim fails', () => {
    const honest = [randomSelection('h', 16, 64, 4)];
    expect(judgeRecomputation(honest, honest).accepted).toBe(true);
    const flipped = honest.map((s) => ({ ...s, values: s.values.map((v) => -v) }));
    const verdict = judgeRecomputation(flipped, honest);
    expect(verdict.accepted).toBe(false);
    expect(verdict.failed).toContain('maxSignHamming');
  });
});
