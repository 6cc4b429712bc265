import { createRng, type Rng } from '@psyche/core';
import {
  DistroOptimizer,
  quantizeSigns,
  referenceKernels,
  typescriptKernels,
  type DistroKernels,
  type DistroResult,
  type ParameterSelection,
} from '@psyche/distro';
import { compareSparseResults, type Similarity } from '../similarity.ts';
import { verdictFromSimilarity, type SimilarityThresholds } from '../recomputation-verdict.ts';
import { LockedDistroReplay } from './locked-replay.ts';
import { copyMlp, initMlp, makeBatch, mlpGradients, mlpLoss, mlpParameters, type MlpWeights } from './tiny-mlp.ts';

// The recomputation experiment: N honest nodes train a tiny MLP with DisTrO for S steps; every
// node is shadowed by a verifier that replays the node's work from public data (the shared weights
// and the node's assigned batches) on a different kernel and shard count. Each step the verifier's
// recomputation is compared with the node's honest result (must pass) and with adversarial results
// built from the same step (must fail).

export const ADVERSARIES = [
  'random',
  'scaled-x10',
  'sign-flipped',
  'stale',
  'lazy-zero',
  'lazy-no-gradient',
  'copied',
  'wrong-batch',
] as const;
export type Adversary = (typeof ADVERSARIES)[number];

export interface CalibrationOptions {
  readonly seeds: readonly string[];
  readonly nodes: number;
  readonly steps: number;
  readonly lr: number;
  readonly topk: number;
  readonly chunk: number;
  readonly compressionDecay: number;
  /** Compare 1-bit (sign) results, as Psyche's wire sends them, instead of float32 values. */
  readonly signOnly: boolean;
  /** Kernel sets; node i uses kernels[i mod n], its verifiers kernels[(i + 1) mod n]. */
  readonly kernels: readonly DistroKernels[];
}

/** Thresholds were chosen on these seeds... */
export const FULL_CALIBRATION: CalibrationOptions = {
  seeds: ['run-a', 'run-b', 'run-c'],
  nodes: 8,
  steps: 100,
  lr: 3e-3,
  topk: 4,
  chunk: 8,
  compressionDecay: 0.995,
  signOnly: false,
  kernels: [typescriptKernels, referenceKernels],
};

/**
 * The TypeScript kernel sets plus @psyche/gpu's C++ kernels (SIMD, thread pool) when the addon is
 * built here; `note` says which.
 */
export async function availableKernels(): Promise<{ kernels: DistroKernels[]; note: string }> {
  const kernels: DistroKernels[] = [typescriptKernels, referenceKernels];
  try {
    const gpu = await import('@psyche/gpu');
    const native = gpu.nativeKernels();
    kernels.push(native);
    return { kernels, note: `native kernels: ${native.name}` };
  } catch (e) {
    return { kernels, note: `native kernels unavailable (${e instanceof Error ? e.message : String(e)})` };
  }
}

/** ...and checked on these, never looked at while choosing them. */
export const HELD_OUT_SEEDS: readonly string[] = ['run-d', 'run-e'];

/** Honest recomputations: fp32 on the other kernel and shard count; the same with gradients rounded to bfloat16 (a mixed-precision GPU verifier). */
export const HONEST_KINDS = ['honest', 'honest-bf16'] as const;
export type HonestKind = (typeof HONEST_KINDS)[number];

export interface Sample {
  readonly kind: HonestKind | Adversary;
  readonly similarity: Similarity;
}

interface NodeSetup {
  readonly kernels: DistroKernels;
  readonly shards: number;
}

// Honest nodes and their verifiers always differ in kernel AND in shard count (1, 2, 4, 8 "threads").
function nodeSetup(node: number, kernels: readonly DistroKernels[]): { node: NodeSetup; verifier: NodeSetup } {
  const shardChoices = [1, 2, 4, 8];
  return {
    node: { kernels: kernels[node % kernels.length]!, shards: shardChoices[node % 4]! },
    verifier: { kernels: kernels[(node + 1) % kernels.length]!, shards: shardChoices[(node + 1) % 4]! },
  };
}

function optimizerFor(weights: MlpWeights, kernels: DistroKernels, options: CalibrationOptions): DistroOptimizer {
  // Each optimizer gets its own copy: with weight decay 0 and no lookahead, generate never writes
  // the weights, and only the global optimizer applies the shared update.
  return new DistroOptimizer(mlpParameters(copyMlp(weights)), {
    topk: options.topk,
    chunk: options.chunk,
    compressionDecay: options.compressionDecay,
    kernels,
  });
}

