import { DATA_BATCH_ID_OUT_OF_RANGE, DATA_INVALID_CONFIG, PsycheError, createRng, describeValue, fisherYatesShuffle, type RngSeed } from '@psyche/core';

/** A shuffled epoch is materialised as one permutation; 2^26 sequences = 256 MiB of u32 at most. */
export const MAX_SHUFFLED_SEQUENCES = 2 ** 26;

export function assertBatchId(batchId: number): number {
  if (!Number.isSafeInteger(batchId) || batchId < 0) {
    throw new PsycheError(
      DATA_BATCH_ID_OUT_OF_RANGE,
      { batchId: describeValue(batchId), reason: 'not a non-negative safe integer' },
      `batch id ${describeValue(batchId)} is not a non-negative safe integer`,
    );
  }
  return batchId;
}

/**
 * The deterministic map from batch id (Psyche's data index: one id, one sequence) to a sequence
 * of the dataset. Ids past the end wrap into the next epoch. With a seed, every epoch visits the
 * sequences in its own seeded Fisher–Yates order (xoshiro128** from @psyche/core, forked per epoch),
 * so every node computes the same map from the same seed; without a seed the order is the file order.
 */
export class SequenceOrder {
  readonly sequenceCount: number;
  private readonly seed: RngSeed | undefined;
  /** The two most recently used epochs (a round can straddle an epoch boundary). */
  private readonly cache = new Map<number, Uint32Array>();

  constructor(sequenceCount: number, seed?: RngSeed) {
    if (!Number.isSafeInteger(sequenceCount) || sequenceCount < 1) {
      throw new PsycheError(
        DATA_INVALID_CONFIG,
        { field: 'sequenceCount', value: String(sequenceCount), expected: 'at least one whole sequence' },
        `the dataset holds ${String(sequenceCount)} whole sequences; it needs at least one (more tokens or a shorter seqLen)`,
      );
    }
    if (seed !== undefined && sequenceCount > MAX_SHUFFLED_SEQUENCES) {
      throw new PsycheError(
        DATA_INVALID_CONFIG,
        { field: 'sequenceCount', value: String(sequenceCount), expected: `at most ${MAX_SHUFFLED_SEQUENCES} when shuffled` },
        `cannot shuffle ${sequenceCount} sequences (limit ${MAX_SHUFFLED_SEQUENCES}); split the dataset into a mixture`,
      );
    }
    this.sequenceCount = sequenceCount;
    this.seed = seed;
  }

  get shuffled(): boolean {
    return this.seed !== undefined;
  }

  /** The permutation of one epoch: position → sequence index. */
  epochPermutation(epoch: number): Uint32Array {
    if (this.seed === undefined) return Uint32Array.from({ length: this.sequenceCount }, (_, i) => i);
    let permutation = this.cache.get(epoch);
    if (permutation === undefined) {
      const rng = createRng(this.seed).fork(`psyche-data-epoch:${epoch}`);
      permutation = Uint32Array.from(fisherYatesShuffle(Array.from({ length: this.sequenceCount }, (_, i) => i), rng));
      if (this.cache.size >= 2) this.cache.delete(this.cache.keys().next().value!);
    } else {
      this.cache.delete(epoch);
    }
    this.cache.set(epoch, permutation);
    return permutation;
  }

  /** sequenceFor of every id, evaluated epoch by epoch so a request spanning epochs shuffles each once. */
  sequencesFor(batchIds: readonly number[]): number[] {
    for (const id of batchIds) assertBatchId(id);
    const out = new Array<number>(batchIds.length);
    const byEpoch = batchIds.map((id, index) => ({ epoch: Math.floor(id / this.sequenceCount), index })).sort((a, b) => a.epoch - b.epoch);
    for (const { index } of byEpoch) out[index] = this.sequenceFor(batchIds[index]!);
    return out;
  }

  sequenceFor(batchId: number): number {
    assertBatchId(batchId);
    const position = batchId % this.sequenceCount;
    if (this.seed === undefined) return position;
    return this.epochPermutation(Math.floor(batchId / this.sequenceCount))[position]!;
  }
}
