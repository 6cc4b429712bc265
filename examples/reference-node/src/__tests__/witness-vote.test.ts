import { sha256, utf8Encode } from '@psyche/core';
import { RunState } from '@psyche/coordinator-client';
import { nodeId, nodeIdToString } from '@psyche/p2p';
import { describe, expect, it, vi } from 'vitest';
import { DEFAULT_CONFIG } from '../local-run.ts';
import { readRunFile, type RunFile } from '../node-config.ts';
import type { NodeLog } from '../node-log.ts';
import { PsycheNode } from '../psyche-node.ts';
import { replayCommittee } from '../replay-committee.ts';

// A witness's vote, without a chain or peers: the node's private state is set as its handlers
// would leave it, the coordinator client is a recorder, and the vote is read from what it submits.

const STEP = 7;
const idOf = (label: string): Uint8Array => sha256(utf8Encode(label));
const me = nodeIdToString(nodeId(idOf('me')));
const honest = nodeIdToString(nodeId(idOf('honest')));
const other = nodeIdToString(nodeId(idOf('other')));
const members = [me, honest, other];

interface Setup {
  readonly replicas?: number;
  /** The chain as this node last saw it. */
  readonly chainStep?: number;
  readonly state?: number;
  /** Seconds since the current state started (RoundWitness: since the quorum moved the round on). */
  readonly stateAge?: number;
  readonly roundWitnessTime?: number;
  /** Members this node's recomputation accepted for STEP; the others are still being judged. */
  readonly judged?: readonly string[];
}

function witnessOf(setup: Setup) {
  const events: { event: string; fields: Record<string, unknown> }[] = [];
  const log = Object.assign((event: string, fields: Record<string, unknown> = {}) => void events.push({ event, fields }), { setNode: () => undefined }) as NodeLog;
  const base = readRunFile(DEFAULT_CONFIG);
  const runFile: RunFile = { ...base, verify: { recompute: true, replicas: setup.replicas ?? 0 } };
  const node = new PsycheNode({ runFile, runAddress: '11111111111111111111111111111111' as never, rpcUrl: 'http://127.0.0.1:9', keyPath: '/nonexistent', dataDir: '/nonexistent', log });
  const submitted: { participants: number[]; step: number }[] = [];
  const submittedAt: number[] = [];
  const nowS = Math.floor(Date.now() / 1000);
  const chainStep = setup.chainStep ?? STEP;
  const internals = node as unknown as Record<string, unknown>;
  Object.assign(internals, {
    identity: { nodeId: nodeId(idOf('me')) },
    signer: {},
    chain: {},
    account: {
      step: BigInt(chainStep),
      state: setup.state ?? RunState.RoundWitness,
      stateStartTime: BigInt(nowS - (setup.stateAge ?? 5)),
      config: { maxRoundTrainTime: 20, roundWitnessTime: setup.roundWitnessTime ?? 1 },
      roundHead: 0,
      rounds: [{ step: BigInt(chainStep) }],
      clients: [],
      numClients: 0,
      pending: [],
      numPending: 0,
    },
    coordinator: {
      submitWitness: vi.fn(async (_run: unknown, _signer: unknown, _chain: unknown, report: { participants: number[] }, account: { rounds: { step: bigint }[] }) => {
        submitted.push({ participants: [...report.participants], step: Number(account.rounds[0]!.step) });
        submittedAt.push(Date.now());
        return 'signature';
      }),
    },
    gossip: { publish: vi.fn(async () => undefined) },
  });
  (internals.roundMembers as Map<number, string[]>).set(STEP, members);
  (internals.roundRecords as Map<number, unknown>).set(STEP, { startTime: BigInt(nowS - 10), seed: new Uint8Array(32) });
  (internals.results as Map<number, Map<string, unknown>>).set(STEP, new Map(members.map((m, i) => [m, { sender: m, dataHash: new Uint8Array(32).fill(i + 1), result: { parameters: [] }, bytes: 0 }])));
  const judged = new Set(setup.judged ?? []);
  (internals.verdictsSettled as Map<number, Set<string>>).set(STEP, new Set([me, ...judged]));
  (internals.recomputedAccepted as Map<number, Set<string>> | undefined)?.set(STEP, new Set(judged));
  const judge = (member: string) => {
    (internals.verdictsSettled as Map<number, Set<string>>).get(STEP)!.add(member);
    (internals.recomputedAccepted as Map<number, Set<string>> | undefined)?.get(STEP)?.add(member);
  };
  const witness = () => (internals.witness as (step: number) => Promise<void>).call(node, STEP);
  return { node, internals, events, submitted, submittedAt, judge, witness };
}

