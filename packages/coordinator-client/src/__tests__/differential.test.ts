import { createRng, bytesEqual, toHex, type Rng } from '@psyche/core';
import { bloomParameters, createWitnessBloom } from '@psyche/verify';
import { AccountRole, address, generateKeyPairSigner, getAddressDecoder, getAddressEncoder, type AccountMeta, type Instruction, type KeyPairSigner } from '@solana/kit';
import { describe, expect, it } from 'vitest';
import {
  AUTHORITY_INDEX,
  ClientState,
  CoordinatorInstruction,
  CoordinatorModel,
  CoordinatorSvm,
  HashChain,
  INSTRUCTION_DATA_LENGTH,
  RUN_ACCOUNT_SIZE,
  RunState,
  currentRound,
  defaultRunConfig,
  encodeInstructionData,
  participantBloom,
  participantBloomItem,
  roundBloomSeed,
  witnessIndices,
  type RunAccount,
  type RunConfig,
} from '../index.ts';

const TOTAL = Number(process.env.DIFFERENTIAL_INSTRUCTIONS ?? 10_000);
const SYSTEM_PROGRAM = address('11111111111111111111111111111111');

const keyBytes = (a: string): Uint8Array => new Uint8Array(getAddressEncoder().encode(address(a)));

interface Member {
  signer: KeyPairSigner;
  key: Uint8Array;
  chain: HashChain;
}

/** How the instruction's run slot and signer slot are presented: the normal case, or one broken property. */
type Variant = 'ok' | 'not-signer' | 'readonly-run' | 'wrong-owner' | 'short-account' | 'no-accounts';

