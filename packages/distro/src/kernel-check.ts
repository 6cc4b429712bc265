import { createRng, fillGaussian } from '@psyche/core';
import { computeChunkLayout } from './chunk-layout.ts';
import type { DistroKernels } from './kernels.ts';
import type { SparseChunks } from './sparse-chunks.ts';
import { referenceKernels } from './typescript-kernels.ts';

export interface KernelCheck {
  readonly op: 'encode' | 'decode' | 'topk' | 'scatterMean' | 'decayAccumulate' | 'signDescent';
  readonly shape: readonly number[];
  /** max |candidate − reference| / max(1, max |reference|) */
  readonly maxDiff: number;
  readonly tolerance: number;
  readonly ok: boolean;
}

export interface KernelCheckReport {
  readonly kernels: string;
  readonly checks: readonly KernelCheck[];
  readonly ok: boolean;
}

export interface KernelCheckOptions {
  readonly seed?: number;
  /** Shapes to test; the defaults include odd and non-power-of-two ones. */
  readonly shapes?: readonly (readonly number[])[];
  readonly chunk?: number;
  readonly k?: number;
  /** Relative tolerance of the transforms (default 1e-5: float32 outputs of float64-accurate math). */
  readonly tolerance?: number;
}

function maxRelativeDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let diff = 0;
  let scale = 1;
  for (let i = 0; i < a.length; i++) {
    diff = Math.max(diff, Math.abs(a[i]! - b[i]!));
    scale = Math.max(scale, Math.abs(b[i]!));
  }
  return a.length === b.length ? diff / scale : Number.POSITIVE_INFINITY;
}

/**
 * Runs a backend against the readable TypeScript reference on seeded random data and reports the
 * largest difference per operation. Top-k and scatter-mean get identical inputs, so their indices
 * must agree exactly (the tie rule is part of the contract).
 */
export async function checkKernelsAgainstReference(candidate: DistroKernels, options: KernelCheckOptions = {}): Promise<KernelCheckReport> {
  const rng = createRng(options.seed ?? 1);
  const chunk = options.chunk ?? 64;
  const tolerance = options.tolerance ?? 1e-5;
  const shapes = options.shapes ?? [[256, 256], [100, 37], [1000], [3, 5, 64], [1], [130, 64]];
  const checks: KernelCheck[] = [];
  const record = (op: KernelCheck['op'], shape: readonly number[], maxDiff: number, tol: number) =>
    checks.push({ op, shape, maxDiff, tolerance: tol, ok: maxDiff <= tol });

  for (const shape of shapes) {
    const layout = computeChunkLayout(shape, chunk);
    const k = Math.min(options.k ?? 8, layout.chunkElems);
    const input = fillGaussian(rng, new Float32Array(layout.size));
    const ref = new Float32Array(layout.size);
    const got = new Float32Array(layout.size);

    await referenceKernels.encode(input, layout, ref);
    await candidate.encode(input, layout, got);
    record('encode', shape, maxRelativeDiff(got, ref), tolerance);

    const coefficients = ref.slice();
    // Force exact magnitude ties so the tie rule is exercised.
    for (let i = 0; i + 3 < coefficients.length; i += 7) coefficients[i + 3] = -coefficients[i]!;
    await referenceKernels.decode(coefficients, layout, ref);
    await candidate.decode(coefficients, layout, got);
    record('decode', shape, maxRelativeDiff(got, ref), tolerance);

    const refIdx = new Uint32Array(layout.numChunks * k);
    const refVal = new Float32Array(layout.numChunks * k);
    const gotIdx = new Uint32Array(layout.numChunks * k);
    const gotVal = new Float32Array(layout.numChunks * k);
    await referenceKernels.topk(coefficients, layout, k, refIdx, refVal);
    await candidate.topk(coefficients, layout, k, gotIdx, gotVal);
    record('topk', shape, Math.max(maxRelativeDiff(gotIdx, refIdx) === 0 ? 0 : Number.POSITIVE_INFINITY, maxRelativeDiff(gotVal, refVal)), 0);

    const selections: SparseChunks[] = [{ layout, k, indices: refIdx, values: refVal }];
    for (let peer = 0; peer < 3; peer++) {
      const shifted = fillGaussian(rng, new Float32Array(layout.size));
      const idx = new Uint32Array(layout.numChunks * k);
      const val = new Float32Array(layout.numChunks * k);
      await referenceKernels.topk(shifted, layout, k, idx, val);
      selections.push({ layout, k, indices: idx, values: val });
    }
    await referenceKernels.scatterMean(selections, layout, ref);
    await candidate.scatterMean(selections, layout, got);
    record('scatterMean', shape, maxRelativeDiff(got, ref), 1e-6);

    const deltaRef = input.slice();
    const deltaGot = input.slice();
    const grad = fillGaussian(rng, new Float32Array(layout.size));
    await referenceKernels.decayAccumulate(deltaRef, grad, 0.995, 0.01);
    await candidate.decayAccumulate(deltaGot, grad, 0.995, 0.01);
    record('decayAccumulate', shape, maxRelativeDiff(deltaGot, deltaRef), 1e-6);

    const wRef = input.slice();
    const wGot = input.slice();
    grad[0] = 0; // sign(0) = 0 must leave the weight alone
    await referenceKernels.signDescent(wRef, grad, 0.01);
    await candidate.signDescent(wGot, grad, 0.01);
    record('signDescent', shape, maxRelativeDiff(wGot, wRef), 0);
  }
  return { kernels: candidate.name, checks, ok: checks.every((c) => c.ok) };
}
