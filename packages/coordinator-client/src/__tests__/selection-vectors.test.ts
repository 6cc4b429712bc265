import { readFileSync } from 'node:fs';
import { fromHex, swapOrNotIndex } from '@psyche/core';
import { address, generateKeyPairSigner } from '@solana/kit';
import { describe, expect, it } from 'vitest';
import {
  CoordinatorSvm,
  RUN_ACCOUNT_SIZE,
  RUN_MAGIC,
  RUN_VERSION,
  RunState,
  dataAssignment,
  emptyRunAccount,
  encodeRunAccount,
  getAssignmentInstruction,
  getShuffleInstruction,
  globalBatchForStep,
  isWitness,
  nextSeed,
  witnessQuorum,
} from '../index.ts';

interface Vectors {
  shuffle: { seed: string; count: number; index: number; result: number }[];
  quorum: { witnesses: number; quorum: number }[];
  ramp: { globalBatchStart: number; globalBatchEnd: number; batchRampSteps: number };
  batches: { step: number; globalBatch: number }[];
  round: { seed: string; numClients: number; globalBatch: number; dataIndex: number; witnessExpected: number };
  assignments: { index: number; start: number; end: number; witness: boolean }[];
  seeds: { seed: string; mix: string; step: number; next: string }[];
}

const vectors = JSON.parse(readFileSync(new URL('../../test-vectors/selection.json', import.meta.url), 'utf8')) as Vectors;

/** A run account whose current round is given, planted directly so the program's view answers for it. */
async function plantRound(svm: CoordinatorSvm, round: { seed: Uint8Array; numClients: number; globalBatch: number; dataIndex: bigint; witnessExpected: number }) {
  const account = emptyRunAccount();
  account.magic = RUN_MAGIC;
  account.version = RUN_VERSION;
  account.state = RunState.RoundTrain;
  account.numClients = round.numClients;
  Object.assign(account.rounds[0]!, { step: 1n, seed: round.seed, numClients: round.numClients, globalBatch: round.globalBatch, dataIndex: round.dataIndex, witnessExpected: round.witnessExpected });
  const run = (await generateKeyPairSigner()).address;
  svm.svm.setAccount({ address: run, data: encodeRunAccount(account), executable: false, lamports: 10n ** 9n, programAddress: svm.programAddress, space: BigInt(RUN_ACCOUNT_SIZE) } as never);
  return run;
}

async function viewAssignment(svm: CoordinatorSvm, run: ReturnType<typeof address>, clientIndex: number) {
  const result = await svm.send([getAssignmentInstruction({ programAddress: svm.programAddress, run, clientIndex })]);
  expect(result.ok, result.logs.join('\n')).toBe(true);
  const view = new DataView(result.returnData.buffer, result.returnData.byteOffset, 17);
  return { witness: result.returnData[0] === 1, start: view.getBigUint64(1, true), end: view.getBigUint64(9, true) };
}

describe('shared selection vectors (test-vectors/selection.json)', () => {
  it('the TypeScript helpers reproduce every vector', () => {
    for (const v of vectors.shuffle) expect(swapOrNotIndex(v.index, v.count, fromHex(v.seed))).toBe(v.result);
    for (const v of vectors.quorum) expect(witnessQuorum(v.witnesses)).toBe(v.quorum);
    expect(vectors.quorum.slice(1, 5).map((v) => v.quorum)).toEqual([1, 2, 2, 2]); // Psyche: 1→1, 2→2, 3→2, 4→⌊8/3⌋
    const ramp = { ...vectors.ramp, batchRampSteps: BigInt(vectors.ramp.batchRampSteps) };
    for (const v of vectors.batches) expect(globalBatchForStep(ramp, BigInt(v.step))).toBe(v.globalBatch);
    const round = { ...vectors.round, seed: fromHex(vectors.round.seed), dataIndex: BigInt(vectors.round.dataIndex) };
    for (const v of vectors.assignments) {
      expect(dataAssignment(round, v.index)).toEqual({ start: BigInt(v.start), end: BigInt(v.end) });
      expect(isWitness(v.index, round.numClients, round.witnessExpected, round.seed)).toBe(v.witness);
    }
    for (const v of vectors.seeds) expect(Buffer.from(nextSeed(fromHex(v.seed), fromHex(v.mix), BigInt(v.step))).toString('hex')).toBe(v.next);
  });

  it('the program reproduces the shuffle, assignment and witness vectors', async () => {
    const svm = await CoordinatorSvm.create();
    for (const v of vectors.shuffle) {
      const result = await svm.send([getShuffleInstruction({ programAddress: svm.programAddress, seed: fromHex(v.seed), count: v.count, index: v.index })]);
      expect(result.ok, result.logs.join('\n')).toBe(true);
      expect(new DataView(result.returnData.buffer, result.returnData.byteOffset, 4).getUint32(0, true), `${v.count}/${v.index}`).toBe(v.result);
    }
    const run = await plantRound(svm, { ...vectors.round, seed: fromHex(vectors.round.seed), dataIndex: BigInt(vectors.round.dataIndex) });
    for (const v of vectors.assignments) {
      expect(await viewAssignment(svm, run, v.index)).toEqual({ witness: v.witness, start: BigInt(v.start), end: BigInt(v.end) });
    }
  });

  it('with 256 clients the program and the client agree, and the intervals tile the global batch', async () => {
    const svm = await CoordinatorSvm.create();
    const round = { seed: fromHex(vectors.seeds[0]!.next), numClients: 256, globalBatch: 1000, dataIndex: 123_456n, witnessExpected: 32 };
    const run = await plantRound(svm, round);
    const intervals = Array.from({ length: 256 }, (_, i) => dataAssignment(round, i)).sort((a, b) => Number(a.start - b.start));
    expect(intervals[0]!.start).toBe(round.dataIndex);
    for (let i = 1; i < 256; i++) expect(intervals[i]!.start).toBe(intervals[i - 1]!.end);
    expect(intervals[255]!.end).toBe(round.dataIndex + 1000n);
    let witnesses = 0;
    for (let index = 0; index < 256; index += 5) {
      const onChain = await viewAssignment(svm, run, index);
      const local = dataAssignment(round, index);
      expect(onChain).toEqual({ witness: isWitness(index, 256, 32, round.seed), start: local.start, end: local.end });
      witnesses += onChain.witness ? 1 : 0;
    }
    expect(witnesses).toBeGreaterThan(0);
  });
});
