import { COORDINATOR_INVALID_CONFIG, COORDINATOR_MALFORMED_ACCOUNT, COORDINATOR_MALFORMED_INSTRUCTION, createRng, isPsycheError, sha256 } from '@psyche/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  HashChain,
  INSTRUCTION_DATA_LENGTH,
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

  it('decodes any 336 bytes, reading fields at their coordinator.h offsets; other lengths are COORDINATOR_MALFORMED_ACCOUNT', () => {
    for (const length of [0, 335, 337, 1000]) expect(codeOf(() => decodeRunConfig(new Uint8Array(length)))).toBe(COORDINATOR_MALFORMED_ACCOUNT);
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 336, maxLength: 336 }), (bytes) => {
        const config = decodeRunConfig(bytes);
        const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
        expect([config.totalSteps, config.globalBatchEnd, config.epochTime]).toEqual([v.getBigUint64(0, true), v.getUint32(20, true), v.getUint32(44, true)]);
        expect([config.initMinClients, config.witnessNodes, config.distroTopk]).toEqual([v.getUint16(52, true), v.getUint16(56, true), v.getUint16(60, true)]);
        expect([config.distroQuantize1bit, config.joinRequiresAuthority]).toEqual([bytes[62] !== 0, bytes[63] !== 0]);
      }),
      { numRuns: RUNS },
    );
  });

  it('rejects configs the layout cannot hold', () => {
    expect(codeOf(() => encodeRunConfig(defaultRunConfig({ modelLocation: 'x'.repeat(129) })))).toBe(COORDINATOR_INVALID_CONFIG);
    // A lone surrogate would be stored as U+FFFD and read back as another location.
    expect(codeOf(() => encodeRunConfig(defaultRunConfig({ modelLocation: 'model-\uDC00' })))).toBe(COORDINATOR_INVALID_CONFIG);
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
    expect(codeOf(() => decodeRunAccount(new Uint8Array(RUN_ACCOUNT_SIZE + 1)))).toBe(COORDINATOR_MALFORMED_ACCOUNT);
  });

  it('reads every field from its offset in coordinator.h and re-encodes all bytes but the padding', () => {
    // Offsets of `struct Run` (coordinator.h): 568-byte head, 512 client records of 72 bytes, 4 rounds
    // of 1704 bytes (40 + 4·32 + 256 votes + 32 results of 40), 4 checkpoints of 208 bytes.
    const CLIENTS_AT = 568;
    const ROUNDS_AT = CLIENTS_AT + 512 * 72;
    const CHECKPOINTS_AT = ROUNDS_AT + 4 * 1704;
    expect(CHECKPOINTS_AT + 4 * 208).toBe(RUN_ACCOUNT_SIZE);
    const PADDING_BYTES = 5 + 512 * 7 + 4 * (5 + 32 * 6);
    const allOnes = new Uint8Array(RUN_ACCOUNT_SIZE).fill(0xff);
    expect(encodeRunAccount(decodeRunAccount(allOnes)).filter((b) => b === 0).length).toBe(PADDING_BYTES);
    fc.assert(
      // A seed, not a 45 KB arbitrary: fast-check would spend minutes shrinking one.
      fc.property(fc.nat(), fc.nat(511), fc.nat(3), fc.nat(31), (seed, client, slot, witness) => {
        const rng = createRng(seed);
        const bytes = new Uint8Array(RUN_ACCOUNT_SIZE);
        for (let i = 0; i < bytes.length; i++) bytes[i] = rng.nextInt(256);
        const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
        const a = decodeRunAccount(bytes);
        const at = (offset: number, length: number) => bytes.slice(offset, offset + length);
        expect([a.magic, a.version, a.state, a.pausePending]).toEqual([v.getBigUint64(0, true), bytes[8], bytes[9], bytes[10] !== 0]);
        expect([a.authority, a.runId, a.configBytes]).toEqual([at(16, 32), at(48, 32), at(80, 336)]);
        expect([a.epoch, a.step, a.dataIndex, a.stateStartTime, a.epochStartTime]).toEqual([
          v.getBigUint64(416, true),
          v.getBigUint64(424, true),
          v.getBigUint64(432, true),
          v.getBigInt64(440, true),
          v.getBigInt64(448, true),
        ]);
        expect([a.seed, a.warmupMix, a.warmupSubmitted]).toEqual([at(456, 32), at(488, 32), at(520, 32)]);
        expect([a.numClients, a.numPending, a.warmupWitnessExpected, a.warmupWitnessesSubmitted, a.roundHead, a.numCheckpoints]).toEqual([
          v.getUint16(552, true),
          v.getUint16(554, true),
          v.getUint16(556, true),
          v.getUint16(558, true),
          v.getUint32(560, true),
          v.getUint32(564, true),
        ]);
        const record = client < 256 ? a.clients[client]! : a.pending[client - 256]!;
        const c = CLIENTS_AT + client * 72;
        expect([record.key, record.chain, record.state]).toEqual([at(c, 32), at(c + 32, 32), bytes[c + 64]]);
        const round = a.rounds[slot]!;
        const r = ROUNDS_AT + slot * 1704;
        expect([round.step, round.dataIndex, round.startTime, round.globalBatch]).toEqual([
          v.getBigUint64(r, true),
          v.getBigUint64(r + 8, true),
          v.getBigInt64(r + 16, true),
          v.getUint32(r + 24, true),
        ]);
        expect([round.numClients, round.witnessExpected, round.witnessesSubmitted, round.agreed]).toEqual([
          v.getUint16(r + 28, true),
          v.getUint16(r + 30, true),
          v.getUint16(r + 32, true),
          bytes[r + 34] !== 0,
        ]);
        expect([round.seed, round.mix, round.submitted, round.agreedRoot, round.votes]).toEqual([at(r + 40, 32), at(r + 72, 32), at(r + 104, 32), at(r + 136, 32), at(r + 168, 256)]);
        expect(round.results[witness]).toEqual({ clientIndex: v.getUint16(r + 424 + witness * 40, true), root: at(r + 432 + witness * 40, 32) });
        const checkpoint = a.checkpoints[slot]!;
        const k = CHECKPOINTS_AT + slot * 208;
        expect(checkpoint).toEqual({ epoch: v.getBigUint64(k, true), step: v.getBigUint64(k + 8, true), hash: at(k + 16, 32), location: at(k + 48, 128), submitter: at(k + 176, 32) });
        // Re-encoding keeps every byte except the padding, which it writes as zeros, and the flags
        // (pausePending, each round's agreed), which it writes as 0 or 1.
        const encoded = encodeRunAccount(a);
        const flags = new Set([10, ...[0, 1, 2, 3].map((s) => ROUNDS_AT + s * 1704 + 34)]);
        let changed = 0;
        for (let i = 0; i < encoded.length; i++) {
          if (flags.has(i)) {
            expect(encoded[i]).toBe(bytes[i] === 0 ? 0 : 1);
            continue;
          }
          if (encoded[i] === bytes[i]) continue;
          expect(encoded[i]).toBe(0);
          changed++;
        }
        expect(changed).toBeLessThanOrEqual(PADDING_BYTES);
      }),
      { numRuns: 20 },
    );
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
    // Random bytes almost never have a valid length: around every fixed size, only the exact one splits.
    const fixed = Object.entries(INSTRUCTION_DATA_LENGTH).map(([d, length]) => [Number(d), length!] as const);
    expect(fixed.length).toBe(12);
    fc.assert(
      fc.property(fc.constantFrom(...fixed), fc.integer({ min: -2, max: 2 }), fc.uint8Array({ minLength: 400, maxLength: 400 }), ([discriminator, length], delta, fill) => {
        const bytes = fill.slice(0, Math.max(0, length + delta));
        if (bytes.length > 0) bytes[0] = discriminator;
        if (delta !== 0) {
          expect(codeOf(() => splitInstructionData(bytes))).toBe(COORDINATOR_MALFORMED_INSTRUCTION);
          return;
        }
        const { discriminator: read, args } = splitInstructionData(bytes);
        expect(read).toBe(discriminator);
        expect(args).toEqual(bytes.subarray(1));
      }),
      { numRuns: RUNS },
    );
    // Discriminators past the last instruction never split, whatever the length.
    fc.assert(
      fc.property(fc.integer({ min: 15, max: 255 }), fc.uint8Array({ maxLength: 400 }), (discriminator, rest) => {
        expect(codeOf(() => splitInstructionData(Uint8Array.from([discriminator, ...rest])))).toBe(COORDINATOR_MALFORMED_INSTRUCTION);
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
    // Each reveal hashes once to the link before it (what the program checks); the last is the secret.
    expect(sha256(first)).toEqual(chain.commitment);
    expect(sha256(second)).toEqual(first);
    expect(sha256(third)).toEqual(second);
    expect(third).toEqual(new Uint8Array(32).fill(1));
    expect(chain.commitment).toEqual(sha256(sha256(sha256(new Uint8Array(32).fill(1)))));
    expect(chain.revealFor(new Uint8Array(32).fill(2))).toBeUndefined();
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