/** Round-to-nearest-even to bfloat16 (8 mantissa bits), kept in float32. */
function toBf16(gradients: Map<string, Float32Array>): Map<string, Float32Array> {
  for (const g of gradients.values()) {
    const bits = new Uint32Array(g.buffer, g.byteOffset, g.length);
    for (let i = 0; i < bits.length; i++) {
      const u = bits[i]!;
      bits[i] = ((u + 0x7fff + ((u >>> 16) & 1)) & 0xffff0000) >>> 0;
    }
  }
  return gradients;
}

function sameArrays(a: ArrayLike<number>, b: ArrayLike<number>): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) return false;
  return true;
}

function cloneGradients(gradients: ReadonlyMap<string, Float32Array>): Map<string, Float32Array> {
  return new Map([...gradients].map(([name, g]) => [name, g.slice()]));
}

function zeroGradients(gradients: ReadonlyMap<string, Float32Array>): Map<string, Float32Array> {
  return new Map([...gradients].map(([name, g]) => [name, new Float32Array(g.length)]));
}

function mapValues(result: DistroResult, f: (value: number) => number): DistroResult {
  return { parameters: result.parameters.map((p) => ({ ...p, values: p.values.map(f) })) };
}

function randomResult(like: DistroResult, rng: Rng): DistroResult {
  return {
    parameters: like.parameters.map((p): ParameterSelection => {
      const { numChunks, chunkElems } = p.layout;
      const indices = new Uint32Array(p.indices.length);
      const values = new Float32Array(p.values.length);
      let scale = 0;
      for (const v of p.values) scale = Math.max(scale, Math.abs(v));
      for (let c = 0; c < numChunks; c++) {
        const chosen = new Set<number>();
        while (chosen.size < p.k) chosen.add(rng.nextInt(chunkElems));
        [...chosen].sort((a, b) => a - b).forEach((index, j) => {
          indices[c * p.k + j] = index;
          values[c * p.k + j] = scale * rng.nextGaussian();
        });
      }
      return { ...p, indices, values };
    }),
  };
}

function lazyZero(like: DistroResult): DistroResult {
  return {
    parameters: like.parameters.map((p) => ({
      ...p,
      indices: Uint32Array.from({ length: p.indices.length }, (_, i) => i % p.k),
      values: new Float32Array(p.values.length),
    })),
  };
}

export interface CalibrationRun {
  readonly samples: Sample[];
  /** Whether the locked replay of every node's own state matched its DistroOptimizer bit for bit. */
  readonly lockedReplayExact: boolean;
  readonly firstLoss: number;
  readonly lastLoss: number;
}

