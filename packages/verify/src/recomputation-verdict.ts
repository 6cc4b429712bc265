import { compareSparseResults, type Similarity, type SparseSelection } from './similarity.ts';

/**
 * When a recomputed result counts as "the same work". Defaults are calibrated in BENCHMARKS.md
 * (npm run calibrate -w @psyche/verify) on seeds run-a..c and checked on held-out seeds: each sits
 * about midway between the worst honest recomputation (other kernel, other shard count, or bf16
 * gradients, with the verifier's momentum locked to the node's published indices: Jaccard ≥ 0.95,
 * relative L1 ≤ 0.03, cosine ≥ 0.97, sign-Hamming 0) and the adversarial result closest to passing
 * (Jaccard ≤ 0.47 unless indices were copied, relative L1 ≥ 0.37, cosine ≤ 0.70 unless indices
 * were copied; copied indices fail on sign-Hamming or relative L1).
 */
export interface SimilarityThresholds {
  readonly minJaccard: number;
  readonly maxSignHamming: number;
  readonly maxRelativeManhattan: number;
  readonly minCosine: number;
}

export const DEFAULT_SIMILARITY_THRESHOLDS: SimilarityThresholds = {
  minJaccard: 0.7,
  maxSignHamming: 0.05,
  maxRelativeManhattan: 0.2,
  minCosine: 0.84,
};

export interface Verdict {
  readonly accepted: boolean;
  readonly similarity: Similarity;
  /** Names of the thresholds that failed (empty when accepted). */
  readonly failed: readonly (keyof SimilarityThresholds)[];
}

/** Compares a claimed result with the verifier's own recomputation of the same batch. */
export function judgeRecomputation(
  claimed: readonly SparseSelection[],
  recomputed: readonly SparseSelection[],
  thresholds: SimilarityThresholds = DEFAULT_SIMILARITY_THRESHOLDS,
): Verdict {
  return verdictFromSimilarity(compareSparseResults(claimed, recomputed), thresholds);
}

export function verdictFromSimilarity(similarity: Similarity, thresholds: SimilarityThresholds = DEFAULT_SIMILARITY_THRESHOLDS): Verdict {
  const failed: (keyof SimilarityThresholds)[] = [];
  if (!(similarity.jaccard >= thresholds.minJaccard)) failed.push('minJaccard');
  if (!(similarity.signHamming <= thresholds.maxSignHamming)) failed.push('maxSignHamming');
  if (!(similarity.relativeManhattan <= thresholds.maxRelativeManhattan)) failed.push('maxRelativeManhattan');
  if (!(similarity.cosine >= thresholds.minCosine)) failed.push('minCosine');
  return { accepted: failed.length === 0, similarity, failed };
}

/**
 * One verification: recompute the target's batch (the caller's training + DisTrO generate, on
 * whatever kernels it has), then judge. A recomputation that throws is the verifier's failure,
 * not the target's: the error propagates and no verdict is given.
 */
export async function verifyByRecomputation(
  claimed: readonly SparseSelection[],
  recompute: () => Promise<readonly SparseSelection[]>,
  thresholds: SimilarityThresholds = DEFAULT_SIMILARITY_THRESHOLDS,
): Promise<Verdict> {
  return judgeRecomputation(claimed, await recompute(), thresholds);
}
