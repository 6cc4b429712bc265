import { COORDINATOR_INVALID_CONFIG, COORDINATOR_MALFORMED_ACCOUNT, COORDINATOR_MALFORMED_INSTRUCTION, isPsycheError } from '@psyche/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  HashChain,
  RUN_ACCOUNT_SIZE,
  decodeRunAccount,
  decodeRunConfig,
  defaultRunConfig,
  encodeInstructionData,
  encodeRunAccount,
  encodeRunConfig,
  participantBitmap,
  splitInstructionData,
  witnessIndices,
  isWitness,
} from '../index.ts';

const RUNS = Number(process.env.FUZZ_RUNS ?? 300);

function codeOf(fn: () => unknown): number | undefined {
  try {
    fn();
  } catch (e) {
    if (isPsycheError(e)) return e.code;
    throw e;
  }
  return undefined;
}

describe('codecs', () => {
  it('round-trips run configs through the 336-byte layout', () => {
    fc.assert(
      fc.property(
        fc.record({
          totalSteps: fc.bigInt({ min: 1n, max: 2n ** 32n - 1n }),
          globalBatchStart: fc.integer({ min: 1, max: 2 ** 32 - 1 }),
          witnessNodes: fc.integer({ min: 1, max: 32 }),
          modelLocation: fc.string({ maxLength: 40 }),
          dataLocation: fc.string({ maxLength: 40 }),
          distroQuantize1bit: fc.boolean(),
          compressionDecay: fc.constantFrom(0.995, 0.999, 0.5),
        }),
        (overrides) => {
          const config = defaultRunConfig(overrides);
          const decoded = decodeRunConfig(encodeRunConfig(config));
          expect({ ...decoded, compressionDecay: 0, weightDecay: 0, clipGradNorm: 0, learningRate: 0 }).toEqual({ ...config, compressionDecay: 0, weightDecay: 0, clipGradNorm: 0, learningRate: 0 });
          expect(decoded.compressionDecay).toBeCloseTo(config.compressionDecay, 6);
        },
      ),
      { numRuns: RUNS },
    );
  });

  it('rejects configs the layout cannot hold', () => {
    expect(codeOf(() => encodeRunConfig(defaultRunConfig({ modelLocation: 'x'.repeat(129) })))).toBe(COORDINATOR_INVALID_CONFIG);
    expect(codeOf(() => encodeRunConfig(defaultRunConfig({ witnessNodes: 70_000 })))).toBe(COORDINATOR_INVALID_CONFIG);
    expect(codeOf(() => encodeRunConfig(defaultRunConfig({ totalSteps: -1n })))).toBe(COORDINATOR_INVALID_CONFIG);
  });

  it('decodes any account-sized bytes and re-encodes the fields it read; other sizes are a coded error', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 31 }), (seed) => {
        const bytes = new Uint8Array(RUN_ACCOUNT_SIZE);
        let x = seed >>> 0;
        for (let i = 0; i < bytes.length; i += 97) {
          x = (Math.imul(x, 1103515245) + 12345) >>> 0;
          bytes[i] = x & 0xff;
        }
        const account = decodeRunAccount(bytes);
        expect(encodeRunAccount(decodeRunAccount(encodeRunAccount(account)))).toEqual(encodeRunAccount(account));
      }),
      { numRuns: 10 },
    );
    expect(codeOf(() => decodeRunAccount(new Uint8Array(RUN_ACCOUNT_SIZE - 1)))).toBe(COORDINATOR_MALFORMED_ACCOUNT);
    expect(codeOf(() => decodeRunAccount(new Uint8Array(0)))).toBe(COORDINATOR_MALFORMED_ACCOUNT);
  });

  it('splits instruction data only at exact lengths', () => {
    expect(splitInstructionData(encodeInstructionData.tick()).discriminator).toBe(7);
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 400 }), (bytes) => {
        const code = codeOf(() => splitInstructionData(bytes));
        expect(code === undefined || code === COORDINATOR_MALFORMED_INSTRUCTION).toBe(true);
      }),
      { numRuns: RUNS },
    );
  });

  it('participant bitmaps set exactly the listed bits', () => {
    const bitmap = participantBitmap([0, 9, 255]);
    expect([...bitmap].map((b, i) => (b ? i : -1)).filter((i) => i >= 0)).toEqual([0, 1, 31]);
    expect(bitmap[1]).toBe(2);
    expect(bitmap[31]).toBe(128);
  });

  it('hash chains reveal each link once, newest first', () => {
    const chain = new HashChain(new Uint8Array(32).fill(1), 3);
    const first = chain.revealFor(chain.commitment)!;
    const second = chain.revealFor(first)!;
    const third = chain.revealFor(second)!;
    expect(chain.revealFor(third)).toBeUndefined();
  });

  it('witnessIndices (whole permutation) agrees with isWitness (one index)', () => {
    const seed = new Uint8Array(32).fill(3);
    for (const n of [1, 2, 7, 64]) {
      const expected = Math.min(5, n);
      const indices = witnessIndices(n, expected, seed);
      expect(indices.length).toBe(expected);
      for (let i = 0; i < n; i++) expect(indices.includes(i)).toBe(isWitness(i, n, expected, seed));
    }
  });
});
