import { createRng, fillGaussian } from '@psyche/core';
import { describe, expect, it } from 'vitest';
import { computeChunkLayout, fastDecode, fastEncode, largestDivisorAtMost, referenceDecode, referenceEncode, type ChunkLayout } from '../index.ts';

/** Float64 DCT straight from the definition (cosines evaluated per term, no cached basis). */
function definitionEncode(x: Float32Array, l: ChunkLayout): Float64Array {
  const out = new Float64Array(l.size);
  const { chunkRows: R, chunkCols: C } = l;
  const s = (k: number, n: number) => (k === 0 ? Math.sqrt(1 / n) : Math.sqrt(2 / n));
  for (let ty = 0; ty < l.rowChunks; ty++)
    for (let tx = 0; tx < l.colChunks; tx++)
      for (let u = 0; u < R; u++)
        for (let v = 0; v < C; v++) {
          let sum = 0;
          for (let i = 0; i < R; i++)
            for (let j = 0; j < C; j++)
              sum += x[(ty * R + i) * l.cols + tx * C + j]! * Math.cos((Math.PI * (2 * i + 1) * u) / (2 * R)) * Math.cos((Math.PI * (2 * j + 1) * v) / (2 * C));
          out[(ty * l.colChunks + tx) * l.chunkElems + u * C + v] = s(u, R) * s(v, C) * sum;
        }
  return out;
}

function maxRel(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let d = 0;
  let m = 1e-30;
  for (let i = 0; i < a.length; i++) {
    d = Math.max(d, Math.abs(a[i]! - b[i]!));
    m = Math.max(m, Math.abs(b[i]!));
  }
  return d / m;
}

describe('chunk layout', () => {
  it('uses the largest divisor ≤ chunk per dimension', () => {
    expect(largestDivisorAtMost(4096, 64)).toBe(64);
    expect(largestDivisorAtMost(100, 64)).toBe(50);
    expect(largestDivisorAtMost(37, 64)).toBe(37);
    expect(largestDivisorAtMost(67, 64)).toBe(1);
    const l = computeChunkLayout([4096, 4096]);
    expect([l.chunkRows, l.chunkCols, l.numChunks, l.chunkElems]).toEqual([64, 64, 4096, 4096]);
    const v = computeChunkLayout([1000]);
    expect([v.rows, v.cols, v.chunkRows, v.chunkCols, v.numChunks]).toEqual([1, 1000, 1, 50, 20]);
  });
  it('flattens leading dimensions of rank > 2 into rows', () => {
    const l = computeChunkLayout([3, 5, 64]);
    expect([l.rows, l.cols, l.chunkRows, l.chunkCols]).toEqual([15, 64, 15, 64]);
    expect(computeChunkLayout([]).size).toBe(1);
  });
});

describe('chunked DCT', () => {
  const rng = createRng('dct');
  const shapes = [[100, 37], [1000], [64, 64], [128, 192], [3, 5, 64], [7], [1], [96, 10], [2, 4096]];
  for (const shape of shapes) {
    it(`reference and fast agree with the float64 definition on ${JSON.stringify(shape)}`, () => {
      const l = computeChunkLayout(shape);
      const x = fillGaussian(rng, new Float32Array(l.size));
      const truth = definitionEncode(x, l);
      const ref = new Float32Array(l.size);
      const fast = new Float32Array(l.size);
      referenceEncode(x, l, ref);
      fastEncode(x, l, fast);
      const errRef = maxRel(ref, truth);
      const errFast = maxRel(fast, truth);
      console.log(`${JSON.stringify(shape)} chunk ${l.chunkRows}×${l.chunkCols}: max rel diff vs float64 reference ${errRef.toExponential(2)}, fast ${errFast.toExponential(2)}`);
      expect(errRef).toBeLessThan(1e-6);
      expect(errFast).toBeLessThan(1e-6);
    });
  }
  it('decode ∘ encode is the identity to float32 rounding (relative error ≤ 1e-5) for random shapes', () => {
    for (let trial = 0; trial < 25; trial++) {
      const rank = 1 + rng.nextInt(3);
      const shape = Array.from({ length: rank }, () => 1 + rng.nextInt(rank === 1 ? 3000 : 150));
      const l = computeChunkLayout(shape, 1 + rng.nextInt(64));
      const x = fillGaussian(rng, new Float32Array(l.size));
      for (const [enc, dec] of [[fastEncode, fastDecode], [referenceEncode, referenceDecode]] as const) {
        const c = new Float32Array(l.size);
        const y = new Float32Array(l.size);
        enc(x, l, c);
        dec(c, l, y);
        expect(maxRel(y, x)).toBeLessThanOrEqual(1e-5);
      }
    }
  });
  it('the fast decode skips all-zero coefficient rows without changing the result', () => {
    const l = computeChunkLayout([128, 128]);
    const c = new Float32Array(l.size);
    for (let i = 0; i < l.size; i += 97) c[i] = rng.nextGaussian();
    const a = new Float32Array(l.size);
    const b = new Float32Array(l.size);
    referenceDecode(c, l, a);
    fastDecode(c, l, b);
    expect(maxRel(b, a)).toBeLessThan(1e-6);
  });
});
