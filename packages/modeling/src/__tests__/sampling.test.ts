import { describe, expect, it } from 'vitest';
import { createRng } from '@psyche/core';
import { generate, sampleToken } from '../sampling.ts';

describe('sampling', () => {
  it('greedy picks the argmax, lower id on ties', () => {
    expect(sampleToken([0.1, 3, 2, 3], { strategy: 'greedy' })).toBe(1);
  });

  it('top-p keeps only the nucleus and follows the probabilities', () => {
    const rng = createRng(1);
    // probabilities ∝ [e^2, e^1, e^0, e^-5]: top-p 0.5 keeps token 0 only (p0 ≈ 0.66)
    const logits = [2, 1, 0, -5];
    for (let i = 0; i < 50; i++) expect(sampleToken(logits, { strategy: 'top-p', topP: 0.5 }, rng)).toBe(0);
    const counts = [0, 0, 0, 0];
    for (let i = 0; i < 4000; i++) counts[sampleToken(logits, { strategy: 'top-p', topP: 1 }, rng)]!++;
    const z = Math.exp(2) + Math.exp(1) + 1 + Math.exp(-5);
    expect(counts[0]! / 4000).toBeCloseTo(Math.exp(2) / z, 1);
    expect(counts[1]! / 4000).toBeCloseTo(Math.exp(1) / z, 1);
  });

  it('generate slides a right-padded window and reads the last real position', async () => {
    const V = 5;
    const T = 3;
    const seen: bigint[][] = [];
    // A fake "model" whose favourite next token is (last real token + 1) mod V.
    const forward = async (ids: BigInt64Array): Promise<Float32Array> => {
      seen.push(Array.from(ids));
      const out = new Float32Array(T * V);
      for (let t = 0; t < T; t++) out[t * V + ((Number(ids[t]) + 1) % V)] = 1;
      return out;
    };
    const outTokens = await generate([1], { forward, contextLength: T, vocabSize: V, maxNewTokens: 4, sampling: { strategy: 'greedy' } });
    expect(outTokens).toEqual([2, 3, 4, 0]);
    expect(seen[0]).toEqual([1n, 0n, 0n]);
    expect(seen[3]).toEqual([2n, 3n, 4n]);
  });
});
