// A full run at the program's limits, driven straight through LiteSVM: 256 clients, 32 witnesses,
// warmup witnesses, rounds with every witness reporting, cooldown with a checkpoint, worst cases
// (the 256th join scans 255 keys, a kick in a full run, a round end that compacts 256 clients).
// Used by the compute-unit test (bar: every instruction < 200,000 CU) and by the benchmark.
import { sha256 } from '@psyche/core';
import { createWitnessBloom } from '@psyche/verify';
import { getAddressEncoder, generateKeyPairSigner, type KeyPairSigner } from '@solana/kit';
import {
  AUTHORITY_INDEX,
  CoordinatorSvm,
  HashChain,
  RunState,
  currentRound,
  decodeRunAccount,
  defaultRunConfig,
  getAssignmentInstruction,
  getBloomContainsInstruction,
  getBloomIndicesInstruction,
  getCheckpointInstruction,
  getInitializeRunInstruction,
  getJoinRunInstruction,
  getKickInstruction,
  getPauseInstruction,
  getResumeInstruction,
  getShuffleInstruction,
  getTickInstruction,
  getWarmupWitnessInstruction,
  getWithdrawInstruction,
  getWitnessInstruction,
  participantBloom,
  witnessIndices,
  type RunAccount,
} from '../index.ts';

export interface ComputeUnitFigures {
  /** instruction name → compute units of every execution */
  readonly samples: ReadonlyMap<string, bigint[]>;
}

interface Member {
  signer: KeyPairSigner;
  chain: HashChain;
}

