// The program's Bloom code (programs/coordinator/src/bloom.c) against @psyche/verify, on the real
// SVM: every vector of packages/verify/test-vectors/bloom.json, random filters and items, malformed
// encodings, and the witness path that makes the participant filter load-bearing.
import { readFileSync } from 'node:fs';
import {
  COORDINATOR_PROGRAM_BLOOM_MISMATCH,
  COORDINATOR_PROGRAM_INDEX_OUT_OF_RANGE,
  COORDINATOR_PROGRAM_MALFORMED_BLOOM,
  COORDINATOR_PROGRAM_PARTICIPANT_NOT_IN_BLOOM,
  fromHex,
  isPsycheError,
  sha256,
  toHex,
  utf8Encode,
  VERIFY_BLOOM_PARAMETER_OUT_OF_RANGE,
  VERIFY_MALFORMED_BLOOM,
} from '@psyche/core';
import { bloomIndices, bloomParameters, createWitnessBloom, encodedBloomContains, WitnessBloom } from '@psyche/verify';
import { generateKeyPairSigner, getAddressEncoder, type Address, type KeyPairSigner } from '@solana/kit';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { bloomSizingHeaderSource } from '../bloom-sizing-internal.ts';
import {
  COORDINATOR_PROGRAM_SOURCE_DIR,
  CoordinatorSvm,
  HashChain,
  RunState,
  currentRound,
  decodeRunAccount,
  defaultRunConfig,
  getBloomContainsInstruction,
  getBloomIndicesInstruction,
  getInitializeRunInstruction,
  getJoinRunInstruction,
  getTickInstruction,
  getWitnessInstruction,
  participantBloom,
  participantBloomItem,
  roundBloomSeed,
  witnessIndices,
  type RunAccount,
  type SvmSendResult,
} from '../index.ts';

interface BloomVectors {
  indexVectors: { seed: string; bitCount: number; hashCount: number; item: string; indices: number[] }[];
  filters: { name: string; seed: string; bitCount: number; hashCount: number; members: string[]; encoded: string; probes: { item: string; contains: boolean }[] }[];
  malformed: { name: string; encoded: string }[];
}

const vectors = JSON.parse(readFileSync(new URL('../../../verify/test-vectors/bloom.json', import.meta.url), 'utf8')) as BloomVectors;

/** The program's answer: a boolean, or the error code. */
type ProgramContains = boolean | number;
/** @psyche/verify's answer in the same shape (a malformed filter is the program's 8123). */
function verifyContains(filter: Uint8Array, item: Uint8Array): ProgramContains {
  try {
    return encodedBloomContains(filter, item);
  } catch (e) {
    if (isPsycheError(e, VERIFY_MALFORMED_BLOOM)) return COORDINATOR_PROGRAM_MALFORMED_BLOOM;
    throw e;
  }
}
function verifyIndices(seed: bigint, bitCount: number, hashCount: number, item: Uint8Array): number[] | number {
  try {
    return Array.from(bloomIndices(item, bitCount, hashCount, seed));
  } catch (e) {
    if (isPsycheError(e, VERIFY_BLOOM_PARAMETER_OUT_OF_RANGE)) return COORDINATOR_PROGRAM_MALFORMED_BLOOM;
    throw e;
  }
}

const codeOr = <T,>(result: SvmSendResult, ok: (r: SvmSendResult) => T): T | number => (result.ok ? ok(result) : (result.code ?? -1));
const asIndices = (r: SvmSendResult): number[] => Array.from({ length: r.returnData.length / 4 }, (_, i) => new DataView(r.returnData.buffer, r.returnData.byteOffset).getUint32(4 * i, true));

