import { DATA_INVALID_CONFIG, DATA_PROVIDER_CLOSED, DATA_PROVIDER_INCOMPATIBLE, PsycheError, createRng, describeValue, fisherYatesShuffle, type RngSeed } from '@psyche/core';
import { outputArray, throwIfAborted, type DataDescription, type DataProvider, type GetSequencesOptions, type TokenBatch } from './data-provider.ts';
import { assertBatchId } from './sequence-order.ts';
import type { TokenDtype } from './token-dtype.ts';

export interface WeightedProvider {
  provider: DataProvider;
  /** Relative share of sequences (positive, finite); normalised over the mixture. */
  weight: number;
}

export interface MixtureProviderOptions {
  providers: readonly WeightedProvider[];
  /** Seed of the interleaving; every node with the same seed builds the same mixture. */
  seed: RngSeed;
  /** Ids are mixed in blocks of this many (default 1024): exact shares per block. */
  blockSize?: number;
  name?: string;
}

/** Exact integer shares of `total` by weight (largest remainder; ties to the lower index). */
export function apportion(weights: readonly number[], total: number): number[] {
  const sum = weights.reduce((a, b) => a + b, 0);
  const exact = weights.map((weight) => (weight / sum) * total);
  const counts = exact.map(Math.floor);
  let left = total - counts.reduce((a, b) => a + b, 0);
  const byRemainder = exact.map((value, index) => ({ index, remainder: value - Math.floor(value) })).sort((a, b) => b.remainder - a.remainder || a.index - b.index);
  for (const { index } of byRemainder) {
    if (left === 0) break;
    counts[index]!++;
    left--;
  }
  return counts;
}

/**
 * Weighted mixture of providers (Psyche's WeightedHttp, for any provider kind). Batch ids are cut
 * into blocks; in each block every provider gets exactly its apportioned share of positions, placed
 * by a seeded Fisher–Yates shuffle (xoshiro128** forked per block). The k-th position a provider gets
 * in block b is its inner id b·share + k, so each provider is read densely through its own order.
 */
export class MixtureProvider implements DataProvider {
  private readonly providers: readonly WeightedProvider[];
  private readonly blockSize: number;
  private readonly shares: number[];
  private readonly rng;
  private readonly description: DataDescription;
  private readonly blocks = new Map<number, { provider: Uint16Array; rank: Uint32Array }>();
  private closed = false;

  constructor(options: MixtureProviderOptions) {
    if (options.providers.length === 0 || options.providers.length > 65_535) {
      throw new PsycheError(DATA_INVALID_CONFIG, { field: 'providers', value: String(options.providers.length), expected: '1 to 65535 providers' }, 'a mixture needs 1 to 65535 providers');
    }
    for (const [index, { weight }] of options.providers.entries()) {
      if (!Number.isFinite(weight) || weight <= 0) {
        throw new PsycheError(DATA_INVALID_CONFIG, { field: `providers[${index}].weight`, value: describeValue(weight), expected: 'positive finite number' }, `weight ${describeValue(weight)} must be positive and finite`);
      }
    }
    this.blockSize = options.blockSize ?? 1024;
    if (!Number.isInteger(this.blockSize) || this.blockSize < 1 || this.blockSize > 2 ** 20) {
      throw new PsycheError(DATA_INVALID_CONFIG, { field: 'blockSize', value: String(this.blockSize), expected: 'integer in [1, 2^20]' }, 'blockSize must be in [1, 2^20]');
    }
    this.providers = options.providers;
    this.shares = apportion(options.providers.map((entry) => entry.weight), this.blockSize);
    this.rng = createRng(options.seed);
    const descriptions = options.providers.map((entry) => entry.provider.describe());
    const first = descriptions[0]!;
    for (const d of descriptions) {
      if (d.seqLen !== first.seqLen) {
        throw new PsycheError(DATA_PROVIDER_INCOMPATIBLE, { field: 'seqLen', expected: String(first.seqLen), actual: String(d.seqLen) }, `mixture of seqLen ${first.seqLen} and ${d.seqLen}`);
      }
    }
    const dtype: TokenDtype = descriptions.some((d) => d.dtype === 'u32') ? 'u32' : 'u16';
    this.description = {
      name: options.name ?? `mixture(${descriptions.map((d) => d.name).join(', ')})`,
      dtype,
      vocabSize: Math.max(...descriptions.map((d) => d.vocabSize)),
      seqLen: first.seqLen,
      sequenceCount: descriptions.reduce((sum, d) => sum + d.sequenceCount, 0),
    };
  }

  describe(): DataDescription {
    return { ...this.description };
  }

  /** Which provider serves `batchId`, and under which of its own ids. */
  assignment(batchId: number): { providerIndex: number; innerId: number } {
    assertBatchId(batchId);
    const block = Math.floor(batchId / this.blockSize);
    const position = batchId % this.blockSize;
    const layout = this.blockLayout(block);
    const providerIndex = layout.provider[position]!;
    return { providerIndex, innerId: block * this.shares[providerIndex]! + layout.rank[position]! };
  }

  private blockLayout(block: number): { provider: Uint16Array; rank: Uint32Array } {
    let layout = this.blocks.get(block);
    if (layout === undefined) {
      const slots: number[] = [];
      this.shares.forEach((share, index) => {
        for (let i = 0; i < share; i++) slots.push(index);
      });
      fisherYatesShuffle(slots, this.rng.fork(`psyche-mixture-block:${block}`));
      const seen = new Uint32Array(this.shares.length);
      const rank = new Uint32Array(slots.length);
      slots.forEach((providerIndex, position) => {
        rank[position] = seen[providerIndex]!++;
      });
      layout = { provider: Uint16Array.from(slots), rank };
      if (this.blocks.size >= 16) this.blocks.delete(this.blocks.keys().next().value!);
      this.blocks.set(block, layout);
    }
    return layout;
  }

  async getSequences(batchIds: readonly number[], options: GetSequencesOptions = {}): Promise<TokenBatch> {
    if (this.closed) throw new PsycheError(DATA_PROVIDER_CLOSED, { provider: this.description.name }, `${this.description.name}: provider is closed`);
    throwIfAborted(options.signal, 'getSequences');
    const { dtype, seqLen } = this.description;
    const rowTokens = seqLen + 1;
    const groups = this.providers.map(() => ({ rows: [] as number[], ids: [] as number[] }));
    batchIds.forEach((id, row) => {
      const { providerIndex, innerId } = this.assignment(id);
      groups[providerIndex]!.rows.push(row);
      groups[providerIndex]!.ids.push(innerId);
    });
    const out = outputArray(this.description, batchIds.length, options.into);
    // The caller's array is this mixture's; each provider fills its own (and may have another dtype).
    const { into: _ownArray, ...forwarded } = options;
    await Promise.all(
      groups.map(async (group, index) => {
        if (group.ids.length === 0) return;
        const batch = await this.providers[index]!.provider.getSequences(group.ids, forwarded);
        group.rows.forEach((row, k) => out.set(batch.tokens.subarray(k * rowTokens, (k + 1) * rowTokens), row * rowTokens));
      }),
    );
    return { dtype, seqLen, batchIds: [...batchIds], tokens: out };
  }

  /** Closes the mixture and every provider in it. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all(this.providers.map((entry) => entry.provider.close()));
  }
}

export function createMixtureProvider(options: MixtureProviderOptions): MixtureProvider {
  return new MixtureProvider(options);
}