describe('program vs reference model (differential)', () => {
  it(`gives identical state and codes over ${TOTAL} random instructions, hostile ones included`, async () => {
    const svm = await CoordinatorSvm.create();
    const rng = createRng(20261121);
    const authority = await generateKeyPairSigner();
    const members: Member[] = [];
    for (let i = 0; i < 14; i++) {
      const signer = await generateKeyPairSigner();
      members.push({ signer, key: keyBytes(signer.address), chain: new HashChain(randomBytes(rng, 32), 64) });
    }
    let run = (await svm.createRunAccount()).address;
    // Accounts that look like the run account but are not: foreign owner, wrong size.
    const foreign = await generateKeyPairSigner();
    svm.svm.setAccount({ address: foreign.address, data: new Uint8Array(RUN_ACCOUNT_SIZE), executable: false, lamports: 10n ** 9n as never, programAddress: SYSTEM_PROGRAM, space: BigInt(RUN_ACCOUNT_SIZE) } as never);
    const short = await generateKeyPairSigner();
    svm.svm.setAccount({ address: short.address, data: new Uint8Array(1000), executable: false, lamports: 10n ** 9n as never, programAddress: svm.programAddress, space: 1000n } as never);

    let model = new CoordinatorModel();
    let now = 1_700_000_000n;
    const stats = new Map<string, number>();
    const count = (k: string) => stats.set(k, (stats.get(k) ?? 0) + 1);

    const config = (overrides: Partial<RunConfig> = {}): RunConfig =>
      defaultRunConfig({
        totalSteps: 40n,
        batchRampSteps: 5n,
        globalBatchStart: 8,
        globalBatchEnd: 20,
        warmupTime: 10,
        maxRoundTrainTime: 10,
        roundWitnessTime: 3,
        cooldownTime: 5,
        epochTime: 60,
        initMinClients: 3,
        minClients: 2,
        witnessNodes: 3,
        modelLocation: 'hf://psyche/tiny',
        dataLocation: 'file:///data/tokens.bin',
        ...overrides,
      });

    async function run1(data: Uint8Array, signer: KeyPairSigner | undefined, variant: Variant, label: string, approver?: { signer: KeyPairSigner; signs: boolean }): Promise<void> {
      const runAddress = variant === 'wrong-owner' ? foreign.address : variant === 'short-account' ? short.address : run;
      const accounts: AccountMeta[] = [];
      if (variant !== 'no-accounts') {
        accounts.push({ address: runAddress, role: variant === 'readonly-run' ? AccountRole.READONLY : AccountRole.WRITABLE });
        if (signer) {
          accounts.push(
            variant === 'not-signer'
              ? { address: signer.address, role: AccountRole.READONLY }
              : ({ address: signer.address, role: AccountRole.READONLY_SIGNER, signer } as AccountMeta),
          );
          if (approver) {
            accounts.push(
              approver.signs
                ? ({ address: approver.signer.address, role: AccountRole.READONLY_SIGNER, signer: approver.signer } as AccountMeta)
                : { address: approver.signer.address, role: AccountRole.READONLY },
            );
          }
        }
      }
      const instruction: Instruction = { programAddress: svm.programAddress, accounts, data };
      svm.setUnixTime(now);
      const result = await svm.send([instruction]);
      const expected = model.apply({
        data,
        numAccounts: accounts.length,
        runOwnedByProgram: variant !== 'wrong-owner',
        runSize: variant === 'short-account' ? 1000 : RUN_ACCOUNT_SIZE,
        runWritable: variant !== 'readonly-run',
        ...(signer ? { signerKey: keyBytes(signer.address) } : {}),
        signerIsSigner: variant !== 'not-signer',
        ...(approver && signer && variant !== 'no-accounts' ? { approverKey: keyBytes(approver.signer.address), approverIsSigner: approver.signs } : {}),
        now,
      });
      const context = `${label} (${variant}) at #${stats.get('total') ?? 0}: program ${result.ok ? 'ok' : `${result.code} ${result.error}`} ${result.logs.slice(-3).join(' | ')}, model ${expected.code}`;
      expect(result.ok ? 0 : result.code, context).toBe(expected.code);
      if (expected.returnData) expect(toHex(result.returnData), context).toBe(toHex(expected.returnData));
      const onChain = svm.accountData(run)!;
      if (!bytesEqual(onChain, model.encode())) {
        const encoded = model.encode();
        const first = onChain.findIndex((b, i) => b !== encoded[i]);
        expect.fail(`${context}: accounts differ first at byte ${first}`);
      }
      count('total');
      count(expected.code === 0 ? `ok ${label}` : `err ${expected.code}`);
    }

    const pick = <T,>(items: readonly T[]): T => items[rng.nextInt(items.length)]!;
    const memberAt = (key: Uint8Array): Member | undefined => members.find((m) => bytesEqual(m.key, key));
    const variantFor = (): Variant => (rng.nextInt(10) === 0 ? pick<Variant>(['not-signer', 'readonly-run', 'wrong-owner', 'short-account', 'no-accounts']) : 'ok');

    // A fresh run (after hostile attempts on the empty account) at the start and whenever one finishes.
    async function freshRun(): Promise<void> {
      run = (await svm.createRunAccount()).address;
      model = new CoordinatorModel();
      await run1(encodeInstructionData.tick(), undefined, 'ok', 'tick-uninitialized');
      await run1(encodeInstructionData.initialize(new Uint8Array(32).fill(7), config({ witnessNodes: 0 })), authority, 'ok', 'initialize-invalid');
      await run1(encodeInstructionData.initialize(randomBytes(rng, 32), config()), authority, 'ok', 'initialize');
      expect(model.state.state).toBe(RunState.WaitingForMembers);
      count('runs');
    }
    await freshRun();

    while ((stats.get('total') ?? 0) < TOTAL) {
      if (model.state.state === RunState.Finished && rng.nextInt(20) === 0) {
        count('finished');
        await freshRun();
      }
      const state = model.state;
      // Lean towards the actions the current state can accept, so every phase is exercised.
      const focus: Record<number, [number, number]> = { [RunState.Warmup]: [51, 60], [RunState.RoundTrain]: [60, 78], [RunState.RoundWitness]: [60, 78], [RunState.Cooldown]: [78, 81] };
      const range = focus[state.state];
      const roll = range && rng.nextInt(2) === 0 ? range[0] + rng.nextInt(range[1] - range[0]) : rng.nextInt(100);
      now += BigInt(rng.nextInt(3) === 0 ? rng.nextInt(12) : 0);
      if (roll < 30) {
        await run1(encodeInstructionData.tick(), undefined, rng.nextInt(20) === 0 ? 'readonly-run' : 'ok', 'tick');
      } else if (roll < 42) {
        const m = pick(members);
        const fresh = rng.nextInt(2) === 0;
        if (fresh) m.chain = new HashChain(randomBytes(rng, 32), 64);
        // Permissioned runs: the authority co-signs (or an impostor does, or nobody signs).
        const approval = rng.nextInt(3);
        // (Never the joining client itself: kit merges duplicate accounts into one, which the model does not describe.)
        const impostor = pick(members.filter((x) => x !== m)).signer;
        const approver = approval === 0 ? undefined : { signer: rng.nextInt(5) === 0 ? impostor : authority, signs: rng.nextInt(6) !== 0 };
        await run1(encodeInstructionData.join(m.chain.commitment), m.signer, variantFor(), 'join', approver);
      } else if (roll < 46) {
        await run1(encodeInstructionData.withdraw(), pick(members).signer, variantFor(), 'withdraw');
      } else if (roll < 48) {
        const signer = rng.nextInt(4) === 0 ? pick(members).signer : authority;
        await run1(encodeInstructionData.kick(pick(members).key), signer, variantFor(), 'kick');
      } else if (roll < 51 && rng.nextInt(3) === 0) {
        const signer = rng.nextInt(4) === 0 ? pick(members).signer : authority;
        await run1(rng.nextInt(2) ? encodeInstructionData.pause() : encodeInstructionData.resume(), signer, variantFor(), 'pause/resume');
      } else if (roll < 60 && roll >= 51) {
        // Warmup witness: usually a real witness with its correct reveal; sometimes a wrong one.
        const witnesses = state.numClients > 0 ? witnessIndices(state.numClients, state.warmupWitnessExpected, state.seed) : [];
        const index = witnesses.length && rng.nextInt(4) ? pick(witnesses) : rng.nextInt(Math.max(1, state.numClients + 2));
        const client = state.clients[index];
        const m = client ? memberAt(client.key) : undefined;
        const reveal = m && rng.nextInt(6) ? (m.chain.revealFor(client!.chain) ?? randomBytes(rng, 32)) : randomBytes(rng, 32);
        await run1(encodeInstructionData.warmupWitness(index, reveal), m?.signer ?? pick(members).signer, variantFor(), 'warmup-witness');
      } else if (roll < 78) {
        const round = currentRound(state);
        const n = round.numClients;
        const witnesses = n > 0 ? witnessIndices(n, round.witnessExpected, round.seed) : [];
        const index = witnesses.length && rng.nextInt(5) ? pick(witnesses) : rng.nextInt(Math.max(1, n + 2));
        const client = state.clients[index];
        const m = client ? memberAt(client.key) : undefined;
        const reveal = m && rng.nextInt(8) ? (m.chain.revealFor(client!.chain) ?? randomBytes(rng, 32)) : randomBytes(rng, 32);
        // Usually everyone seen; sometimes a random subset (drives health-check drops).
        const participants = Array.from({ length: n }, (_, i) => i).filter(() => rng.nextInt(6) !== 0);
        const root = new Uint8Array(32).fill(rng.nextInt(5) === 0 ? 2 : 1);
        const step = rng.nextInt(15) === 0 ? round.step + 1n : round.step;
        const [filterKind, filter] = witnessFilter(rng, state, participants);
        count(`witness filter ${filterKind}`);
        await run1(encodeInstructionData.witness({ step, clientIndex: index, reveal, participants, resultRoot: root, participantBloom: filter }), m?.signer ?? pick(members).signer, variantFor(), 'witness');
      } else if (roll < 81) {
        const byAuthority = rng.nextInt(3) === 0;
        const index = byAuthority ? AUTHORITY_INDEX : rng.nextInt(Math.max(1, state.numClients + 1));
        const m = state.clients[index] ? memberAt(state.clients[index]!.key) : undefined;
        const location = new Uint8Array(128).fill(0x61);
        await run1(encodeInstructionData.checkpoint(index, randomBytes(rng, 32), location), byAuthority ? authority : (m?.signer ?? pick(members).signer), variantFor(), 'checkpoint');
      } else if (roll < 84) {
        const invalid = rng.nextInt(3) === 0;
        const c = config({ totalSteps: BigInt(20 + rng.nextInt(40)), minClients: invalid ? 0 : 2, witnessNodes: 1 + rng.nextInt(5), joinRequiresAuthority: rng.nextInt(3) === 0 });
        await run1(encodeInstructionData.updateConfig(c), rng.nextInt(5) ? authority : pick(members).signer, variantFor(), 'update-config');
      } else if (roll < 88) {
        await run1(encodeInstructionData.assignment(rng.nextInt(Math.max(1, state.numClients + 1))), undefined, 'ok', 'assignment');
      } else if (roll < 90) {
        const count = 1 + rng.nextInt(300);
        await run1(encodeInstructionData.shuffle(randomBytes(rng, 32), count, rng.nextInt(count + 1)), undefined, 'ok', 'shuffle');
      } else {
        // Hostile data: random bytes of random length, or a valid discriminator with random content.
        const discriminator = rng.nextInt(16);
        const length = rng.nextInt(2) ? (INSTRUCTION_DATA_LENGTH[discriminator as CoordinatorInstruction] ?? rng.nextInt(400)) : rng.nextInt(400);
        const data = randomBytes(rng, length);
        if (length > 0) data[0] = discriminator;
        await run1(data, rng.nextInt(2) ? authority : pick(members).signer, variantFor(), 'hostile');
      }
    }
    const reached = [...stats.entries()].sort();
    console.log('differential coverage', Object.fromEntries(reached));
    // The run must have actually trained, witnessed, dropped and finished along the way.
    expect(stats.get('ok witness') ?? 0).toBeGreaterThan(50);
    // Each Bloom rejection reached the program (and agreed with the model) along the way.
    expect(stats.get('err 8123') ?? 0).toBeGreaterThan(0);
    expect(stats.get('err 8124') ?? 0).toBeGreaterThan(0);
    expect(stats.get('err 8125') ?? 0).toBeGreaterThan(0);
    expect(stats.get('ok warmup-witness') ?? 0).toBeGreaterThan(5);
    expect(stats.get('ok checkpoint') ?? 0).toBeGreaterThan(1);
    if (TOTAL >= 10_000) expect(stats.get('finished') ?? 0).toBeGreaterThan(0);
    void ClientState;
    void getAddressDecoder;
  }, 600_000);
});

