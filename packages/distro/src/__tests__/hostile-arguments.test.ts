import { DISTRO_INVALID_CONFIG, DISTRO_RESULT_LAYOUT_MISMATCH, DISTRO_SHAPE_MISMATCH, DISTRO_WIRE_MALFORMED, psycheErrorCodeOf, psycheErrorCodeOfAsync } from '@psyche/core';
import { describe, expect, it } from 'vitest';
import { computeChunkLayout, encodeDistroResult, resultLayout, typescriptKernels, type ValueEncoding } from '../index.ts';

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