export async function runFullScenario(options: { clients?: number; rounds?: number } = {}): Promise<ComputeUnitFigures> {
  const clientCount = options.clients ?? 256;
  const rounds = options.rounds ?? 3;
  const svm = await CoordinatorSvm.create();
  const samples = new Map<string, bigint[]>();
  const programAddress = svm.programAddress;
  let now = 1_700_000_000n;

  async function exec(name: string, instruction: Parameters<CoordinatorSvm['send']>[0][number]): Promise<void> {
    svm.setUnixTime(now);
    const result = await svm.send([instruction]);
    if (!result.ok) throw new Error(`${name} failed: ${result.error}\n${result.logs.join('\n')}`);
    const list = samples.get(name) ?? [];
    list.push(result.computeUnits);
    samples.set(name, list);
  }

  const authority = await generateKeyPairSigner();
  const run = (await svm.createRunAccount()).address;
  const state = (): RunAccount => decodeRunAccount(svm.accountData(run)!);
  const config = defaultRunConfig({
    totalSteps: BigInt(rounds),
    globalBatchStart: 512,
    globalBatchEnd: 1024,
    batchRampSteps: 2n,
    initMinClients: clientCount,
    minClients: 1,
    witnessNodes: 32,
    warmupTime: 100,
    maxRoundTrainTime: 100,
    roundWitnessTime: 5,
    cooldownTime: 10,
    epochTime: 100_000,
  });
  await exec('initialize', getInitializeRunInstruction({ programAddress, run, authority, runId: new Uint8Array(32).fill(1), config }));

  await exec('shuffle (view, 256)', getShuffleInstruction({ programAddress, seed: new Uint8Array(32).fill(5), count: 256, index: 255 }));
  // Bloom views at their widest: a 256-member witness filter (a member: all 7 probes read), and 32 probes of a 512-byte item.
  const wide = createWitnessBloom({ expectedItems: 256, seed: 7n });
  for (let i = 0; i < 256; i++) wide.add(sha256(Uint8Array.of(i, i >> 8)));
  await exec('bloom contains (view, 256-member filter)', getBloomContainsInstruction({ programAddress, filter: wide.encode(), item: sha256(Uint8Array.of(3, 0)) }));
  await exec('bloom indices (view, k = 32, 512-byte item)', getBloomIndicesInstruction({ programAddress, seed: 7n, bitCount: 2 ** 24, hashCount: 32, item: new Uint8Array(512).fill(1) }));

  const members: Member[] = [];
  for (let i = 0; i < clientCount; i++) {
    const signer = await generateKeyPairSigner();
    const secret = new Uint8Array(32);
    new DataView(secret.buffer).setUint32(0, i);
    members.push({ signer, chain: new HashChain(secret, 16) });
    await exec('join', getJoinRunInstruction({ programAddress, run, client: signer, commitment: members[i]!.chain.commitment }));
  }
  // Worst-case withdraw and kick: search a full pending list, then rejoin.
  const last = members[clientCount - 1]!;
  await exec('withdraw (pending)', getWithdrawInstruction({ programAddress, run, client: last.signer }));
  await exec('join', getJoinRunInstruction({ programAddress, run, client: last.signer, commitment: last.chain.commitment }));
  await exec('kick (pending)', getKickInstruction({ programAddress, run, authority, client: last.signer.address }));
  await exec('join', getJoinRunInstruction({ programAddress, run, client: last.signer, commitment: last.chain.commitment }));
  await exec('pause', getPauseInstruction({ programAddress, run, authority }));
  await exec('resume', getResumeInstruction({ programAddress, run, authority }));

  await exec('tick (start warmup, admit 256)', getTickInstruction({ programAddress, run }));
  const memberOf = (s: RunAccount, index: number): Member => {
    const key = s.clients[index]!.key;
    return members.find((m) => Buffer.from(getAddressEncoder().encode(m.signer.address)).equals(Buffer.from(key)))!;
  };
  let s = state();
  if (s.state !== RunState.Warmup) throw new Error(`expected warmup, state ${s.state}`);
  for (const index of witnessIndices(s.numClients, s.warmupWitnessExpected, s.seed)) {
    const m = memberOf(s, index);
    await exec('warmup witness', getWarmupWitnessInstruction({ programAddress, run, client: m.signer, clientIndex: index, reveal: m.chain.revealFor(s.clients[index]!.chain)! }));
  }
  await exec('tick (warmup → first round)', getTickInstruction({ programAddress, run }));

  for (let r = 0; r < rounds; r++) {
    s = state();
    const round = currentRound(s);
    for (let probe = 0; probe < 4; probe++) {
      await exec('assignment (view)', getAssignmentInstruction({ programAddress, run, clientIndex: (probe * 97) % round.numClients }));
    }
    const everyone = Array.from({ length: round.numClients }, (_, i) => i);
    const everyoneBloom = participantBloom(s, everyone);
    for (const index of witnessIndices(round.numClients, round.witnessExpected, round.seed)) {
      const m = memberOf(s, index);
      const reveal = m.chain.revealFor(state().clients[index]!.chain)!;
      await exec('witness (256 participants, filter checked)', getWitnessInstruction({
        programAddress,
        run,
        client: m.signer,
        submission: { step: round.step, clientIndex: index, reveal, participants: everyone, resultRoot: new Uint8Array(32).fill(9), participantBloom: everyoneBloom },
      }));
    }
    if (r === 0) {
      // Withdrawals mid-round are marked, then compacted at round end (the costliest tick).
      await exec('withdraw (member)', getWithdrawInstruction({ programAddress, run, client: memberOf(s, 0).signer }));
      await exec('kick (member)', getKickInstruction({ programAddress, run, authority, client: memberOf(s, 1).signer.address }));
    }
    await exec('tick (train → witness)', getTickInstruction({ programAddress, run }));
    now += 5n;
    await exec('tick (round end: health, consensus, next round)', getTickInstruction({ programAddress, run }));
  }
  s = state();
  if (s.state !== RunState.Cooldown) throw new Error(`expected cooldown at total_steps, state ${s.state}`);
  await exec('checkpoint', getCheckpointInstruction({ programAddress, run, signer: authority, clientIndex: AUTHORITY_INDEX, hash: new Uint8Array(32).fill(3), location: new Uint8Array(128).fill(0x62) }));
  now += 10n;
  await exec('tick (cooldown → finished)', getTickInstruction({ programAddress, run }));
  if (state().state !== RunState.Finished) throw new Error('expected finished');
  return { samples };
}

export function summarize(figures: ComputeUnitFigures): { name: string; count: number; median: bigint; max: bigint }[] {
  return [...figures.samples.entries()].map(([name, values]) => {
    const sorted = [...values].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    return { name, count: values.length, median: sorted[Math.floor(sorted.length / 2)]!, max: sorted[sorted.length - 1]! };
  });
}
