import { describe, it } from 'vitest';
import { createInMemoryProvider, dataProviderComplianceTests } from '../index.ts';
import { randomTokens } from './helpers.ts';

describe('in-memory provider compliance', () => {
  for (const dtype of ['u16', 'u32'] as const) {
    for (const shuffleSeed of [undefined, 'seed'] as const) {
      describe(`${dtype}, ${shuffleSeed === undefined ? 'file order' : 'shuffled'}`, () => {
        const vocabSize = dtype === 'u16' ? 50_257 : 100_000;
        const shards = [randomTokens(700, vocabSize, 'a', dtype), randomTokens(301, vocabSize, 'b', dtype)];
        const options = { shards, vocabSize, seqLen: 32, ...(shuffleSeed === undefined ? {} : { shuffleSeed }) };
        for (const test of dataProviderComplianceTests({
          setup: async () => ({ provider: createInMemoryProvider(options), reference: createInMemoryProvider({ ...options, maxReadBytes: 1 }) }),
          teardown: async ({ provider, reference }) => {
            await provider.close();
            await reference?.close();
          },
        })) it(test.name, test.run);
      });
    }
  }
});
