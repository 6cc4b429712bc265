import { DISTRO_SHAPE_MISMATCH, PsycheError, describeValue } from '@psyche/core';
import type { ChunkLayout } from './chunk-layout.ts';
import { fastDecode, fastEncode } from './dct-fast.ts';
import { referenceDecode, referenceEncode } from './dct-reference.ts';
import { decayAccumulate, signDescent } from './elementwise.ts';
import { assertKernelScalars } from './kernel-scalars.ts';
import type { DistroKernels } from './kernels.ts';
import { fastScatterMean, referenceScatterMean } from './scatter-mean.ts';
import { fastTopk, referenceTopk } from './topk.ts';

function expectLength(what: string, array: ArrayLike<number>, length: number): void {
  // describeValue and ?.: a JS caller's buffer can be null or carry a length whose String() throws.
  const got = (array as ArrayLike<number> | null | undefined)?.length;
  if (got !== length) {
    throw new PsycheError(DISTRO_SHAPE_MISMATCH, { name: what, expected: String(length), received: describeValue(got) }, `${what}: expected length ${length}, got ${describeValue(got)}`);
  }
}

function checkTopkArgs(coefficients: Float32Array, layout: ChunkLayout, k: number, indices: Uint32Array, values: Float32Array): void {
  expectLength('coefficients', coefficients, layout.size);
  if (!Number.isInteger(k) || k < 1 || k > layout.chunkElems) {
    throw new PsycheError(DISTRO_SHAPE_MISMATCH, { name: 'k', expected: `1..${layout.chunkElems}`, received: describeValue(k) }, `k must be in [1, ${layout.chunkElems}], got ${describeValue(k)}`);
  }
  expectLength('indices', indices, layout.numChunks * k);
  expectLength('values', values, layout.numChunks * k);
}

interface SyncKernels {
  encode(input: Float32Array, layout: ChunkLayout, output: Float32Array): void;
  decode(coefficients: Float32Array, layout: ChunkLayout, output: Float32Array): void;
  topk: typeof fastTopk;
  scatterMean: typeof fastScatterMean;
}

function wrap(name: string, impl: SyncKernels): DistroKernels {
  return {
    name,
    encode: async (input, layout, output) => {
      expectLength('input', input, layout.size);
      expectLength('output', output, layout.size);
      impl.encode(input, layout, output);
    },
    decode: async (coefficients, layout, output) => {
      expectLength('coefficients', coefficients, layout.size);
      expectLength('output', output, layout.size);
      impl.decode(coefficients, layout, output);
    },
    topk: async (coefficients, layout, k, indices, values) => {
      checkTopkArgs(coefficients, layout, k, indices, values);
      impl.topk(coefficients, layout, k, indices, values);
    },
    scatterMean: async (selections, layout, output) => {
      expectLength('output', output, layout.size);
      impl.scatterMean(selections, layout, output);
    },
    decayAccumulate: async (delta, grad, decay, lr) => {
      expectLength('grad', grad, delta.length);
      assertKernelScalars(decay, lr);
      decayAccumulate(delta, grad, decay, lr);
    },
    signDescent: async (weights, direction, lr) => {
      expectLength('direction', direction, weights.length);
      assertKernelScalars(undefined, lr);
      signDescent(weights, direction, lr);
    },
  };
}

/** Readable kernels: matrix-form DCT, sort-based top-k, dense scatter-mean. The ground truth. */
export const referenceKernels: DistroKernels = wrap('typescript-reference', {
  encode: referenceEncode,
  decode: referenceDecode,
  topk: referenceTopk,
  scatterMean: referenceScatterMean,
});

/** Fast pure-TypeScript kernels (generated Lee codelets, heap top-k); the default. */
export const typescriptKernels: DistroKernels = wrap('typescript-fast', {
  encode: fastEncode,
  decode: fastDecode,
  topk: fastTopk,
  scatterMean: fastScatterMean,
});
