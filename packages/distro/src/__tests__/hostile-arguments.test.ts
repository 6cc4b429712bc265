import { DISTRO_INVALID_CONFIG, DISTRO_OPTIMIZER_STATE, DISTRO_RESULT_LAYOUT_MISMATCH, DISTRO_SHAPE_MISMATCH, DISTRO_WIRE_MALFORMED, psycheErrorCodeOf, psycheErrorCodeOfAsync } from '@psyche/core';
import { describe, expect, it } from 'vitest';
import {
  AdamW,
  assertSelectionsFit,
  checkResultLayout,
  computeChunkLayout,
  constantSchedule,
  cosineSchedule,
  DistroOptimizer,
  encodeDistroResult,
  layoutWithChunks,
  OverlapQueue,
  resolveDistroConfig,
  resultLayout,
  typescriptKernels,
  type ChunkLayout,
  type DistroResult,
  type ValueEncoding,
} from '../index.ts';

// {toString: null} (as JSON.parse makes it) and a symbol: printing either with String() or a template
// literal threw a TypeError instead of the function's coded error.
const hostile = [{ toString: null }, Symbol('s')] as unknown[];

describe('DisTrO arguments whose String() throws', () => {
  it('are the coded error, not a TypeError', async () => {
    const layout = computeChunkLayout([4, 4], 4);
    for (const bad of hostile) {
      expect(psycheErrorCodeOf(() => computeChunkLayout([4, 4], bad as number))).toBe(DISTRO_INVALID_CONFIG);
      expect(await psycheErrorCodeOfAsync(() => typescriptKernels.topk(new Float32Array(16), layout, bad as number, new Uint32Array(16), new Float32Array(16)))).toBe(DISTRO_SHAPE_MISMATCH);
      expect(psycheErrorCodeOf(() => encodeDistroResult({ parameters: [] }, bad as ValueEncoding))).toBe(DISTRO_WIRE_MALFORMED);
      expect(psycheErrorCodeOf(() => resultLayout([], bad as ValueEncoding))).toBe(DISTRO_RESULT_LAYOUT_MISMATCH);
    }
  });
});

// A shape JSON.stringify cannot print: nested 6,000 deep it overflows the stack (RangeError); a bigint is a TypeError.
const deepArray = JSON.parse(`${'['.repeat(6000)}${']'.repeat(6000)}`) as unknown;
const hostileShapes = [...hostile, deepArray, [4, deepArray], [1n], [{ toString: null }]] as unknown[];