/**
 * A witness's participant filter: usually the right one; sometimes missing a participant, seeded or
 * sized for something else, filled with random bits, or not canonical at all.
 */
function witnessFilter(rng: Rng, state: RunAccount, participants: number[]): [string, Uint8Array] {
  const round = currentRound(state);
  const n = Math.max(1, round.numClients);
  const roll = rng.nextInt(24);
  if (roll >= 8) return ['exact', participantBloom(state, participants)];
  if (roll <= 1 && participants.length > 0) {
    return ['missing-participant', participantBloom(state, participants.filter((_, i) => i !== rng.nextInt(participants.length)))];
  }
  if (roll === 2) {
    const filter = createWitnessBloom({ expectedItems: n, seed: roundBloomSeed(round.seed) ^ BigInt(1 + rng.nextInt(255)) });
    for (const i of participants) filter.add(participantBloomItem(state.clients[i]!.key));
    return ['wrong-seed', filter.encode()];
  }
  if (roll === 3) return ['wrong-size', createWitnessBloom({ expectedItems: 1 + ((n + rng.nextInt(10)) % 256), seed: roundBloomSeed(round.seed) }).encode()];
  if (roll <= 5) {
    // The right header over random bits: membership answers are whatever the bits say, on both sides.
    const encoded = participantBloom(state, []);
    const { bitCount } = bloomParameters(n);
    for (let i = 14; i < encoded.length; i++) encoded[i] = rng.nextInt(3) ? 0xff : rng.nextInt(256);
    if (bitCount % 8) encoded[encoded.length - 1]! &= (1 << (bitCount % 8)) - 1;
    return ['random-bits', encoded];
  }
  // Not canonical: a header byte changed, a padding bit set, or cut (then the length check fails).
  const encoded = participantBloom(state, participants);
  const corruption = rng.nextInt(4);
  if (corruption === 0) encoded[0] = 2;
  else if (corruption === 1) encoded[1] = rng.nextInt(2) ? 0 : 33;
  else if (corruption === 2 && bloomParameters(n).bitCount % 8) encoded[encoded.length - 1]! |= 0x80;
  else return ['truncated', encoded.subarray(0, rng.nextInt(encoded.length))];
  return ['malformed', encoded];
}

function randomBytes(rng: Rng, n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = rng.nextInt(256);
  return out;
}
