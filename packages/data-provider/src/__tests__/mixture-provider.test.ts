import { describe, expect, it } from 'vitest';
import { DATA_INVALID_CONFIG, DATA_PROVIDER_INCOMPATIBLE, isPsycheError } from '@psyche/core';
import { apportion, createInMemoryProvider, createMixtureProvider, dataProviderComplianceTests, type DataProvider, type GetSequencesOptions, type TokenBatch } from '../index.ts';
import { randomTokens } from './helpers.ts';

const seqLen = 12;
const parts = () => [
  { provider: createInMemoryProvider({ shards: [randomTokens(800, 1000, 'm1')], vocabSize: 1000, seqLen, shuffleSeed: 1 }), weight: 3 },
  { provider: createInMemoryProvider({ shards: [randomTokens(400, 70_000, 'm2', 'u32')], vocabSize: 70_000, seqLen, shuffleSeed: 2 }), weight: 1 },
  { provider: createInMemoryProvider({ shards: [randomTokens(200, 500, 'm3')], vocabSize: 500, seqLen }), weight: 0.5 },
];

/** The readable reference: ask each id's provider for it, one id at a time. */
function referenceOf(mixture: ReturnType<typeof createMixtureProvider>, providers: DataProvider[]): DataProvider {
  const d = mixture.describe();
  return {
    describe: () => d,
    async getSequences(ids: readonly number[], _options?: GetSequencesOptions): Promise<TokenBatch> {
      const out = new Uint32Array(ids.length * (seqLen + 1));
      for (const [row, id] of ids.entries()) {
        const { providerIndex, innerId } = mixture.assignment(id);
        out.set((await providers[providerIndex]!.getSequences([innerId])).tokens, row * (seqLen + 1));
      }
      return { dtype: 'u32', seqLen, batchIds: ids, tokens: out };
    },
    close: async () => {},
  };
}

describe('mixture provider', () => {
  describe('compliance', () => {
    for (const test of dataProviderComplianceTests({
      setup: async () => {
        const mixture = createMixtureProvider({ providers: parts(), seed: 'mix', blockSize: 16 });
        return { provider: mixture, reference: referenceOf(mixture, parts().map((p) => p.provider)) };
      },
      teardown: async ({ provider }) => provider.close(),
    })) it(test.name, test.run);
  });

  it('gives each provider exactly its share per block, deterministically by seed', () => {
    expect(apportion([3, 1, 0.5], 16)).toEqual([11, 3, 2]);
    expect(apportion([1, 1, 1], 10)).toEqual([4, 3, 3]);
    const a = createMixtureProvider({ providers: parts(), seed: 'mix', blockSize: 16 });
    const b = createMixtureProvider({ providers: parts(), seed: 'mix', blockSize: 16 });
    const c = createMixtureProvider({ providers: parts(), seed: 'other', blockSize: 16 });
    const ids = Array.from({ length: 64 }, (_, i) => i);
    const layoutA = ids.map((id) => a.assignment(id));
    expect(ids.map((id) => b.assignment(id))).toEqual(layoutA);
    expect(ids.map((id) => c.assignment(id))).not.toEqual(layoutA);
    for (let block = 0; block < 4; block++) {
      const counts = [0, 0, 0];
      for (let p = 0; p < 16; p++) counts[layoutA[block * 16 + p]!.providerIndex]!++;
      expect(counts).toEqual([11, 3, 2]);
    }
    // Inner ids are dense: provider 1 sees 0..11 over the first four blocks.
    expect(layoutA.filter((x) => x.providerIndex === 1).map((x) => x.innerId).sort((x, y) => x - y)).toEqual(Array.from({ length: 12 }, (_, i) => i));
    expect(a.describe().dtype).toBe('u32');
    expect(a.describe().vocabSize).toBe(70_000);
  });

  it('rejects bad configurations with coded errors', () => {
    const code = (fn: () => unknown): number | undefined => {
      try {
        fn();
      } catch (error) {
        return isPsycheError(error) ? error.code : -1;
      }
      return undefined;
    };
    expect(code(() => createMixtureProvider({ providers: [], seed: 1 }))).toBe(DATA_INVALID_CONFIG);
    expect(code(() => createMixtureProvider({ providers: [{ ...parts()[0]!, weight: 0 }], seed: 1 }))).toBe(DATA_INVALID_CONFIG);
    expect(code(() => createMixtureProvider({ providers: [{ ...parts()[0]!, weight: Number.NaN }], seed: 1 }))).toBe(DATA_INVALID_CONFIG);
    const other = createInMemoryProvider({ shards: [randomTokens(100, 10, 'x')], vocabSize: 10, seqLen: 5 });
    expect(code(() => createMixtureProvider({ providers: [parts()[0]!, { provider: other, weight: 1 }], seed: 1 }))).toBe(DATA_PROVIDER_INCOMPATIBLE);
  });
});