describe('DisTrO shapes and numbers from a JS caller that JSON.stringify, String() or `>=` cannot take', () => {
  it('computeChunkLayout and layoutWithChunks: DISTRO_SHAPE_MISMATCH for any shape, chunk lengths too', () => {
    for (const bad of hostileShapes) {
      expect(psycheErrorCodeOf(() => computeChunkLayout(bad as number[]))).toBe(DISTRO_SHAPE_MISMATCH);
      expect(psycheErrorCodeOf(() => layoutWithChunks(bad as number[], 1, 1))).toBe(DISTRO_SHAPE_MISMATCH);
    }
    for (const bad of hostile) {
      expect(psycheErrorCodeOf(() => layoutWithChunks([4, 4], bad as number, 4))).toBe(DISTRO_SHAPE_MISMATCH);
      expect(psycheErrorCodeOf(() => layoutWithChunks([4, 4], 4, bad as number))).toBe(DISTRO_SHAPE_MISMATCH);
    }
  });

  it('checkResultLayout and assertSelectionsFit: DISTRO_RESULT_LAYOUT_MISMATCH for a selection with a bad shape, name, k or buffer', () => {
    const layout = computeChunkLayout([4, 4], 4);
    const expected = resultLayout([{ name: 'w', layout, k: 2 }], 'f32');
    const good = { name: 'w', layout, k: 2, indices: new Uint32Array(2), values: new Float32Array(2) };
    for (const bad of hostileShapes) {
      const result = { parameters: [{ ...good, layout: { ...layout, shape: bad } }] } as unknown as DistroResult;
      expect(psycheErrorCodeOf(() => checkResultLayout(result, expected))).toBe(DISTRO_RESULT_LAYOUT_MISMATCH);
    }
    for (const bad of hostile) {
      for (const selection of [{ ...good, name: bad }, { ...good, k: bad }, { ...good, indices: { length: bad } }]) {
        const result = { parameters: [selection] } as unknown as DistroResult;
        expect(psycheErrorCodeOf(() => checkResultLayout(result, expected))).toBe(DISTRO_RESULT_LAYOUT_MISMATCH);
      }
      expect(psycheErrorCodeOf(() => assertSelectionsFit([{ ...good, k: bad as number }], layout))).toBe(DISTRO_RESULT_LAYOUT_MISMATCH);
      expect(psycheErrorCodeOf(() => assertSelectionsFit([{ ...good, indices: { length: bad } as unknown as Uint32Array }], layout))).toBe(DISTRO_RESULT_LAYOUT_MISMATCH);
    }
  });

  it('OverlapQueue: a step that is not an integer is DISTRO_OPTIMIZER_STATE, not a TypeError in step − delay or the duplicate message', () => {
    for (const bad of hostile) {
      const queue = new OverlapQueue<number>(1);
      expect(psycheErrorCodeOf(() => queue.takeDue(bad as number))).toBe(DISTRO_OPTIMIZER_STATE);
      expect(psycheErrorCodeOf(() => {
        queue.push(bad as number, 1);
        queue.push(bad as number, 2);
      })).toBe(DISTRO_OPTIMIZER_STATE);
    }
  });

  it('kernels: a buffer that is null or has a length String() cannot print is DISTRO_SHAPE_MISMATCH', async () => {
    const layout: ChunkLayout = computeChunkLayout([4, 4], 4);
    for (const bad of [...hostile.map((length) => ({ length })), null]) {
      expect(await psycheErrorCodeOfAsync(() => typescriptKernels.encode(bad as unknown as Float32Array, layout, new Float32Array(16)))).toBe(DISTRO_SHAPE_MISMATCH);
      expect(await psycheErrorCodeOfAsync(() => typescriptKernels.decayAccumulate(new Float32Array(4), bad as unknown as Float32Array, 0.9, 0.1))).toBe(DISTRO_SHAPE_MISMATCH);
    }
  });

  it('optimizer settings and gradients: DISTRO_INVALID_CONFIG / DISTRO_SHAPE_MISMATCH where `>=` or String() threw a TypeError', async () => {
    const param = () => ({ name: 'w', shape: [4, 4], data: new Float32Array(16) });
    for (const bad of hostile) {
      for (const field of ['compressionDecay', 'weightDecay', 'clipGradNorm'] as const) {
        expect(psycheErrorCodeOf(() => resolveDistroConfig({ [field]: bad as number }))).toBe(DISTRO_INVALID_CONFIG);
      }
      for (const field of ['beta1', 'beta2', 'eps', 'weightDecay'] as const) {
        expect(psycheErrorCodeOf(() => new AdamW([param()], { [field]: bad as number }))).toBe(DISTRO_INVALID_CONFIG);
      }
      expect(psycheErrorCodeOf(() => constantSchedule(bad as number))).toBe(DISTRO_INVALID_CONFIG);
      expect(psycheErrorCodeOf(() => cosineSchedule({ baseLr: bad as number, warmupSteps: 0, totalSteps: 10 }))).toBe(DISTRO_INVALID_CONFIG);
      expect(psycheErrorCodeOf(() => cosineSchedule({ baseLr: 1, warmupSteps: 0, totalSteps: 10, minLr: bad as number }))).toBe(DISTRO_INVALID_CONFIG);
      const gradients = new Map([['w', { length: bad } as unknown as Float32Array]]);
      expect(psycheErrorCodeOf(() => new AdamW([param()]).step(gradients, 0.1))).toBe(DISTRO_SHAPE_MISMATCH);
      expect(await psycheErrorCodeOfAsync(() => new DistroOptimizer([param()]).generate(gradients, 0.1))).toBe(DISTRO_SHAPE_MISMATCH);
      expect(psycheErrorCodeOf(() => new DistroOptimizer([{ ...param(), data: { length: bad } as unknown as Float32Array }]))).toBe(DISTRO_SHAPE_MISMATCH);
    }
  });
});
