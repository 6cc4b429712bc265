import { createRng } from '@psyche/core';
import { createWitnessBloom } from '@psyche/verify';
import {
  COORDINATOR_PROGRAM_INVALID_INSTRUCTION,
  COORDINATOR_PROGRAM_MISSING_SIGNER,
  COORDINATOR_PROGRAM_NOT_ENOUGH_ACCOUNTS,
  COORDINATOR_PROGRAM_NOT_WRITABLE,
  COORDINATOR_PROGRAM_WRONG_ACCOUNT_SIZE,
  COORDINATOR_PROGRAM_WRONG_OWNER,
} from '@psyche/core';
import { AccountRole, address, generateKeyPairSigner, type AccountMeta, type Address, type KeyPairSigner } from '@solana/kit';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  CoordinatorInstruction,
  CoordinatorSvm,
  HashChain,
  instructionDataLengthOk,
  RUN_ACCOUNT_SIZE,
  RunState,
  decodeRunAccount,
  defaultRunConfig,
  encodeInstructionData,
  getInitializeRunInstruction,
  getJoinRunInstruction,
  getTickInstruction,
} from '../index.ts';

const SYSTEM_PROGRAM = address('11111111111111111111111111111111');

// One well-formed data buffer per instruction (contents matter little: account checks come first).
const validData: Record<number, Uint8Array> = {
  [CoordinatorInstruction.Initialize]: encodeInstructionData.initialize(new Uint8Array(32), defaultRunConfig()),
  [CoordinatorInstruction.UpdateConfig]: encodeInstructionData.updateConfig(defaultRunConfig()),
  [CoordinatorInstruction.Join]: encodeInstructionData.join(new Uint8Array(32).fill(1)),
  [CoordinatorInstruction.Withdraw]: encodeInstructionData.withdraw(),
  [CoordinatorInstruction.Kick]: encodeInstructionData.kick(new Uint8Array(32)),
  [CoordinatorInstruction.Pause]: encodeInstructionData.pause(),
  [CoordinatorInstruction.Resume]: encodeInstructionData.resume(),
  [CoordinatorInstruction.Tick]: encodeInstructionData.tick(),
  [CoordinatorInstruction.WarmupWitness]: encodeInstructionData.warmupWitness(0, new Uint8Array(32)),
  [CoordinatorInstruction.Witness]: encodeInstructionData.witness({ step: 1n, clientIndex: 0, reveal: new Uint8Array(32), participants: [0], resultRoot: new Uint8Array(32), participantBloom: createWitnessBloom({ expectedItems: 3, seed: 0n }).encode() }),
  [CoordinatorInstruction.Checkpoint]: encodeInstructionData.checkpoint(0, new Uint8Array(32), new Uint8Array(128)),
  [CoordinatorInstruction.Assignment]: encodeInstructionData.assignment(0),
};
const needsSigner = (ix: number): boolean => ix !== CoordinatorInstruction.Tick && ix !== CoordinatorInstruction.Assignment;