describe('Bloom filters on chain: the C code answers exactly as @psyche/verify', () => {
  let svm: CoordinatorSvm;
  const programContains = async (filter: Uint8Array, item: Uint8Array): Promise<ProgramContains> =>
    codeOr(await svm.send([getBloomContainsInstruction({ programAddress: svm.programAddress, filter, item })]), (r) => {
      expect(r.returnData.length).toBe(1);
      return r.returnData[0] === 1;
    });
  const programIndices = async (seed: bigint, bitCount: number, hashCount: number, item: Uint8Array): Promise<number[] | number> =>
    codeOr(await svm.send([getBloomIndicesInstruction({ programAddress: svm.programAddress, seed, bitCount, hashCount, item })]), asIndices);

  beforeAll(async () => {
    svm = await CoordinatorSvm.create();
  });

  it('bloom.json indexVectors: the same k indices', async () => {
    expect(vectors.indexVectors.length).toBeGreaterThan(0);
    for (const v of vectors.indexVectors) {
      const got = await programIndices(BigInt(v.seed), v.bitCount, v.hashCount, fromHex(v.item));
      expect(got, `seed ${v.seed} m ${v.bitCount}`).toEqual(v.indices);
    }
  });

  it('bloom.json filters: every member and probe (false positives included) gets the recorded answer', async () => {
    let probes = 0;
    for (const f of vectors.filters) {
      const encoded = fromHex(f.encoded);
      for (const member of f.members) expect(await programContains(encoded, fromHex(member)), `${f.name} member`).toBe(true);
      for (const p of f.probes) {
        expect(await programContains(encoded, fromHex(p.item)), `${f.name} probe ${p.item}`).toBe(p.contains);
        probes++;
      }
    }
    expect(probes).toBeGreaterThan(50);
    // Some recorded probes are false positives: both sides must agree on those too.
    expect(vectors.filters.some((f) => f.probes.some((p) => p.contains && !f.members.includes(p.item)))).toBe(true);
  });

  it('bloom.json malformed: every encoding is rejected with MALFORMED_BLOOM, never a crash', async () => {
    expect(vectors.malformed.length).toBeGreaterThan(5);
    for (const m of vectors.malformed) {
      expect(await programContains(fromHex(m.encoded), sha256(utf8Encode(m.name))), m.name).toBe(COORDINATOR_PROGRAM_MALFORMED_BLOOM);
      expect(verifyContains(fromHex(m.encoded), new Uint8Array(32)), m.name).toBe(COORDINATOR_PROGRAM_MALFORMED_BLOOM);
    }
  });

  it('random filters and items (fast-check): program and TypeScript agree', async () => {
    // Filters up to 4,000 bits and items up to 200 bytes keep the instruction inside one transaction.
    const filterArb = fc.record({
      bitCount: fc.integer({ min: 8, max: 4000 }),
      hashCount: fc.integer({ min: 1, max: 32 }),
      seed: fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }),
      members: fc.array(fc.uint8Array({ minLength: 0, maxLength: 64 }), { maxLength: 40 }),
      probes: fc.array(fc.uint8Array({ minLength: 0, maxLength: 200 }), { minLength: 1, maxLength: 4 }),
    });
    let positives = 0;
    await fc.assert(
      fc.asyncProperty(filterArb, async ({ bitCount, hashCount, seed, members, probes }) => {
        const filter = WitnessBloom.withParameters({ bitCount, hashCount }, seed);
        for (const m of members) filter.add(m);
        const encoded = filter.encode();
        for (const item of [...members.slice(0, 2), ...probes]) {
          const expected = verifyContains(encoded, item);
          positives += expected === true ? 1 : 0;
          expect(await programContains(encoded, item)).toBe(expected);
        }
      }),
      { numRuns: 150, seed: 61 },
    );
    expect(positives).toBeGreaterThan(0);
  });

  it('random probe parameters (fast-check), in and out of range: the same indices or the same error', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }),
        fc.oneof(fc.integer({ min: 8, max: 2 ** 24 }), fc.integer({ min: 0, max: 0xffffffff })),
        fc.integer({ min: 0, max: 40 }),
        fc.uint8Array({ maxLength: 300 }),
        async (seed, bitCount, hashCount, item) => {
          expect(await programIndices(seed, bitCount, hashCount, item)).toEqual(verifyIndices(seed, bitCount, hashCount, item));
        },
      ),
      { numRuns: 150, seed: 62 },
    );
  });

  it('malformed filters (fast-check mutations and raw bytes): rejected by both or answered the same', async () => {
    const base = createWitnessBloom({ expectedItems: 64, seed: 5n });
    for (let i = 0; i < 64; i++) base.add(sha256(Uint8Array.of(i)));
    const valid = base.encode();
    const mutated = fc.oneof(
      fc.tuple(fc.nat({ max: valid.length - 1 }), fc.integer({ min: 0, max: 255 })).map(([at, value]) => {
        const out = valid.slice();
        out[at] = value;
        return out;
      }),
      fc.nat({ max: valid.length + 8 }).map((length) => {
        const out = new Uint8Array(length);
        out.set(valid.subarray(0, Math.min(length, valid.length)));
        return out;
      }),
      fc.uint8Array({ maxLength: 300 }),
      fc.uint8Array({ minLength: 14, maxLength: 300 }).map((bytes) => {
        bytes[0] = 1; // a plausible header over arbitrary sizes
        return bytes;
      }),
    );
    let rejected = 0;
    await fc.assert(
      fc.asyncProperty(mutated, fc.uint8Array({ minLength: 32, maxLength: 32 }), async (filter, item) => {
        const expected = verifyContains(filter, item);
        rejected += expected === COORDINATOR_PROGRAM_MALFORMED_BLOOM ? 1 : 0;
        expect(await programContains(filter, item)).toBe(expected);
      }),
      { numRuns: 200, seed: 63 },
    );
    expect(rejected).toBeGreaterThan(20);
  });

  it("bloom_sizing.h is @psyche/verify's bloomParameters(n, 1%) for every client count", () => {
    expect(readFileSync(`${COORDINATOR_PROGRAM_SOURCE_DIR}/bloom_sizing.h`, 'utf8')).toBe(bloomSizingHeaderSource());
    expect(bloomParameters(256)).toEqual({ bitCount: 2454, hashCount: 7 });
  });
});