/** Trains one run and returns every honest and adversarial comparison. */
export async function runCalibration(seed: string, options: CalibrationOptions): Promise<CalibrationRun> {
  const { nodes, steps, lr } = options;
  const global = initMlp(`${seed}/init`);
  const applier = new DistroOptimizer(mlpParameters(global), {
    topk: options.topk,
    chunk: options.chunk,
    compressionDecay: options.compressionDecay,
    kernels: typescriptKernels,
  });
  const setups = Array.from({ length: nodes }, (_, i) => nodeSetup(i, options.kernels));
  const honest = setups.map((s) => optimizerFor(global, s.node.kernels, options));
  const replayFor = (kernels: DistroKernels) =>
    new LockedDistroReplay(mlpParameters(global), { ...options, kernels, clipGradNorm: 1 });
  const shadows = setups.map((s) => replayFor(s.verifier.kernels));
  const bf16Shadows = setups.map((s) => replayFor(s.verifier.kernels));
  const history: ReadonlyMap<string, Float32Array>[][] = setups.map(() => []); // honest gradients per node, per step
  const results: DistroResult[][] = setups.map(() => []);
  const samples: Sample[] = [];
  const rng = createRng(`${seed}/adversary`);
  const batchId = (step: number, node: number) => step * nodes + node;
  const heldOut = makeBatch(seed, 1_000_000);
  const firstLoss = mlpLoss(global, heldOut);
  const view = (result: DistroResult) => (options.signOnly ? quantizeSigns(result) : result).parameters;
  const compare = (claimed: DistroResult, recomputed: DistroResult) => compareSparseResults(view(claimed), view(recomputed));

  // Each node's true momentum, tracked with the node's own kernels and locked to its own published
  // results (for an honest node that is exactly DistroOptimizer's state); cheats branch off a clone.
  const trueStates = setups.map((s) => replayFor(s.node.kernels));
  let lockedReplayExact = true;

  for (let step = 0; step < steps; step++) {
    const snapshot = copyMlp(global);
    const stepResults: DistroResult[] = [];
    const recomputed: DistroResult[] = [];
    const recomputedBf16: DistroResult[] = [];
    const branches: LockedDistroReplay[] = []; // each node's true state before this step
    for (let node = 0; node < nodes; node++) {
      const batch = makeBatch(seed, batchId(step, node));
      const gradients = mlpGradients(snapshot, batch, setups[node]!.node.shards);
      history[node]!.push(cloneGradients(gradients));
      stepResults.push((await honest[node]!.generate(gradients, lr)).result);
      const verifierGradients = mlpGradients(snapshot, batch, setups[node]!.verifier.shards);
      const published = results[node]![step - 1];
      branches.push(trueStates[node]!.clone());
      const tracked = await trueStates[node]!.generate(cloneGradients(history[node]![step]!), lr, published);
      const own = stepResults[node]!;
      if (!tracked.parameters.every((p, i) => sameArrays(p.indices, own.parameters[i]!.indices) && sameArrays(p.values, own.parameters[i]!.values))) {
        lockedReplayExact = false;
      }
      recomputedBf16.push(await bf16Shadows[node]!.generate(toBf16(cloneGradients(verifierGradients)), lr, published));
      recomputed.push(await shadows[node]!.generate(verifierGradients, lr, published));
    }
    for (let node = 0; node < nodes; node++) {
      const claimed = stepResults[node]!;
      const truth = recomputed[node]!;
      samples.push({ kind: 'honest', similarity: compare(claimed, truth) });
      samples.push({ kind: 'honest-bf16', similarity: compare(claimed, recomputedBf16[node]!) });
      const adversarial: [Adversary, DistroResult][] = [
        ['random', randomResult(claimed, rng)],
        ['scaled-x10', mapValues(claimed, (v) => v * 10)],
        ['sign-flipped', mapValues(claimed, (v) => -v)],
        ['lazy-zero', lazyZero(claimed)],
        ['copied', stepResults[(node + 1) % nodes]!],
      ];
      if (step > 0) adversarial.push(['stale', results[node]![step - 1]!]);
      const published = results[node]![step - 1];
      adversarial.push(['lazy-no-gradient', await branches[node]!.clone().generate(zeroGradients(history[node]![step]!), lr, published)]);
      const otherBatch = makeBatch(seed, 10_000_000 + batchId(step, node));
      adversarial.push(['wrong-batch', await branches[node]!.generate(mlpGradients(snapshot, otherBatch, setups[node]!.node.shards), lr, published)]);
      for (const [kind, result] of adversarial) {
        if (options.signOnly && kind === 'scaled-x10') continue; // invisible and harmless on a sign-only wire
        samples.push({ kind, similarity: compare(result, truth) });
      }
      results[node]!.push(claimed);
    }
    await applier.apply(stepResults, lr);
  }
  return { samples, firstLoss, lastLoss: mlpLoss(global, heldOut), lockedReplayExact };
}

export interface RateRow {
  readonly kind: Sample['kind'];
  readonly count: number;
  /** honest: fraction flagged (false positives); adversary: fraction detected. */
  readonly flaggedRate: number;
  readonly worst: Similarity | undefined;
}

/** Per kind: how many samples the thresholds reject, and the sample closest to passing (or failing). */
export function rates(samples: readonly Sample[], thresholds: SimilarityThresholds): RateRow[] {
  const kinds = [...HONEST_KINDS, ...ADVERSARIES] as const;
  return kinds
    .map((kind) => {
      const mine = samples.filter((s) => s.kind === kind);
      const flagged = mine.filter((s) => !verdictFromSimilarity(s.similarity, thresholds).accepted);
      const score = (s: Similarity) => Math.min(s.jaccard, 1 - s.signHamming, 1 - s.relativeManhattan, s.cosine);
      const sorted = [...mine].sort((a, b) => score(a.similarity) - score(b.similarity));
      const worst = isHonest(kind) ? sorted[0] : sorted[sorted.length - 1];
      return { kind, count: mine.length, flaggedRate: mine.length === 0 ? 0 : flagged.length / mine.length, worst: worst?.similarity };
    })
    .filter((row) => row.count > 0);
}

export function isHonest(kind: Sample['kind']): kind is HonestKind {
  return (HONEST_KINDS as readonly string[]).includes(kind);
}
