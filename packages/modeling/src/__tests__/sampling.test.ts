import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { createRng, MODELING_INVALID_CONFIG, MODELING_INVALID_INPUT, psycheErrorCodeOf, psycheErrorCodeOfAsync } from '@psyche/core';
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

  it('a row it cannot sample from is MODELING_INVALID_INPUT (top-p used to return undefined for NaN or all −∞ logits)', () => {
    const rng = createRng(2);
    for (const logits of [[Number.NaN, 1], [1, Number.NaN], [-Infinity, -Infinity], [0, Infinity]]) {
      expect(psycheErrorCodeOf(() => sampleToken(logits, { strategy: 'top-p', topP: 0.9 }, rng))).toBe(MODELING_INVALID_INPUT);
    }
    expect(psycheErrorCodeOf(() => sampleToken([Number.NaN, 1], { strategy: 'greedy' }))).toBe(MODELING_INVALID_INPUT);
    expect(psycheErrorCodeOf(() => sampleToken([1, Number.NaN], { strategy: 'greedy' }))).toBe(MODELING_INVALID_INPUT);
    expect(sampleToken([0, Infinity, 1], { strategy: 'greedy' })).toBe(1); // a +∞ is still an argmax
    expect(sampleToken([-Infinity, 0, -Infinity], { strategy: 'top-p', topP: 1 }, rng)).toBe(1); // masked tokens are fine
  });

  it('fuzz: any finite logits give a token id in range; top-p picks only from the nucleus', () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(fc.double({ min: -50, max: 50, noNaN: true }), fc.constant(-Infinity)), { minLength: 1, maxLength: 12 }), fc.double({ min: 0.01, max: 1, noNaN: true }), fc.nat(), (logits, topP, seed) => {
        fc.pre(logits.some(Number.isFinite));
        const token = sampleToken(logits, { strategy: 'top-p', topP }, createRng(seed));
        expect(Number.isInteger(token) && token >= 0 && token < logits.length).toBe(true);
        // the nucleus: tokens in descending probability until the mass reaches topP; ties at the edge all count
        const max = Math.max(...logits);
        const probs = logits.map((l) => Math.exp(l - max));
        const sum = probs.reduce((a, b) => a + b, 0);
        const above = probs.filter((p) => p > probs[token]!).reduce((a, b) => a + b, 0);
        expect(above).toBeLessThan(topP * sum * (1 + 1e-9));
        expect(sampleToken(logits, { strategy: 'greedy' })).toBe(logits.indexOf(max));
      }),
      { numRuns: 1000 },
    );
  });

  it('generate refuses ids outside the vocabulary, unbounded or fractional counts, and logits of the wrong length', async () => {
    const V = 5;
    const T = 3;
    const forward = async (): Promise<Float32Array> => new Float32Array(T * V);
    const base = { forward, contextLength: T, vocabSize: V, maxNewTokens: 2, sampling: { strategy: 'greedy' } as const };
    // [{toString: null}]: printing the id with String() threw a TypeError instead of the coded error.
    for (const prompt of [[-1], [5], [1.5], [1, Number.NaN], [{ toString: null } as unknown as number]]) expect(await psycheErrorCodeOfAsync(() => generate(prompt, base))).toBe(MODELING_INVALID_INPUT);
    expect(await psycheErrorCodeOfAsync(() => generate([1], { ...base, padId: 7 }))).toBe(MODELING_INVALID_INPUT);
    for (const over of [{ maxNewTokens: Infinity }, { maxNewTokens: -1 }, { maxNewTokens: 1.5 }, { contextLength: 0 }, { vocabSize: Number.NaN }]) {
      expect(await psycheErrorCodeOfAsync(() => generate([1], { ...base, ...over }))).toBe(MODELING_INVALID_CONFIG);
    }
    expect(await psycheErrorCodeOfAsync(() => generate([1], { ...base, forward: async () => new Float32Array(T * V - 1) }))).toBe(MODELING_INVALID_INPUT);
    expect(await generate([4], base)).toEqual([0, 0]);
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