describe('witness vote', () => {
  it('a round moved on by a quorum before this node judged a member: that member is left out of the vote (the node before voted for it unjudged)', async () => {
    const w = witnessOf({ judged: [honest] });
    await w.witness();
    expect(w.submitted).toEqual([{ participants: [0, 1], step: STEP }]);
    expect(w.events.filter((e) => e.event === 'vote_withheld').map((e) => [e.fields.sender, e.fields.reason])).toEqual([[other, 'not judged: recomputation not finished']]);
  });

  it('a member this node has no exact replay of (settled without a verdict) is left out too', async () => {
    const w = witnessOf({ judged: [honest] });
    (w.internals.verdictsSettled as Map<number, Set<string>>).get(STEP)!.add(other);
    await w.witness();
    expect(w.submitted).toEqual([{ participants: [0, 1], step: STEP }]);
    expect(w.events.find((e) => e.event === 'vote_withheld')?.fields.reason).toBe('not judged: no exact replay of this member this epoch');
  });

  it('in RoundWitness the witness keeps waiting for its judgements until 1 s before the window can close, then votes for what it judged', async () => {
    const w = witnessOf({ judged: [honest], stateAge: 0, roundWitnessTime: 4 });
    const judgedAt = Date.now() + 400;
    setTimeout(() => w.judge(other), 400);
    await w.witness();
    expect(w.submitted).toEqual([{ participants: [0, 1, 2], step: STEP }]);
    expect(w.submittedAt[0]).toBeGreaterThanOrEqual(judgedAt - 50); // the node before voted at once, before the judgement
    expect(w.events.some((e) => e.event === 'vote_withheld')).toBe(false);
  });

  it('a vote is never sent into a later round: the chain already at the next step means witness_late and nothing submitted', async () => {
    const w = witnessOf({ judged: [honest, other], chainStep: STEP + 1, state: RunState.RoundTrain });
    await w.witness();
    expect(w.submitted).toEqual([]);
    expect(w.events.map((e) => e.event)).toContain('witness_late');
  });

  it('with a ring (k = 1), a member whose verifier delivered a result but whose verdict has not arrived is left out', async () => {
    const w = witnessOf({ replicas: 1 });
    // Every member's own verdicts settle at once for the members it does not replay.
    (w.internals.verdictsSettled as Map<number, Set<string>>).set(STEP, new Set(members));
    const committee = replayCommittee(members, new Uint8Array(32), 1);
    w.internals.committee = committee;
    await w.witness();
    const mine = committee.targetsOf.get(me)![0]!;
    const theirs = members.find((m) => m !== me && m !== mine)!;
    // My target: my own verdict is not in (nothing published); the other: its verifier delivered and was not heard.
    expect(w.submitted).toEqual([{ participants: [0], step: STEP }]);
    expect(new Set(w.events.filter((e) => e.event === 'vote_withheld').map((e) => e.fields.sender))).toEqual(new Set([mine, theirs]));
  });

  it('a member whose result has not come does not hold up the judgement of the results already here (judged as they come)', async () => {
    // The node before judged in member order, waiting for each result until 4 s before the train
    // deadline: behind a dead member (kill -9) the others were judged only then, 1.5 s before its
    // witness submitted, and what was not judged by then lost its vote.
    const w = witnessOf({});
    const results = w.internals.results as Map<number, Map<string, unknown>>;
    const late = results.get(STEP)!.get(honest)!;
    results.get(STEP)!.delete(honest); // first in member order, its result not here yet
    const nowS = Math.floor(Date.now() / 1000);
    (w.internals.roundRecords as Map<number, unknown>).set(STEP, { startTime: BigInt(nowS), seed: new Uint8Array(32), numClients: 3, globalBatch: 12, dataIndex: 0n });
    (w.internals.verdictsSettled as Map<number, Set<string>>).set(STEP, new Set());
    const judgedAt = new Map<string, number>();
    const replayOf = (member: string) => ({
      nextStep: STEP,
      judge: async () => {
        judgedAt.set(member, Date.now());
        return { accepted: true, failed: [], similarity: { jaccard: 1, signHamming: 0, relativeManhattan: 0, cosine: 1 } };
      },
    });
    (w.internals.replays as Map<string, unknown>).set(honest, replayOf(honest));
    (w.internals.replays as Map<string, unknown>).set(other, replayOf(other));
    w.internals.trainer = { parameters: new Map() };
    const voteWithheld = (member: string) => (w.internals.voteWithheld as (step: number, member: string) => string | undefined).call(w.node, STEP, member);
    const verifyRound = w.internals.verifyRound as (a: unknown, step: number, first: number, lr: number) => Promise<void>;
    const verifying = verifyRound.call(w.node, { config: { maxRoundTrainTime: 20 } }, STEP, STEP - 1, 0.001);
    try {
      // 16 s before the verifier's deadline: the result here is judged at once, the vote for it stands.
      await vi.waitFor(() => expect(judgedAt.has(other)).toBe(true), { timeout: 2_000, interval: 20 });
      expect(judgedAt.has(honest)).toBe(false);
      expect(voteWithheld(other)).toBeUndefined();
      expect(voteWithheld(honest)).toBe('not judged: recomputation not finished');
      results.get(STEP)!.set(honest, late);
      await verifying;
      expect(voteWithheld(honest)).toBeUndefined();
      expect((w.internals.verdictsSettled as Map<number, Set<string>>).get(STEP)).toEqual(new Set([me, other, honest]));
    } finally {
      w.internals.stopped = true; // the node before would still be waiting for `honest`
      await verifying;
    }
  });
});
