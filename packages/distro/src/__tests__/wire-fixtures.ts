import { createRng, fillGaussian } from '@psyche/core';
import { computeChunkLayout, fastEncode, fastTopk, type DistroResult, type ParameterSelection } from '../index.ts';

/** The top-k selection of a seeded Gaussian tensor's DCT, as the optimizer would produce it. */
export function selectionOf(name: string, shape: number[], k: number, seed: number, chunk = 64): ParameterSelection {
  const layout = computeChunkLayout(shape, chunk);
  const x = fillGaussian(createRng(seed), new Float32Array(layout.size));
  const c = new Float32Array(layout.size);
  fastEncode(x, layout, c);
  const kk = Math.min(k, layout.chunkElems);
  const indices = new Uint32Array(layout.numChunks * kk);
  const values = new Float32Array(layout.numChunks * kk);
  fastTopk(c, layout, kk, indices, values);
  return { name, layout, k: kk, indices, values };
}

/** Odd shapes: a matrix, a vector of 100 (chunks of 50), a scalar, a rank-3 tensor at chunk 8. */
export const sampleResult: DistroResult = {
  parameters: [
    selectionOf('model.layers.0.mlp.up_proj.weight', [128, 96], 4, 1),
    selectionOf('bias', [100], 3, 2),
    selectionOf('scalar', [], 4, 3),
    selectionOf('conv', [2, 3, 10], 5, 4, 8),
  ],
};