describe('witness submissions carry a participant filter the program checks', () => {
  interface Member {
    signer: KeyPairSigner;
    chain: HashChain;
  }
  let svm: CoordinatorSvm;
  let run: Address;
  const members: Member[] = [];
  const state = (): RunAccount => decodeRunAccount(svm.accountData(run)!);
  const memberAt = (s: RunAccount, index: number): Member =>
    members.find((m) => toHex(new Uint8Array(s.clients[index]!.key)) === toHex(keyOf(m)))!;
  const keyOf = (m: Member): Uint8Array => new Uint8Array(getAddressEncoder().encode(m.signer.address));

  beforeAll(async () => {
    svm = await CoordinatorSvm.create();
    const programAddress = svm.programAddress;
    const authority = await generateKeyPairSigner();
    run = (await svm.createRunAccount()).address;
    svm.setUnixTime(1_000n);
    const config = defaultRunConfig({ initMinClients: 5, minClients: 1, witnessNodes: 3, warmupTime: 5, totalSteps: 10n, maxRoundTrainTime: 60 });
    expect((await svm.send([getInitializeRunInstruction({ programAddress, run, authority, runId: sha256(utf8Encode('bloom run')), config })])).ok).toBe(true);
    for (let i = 0; i < 5; i++) {
      const member = { signer: await generateKeyPairSigner(), chain: new HashChain(sha256(Uint8Array.of(i)), 16) };
      members.push(member);
      expect((await svm.send([getJoinRunInstruction({ programAddress, run, client: member.signer, commitment: member.chain.commitment })])).ok).toBe(true);
    }
    await svm.send([getTickInstruction({ programAddress, run })]);
    svm.setUnixTime(1_010n);
    await svm.send([getTickInstruction({ programAddress, run })]);
    expect(state().state).toBe(RunState.RoundTrain);
  });

  async function submit(index: number, participants: number[], filter: Uint8Array): Promise<SvmSendResult> {
    const s = state();
    const m = memberAt(s, index);
    const reveal = m.chain.revealFor(s.clients[index]!.chain)!;
    const submission = { step: currentRound(s).step, clientIndex: index, reveal, participants, resultRoot: new Uint8Array(32).fill(1), participantBloom: filter };
    return svm.send([getWitnessInstruction({ programAddress: svm.programAddress, run, client: m.signer, submission })]);
  }

  it('rejects a malformed, mis-sized, mis-seeded or incomplete filter with its code and leaves the round untouched', async () => {
    const s = state();
    const round = currentRound(s);
    const [witness] = witnessIndices(round.numClients, round.witnessExpected, round.seed);
    const everyone = [0, 1, 2, 3, 4];
    const before = toHex(svm.accountData(run)!);
    const exact = participantBloom(s, everyone);
    const cut = exact.slice();
    cut[0] = 9;
    const expectCode = async (filter: Uint8Array, participants: number[], code: number): Promise<void> => {
      const result = await submit(witness!, participants, filter);
      expect(result.code, result.logs.join('\n')).toBe(code);
      expect(toHex(svm.accountData(run)!)).toBe(before);
    };
    await expectCode(cut, everyone, COORDINATOR_PROGRAM_MALFORMED_BLOOM);
    await expectCode(createWitnessBloom({ expectedItems: 6, seed: roundBloomSeed(round.seed) }).encode(), [], COORDINATOR_PROGRAM_BLOOM_MISMATCH);
    await expectCode(createWitnessBloom({ expectedItems: 5, seed: roundBloomSeed(round.seed) + 1n }).encode(), [], COORDINATOR_PROGRAM_BLOOM_MISMATCH);
    // A participant bit beyond the round's clients is still caught first, by index.
    await expectCode(exact, [...everyone, 5], COORDINATOR_PROGRAM_INDEX_OUT_OF_RANGE);
    // Votes for a client its filter leaves out (one whose SHA-256(key) is not a false positive of that filter).
    const omitted = everyone.find((o) => !encodedBloomContains(participantBloom(s, everyone.filter((i) => i !== o)), participantBloomItem(s.clients[o]!.key)));
    expect(omitted).toBeDefined();
    await expectCode(participantBloom(s, everyone.filter((i) => i !== omitted)), everyone, COORDINATOR_PROGRAM_PARTICIPANT_NOT_IN_BLOOM);
  });

  it('accepts the exact filter; votes follow the bitmap, so extra filter members gain nothing', async () => {
    const s = state();
    const round = currentRound(s);
    const [first, second] = witnessIndices(round.numClients, round.witnessExpected, round.seed);
    expect((await submit(first!, [0, 1, 2], participantBloom(s, [0, 1, 2]))).ok).toBe(true);
    // The filter may hold more than the bitmap votes for (it is what the witness gossips).
    expect((await submit(second!, [0, 1], participantBloom(s, [0, 1, 2, 3, 4]))).ok).toBe(true);
    expect(Array.from(currentRound(state()).votes.subarray(0, 5))).toEqual([2, 2, 1, 0, 0]);
  });
});