describe('every instruction rejects hostile accounts and data with a clear error, leaving state untouched', () => {
  let svm: CoordinatorSvm;
  let run: Address;
  let authority: KeyPairSigner;
  let foreign: Address;
  let short: Address;

  beforeAll(async () => {
    svm = await CoordinatorSvm.create();
    authority = await generateKeyPairSigner();
    run = (await svm.createRunAccount()).address;
    const programAddress = svm.programAddress;
    svm.setUnixTime(1_000n);
    expect((await svm.send([getInitializeRunInstruction({ programAddress, run, authority, runId: new Uint8Array(32).fill(9), config: defaultRunConfig({ initMinClients: 2 }) })])).ok).toBe(true);
    for (let i = 0; i < 3; i++) {
      const client = await generateKeyPairSigner();
      expect((await svm.send([getJoinRunInstruction({ programAddress, run, client, commitment: new HashChain(new Uint8Array(32).fill(i + 1), 4).commitment })])).ok).toBe(true);
    }
    await svm.send([getTickInstruction({ programAddress, run })]);
    svm.setUnixTime(2_000n);
    await svm.send([getTickInstruction({ programAddress, run })]);
    expect(decodeRunAccount(svm.accountData(run)!).state).toBe(RunState.RoundTrain);
    foreign = (await generateKeyPairSigner()).address;
    svm.svm.setAccount({ address: foreign, data: new Uint8Array(RUN_ACCOUNT_SIZE), executable: false, lamports: 10n ** 9n, programAddress: SYSTEM_PROGRAM, space: BigInt(RUN_ACCOUNT_SIZE) } as never);
    short = (await generateKeyPairSigner()).address;
    svm.svm.setAccount({ address: short, data: new Uint8Array(RUN_ACCOUNT_SIZE - 1), executable: false, lamports: 10n ** 9n, programAddress: svm.programAddress, space: BigInt(RUN_ACCOUNT_SIZE - 1) } as never);
  });

  async function expectRejected(accounts: AccountMeta[], data: Uint8Array, code: number, message: string): Promise<void> {
    const before = svm.accountData(run)!;
    const result = await svm.send([{ programAddress: svm.programAddress, accounts, data }]);
    expect(result.ok).toBe(false);
    expect(result.code, result.logs.join('\n')).toBe(code);
    expect(result.logs.join('\n')).toContain(message);
    expect(Buffer.from(svm.accountData(run)!).equals(Buffer.from(before))).toBe(true);
  }

  const runMeta = (account: Address, writable = true): AccountMeta => ({ address: account, role: writable ? AccountRole.WRITABLE : AccountRole.READONLY });
  const signerMeta = (signer: KeyPairSigner, signs = true): AccountMeta =>
    (signs ? { address: signer.address, role: AccountRole.READONLY_SIGNER, signer } : { address: signer.address, role: AccountRole.READONLY }) as AccountMeta;

  for (const [ixText, data] of Object.entries(validData)) {
    const ix = Number(ixText);
    const name = Object.entries(CoordinatorInstruction).find(([, v]) => v === ix)![0];
    const withSigner = (first: AccountMeta, signs = true): AccountMeta[] => (needsSigner(ix) ? [first, signerMeta(authority, signs)] : [first]);

    it(`${name}: missing accounts, wrong owner, short account, read-only, missing signature, wrong data length`, async () => {
      await expectRejected([], data, COORDINATOR_PROGRAM_NOT_ENOUGH_ACCOUNTS, 'not enough accounts');
      if (needsSigner(ix)) await expectRejected([runMeta(run)], data, COORDINATOR_PROGRAM_NOT_ENOUGH_ACCOUNTS, 'not enough accounts');
      await expectRejected(withSigner(runMeta(foreign)), data, COORDINATOR_PROGRAM_WRONG_OWNER, 'not owned by this program');
      await expectRejected(withSigner(runMeta(short)), data, COORDINATOR_PROGRAM_WRONG_ACCOUNT_SIZE, 'wrong size');
      if (ix !== CoordinatorInstruction.Assignment) await expectRejected(withSigner(runMeta(run, false)), data, COORDINATOR_PROGRAM_NOT_WRITABLE, 'must be writable');
      if (needsSigner(ix)) await expectRejected(withSigner(runMeta(run), false), data, COORDINATOR_PROGRAM_MISSING_SIGNER, 'missing signature');
      await expectRejected(withSigner(runMeta(run)), data.subarray(0, data.length - 1), COORDINATOR_PROGRAM_INVALID_INSTRUCTION, data.length === 1 ? 'empty instruction data' : 'wrong data length');
      const longer = new Uint8Array(data.length + 1);
      longer.set(data);
      await expectRejected(withSigner(runMeta(run)), longer, COORDINATOR_PROGRAM_INVALID_INSTRUCTION, 'wrong data length');
    });
  }

  it('random bytes of random lengths: unknown instructions and wrong lengths are rejected, nothing changes', async () => {
    const rng = createRng(7);
    for (let i = 0; i < 150; i++) {
      const length = rng.nextInt(3) === 0 ? 0 : 1 + rng.nextInt(400);
      const bytes = new Uint8Array(length);
      for (let j = 0; j < length; j++) bytes[j] = rng.nextInt(256);
      if (length > 0 && instructionDataLengthOk(bytes)) bytes[0] = 200; // keep it malformed
      await expectRejected([runMeta(run), signerMeta(authority)], bytes, COORDINATOR_PROGRAM_INVALID_INSTRUCTION, length === 0 ? 'empty instruction data' : 'unknown instruction or wrong data length');
    }
  });
});
