import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  NODE_CHECKPOINT_UNAVAILABLE,
  NODE_RESULT_REJECTED,
  PsycheError,
  createRng,
  fromHex,
  sha256,
  toHex,
  type Rng,
} from '@psyche/core';
import {
  ClientState,
  CoordinatorClient,
  HashChain,
  RunState,
  currentRound,
  dataAssignment,
  witnessQuorum,
  type RoundRecord,
  type RunAccount,
} from '@psyche/coordinator-client';
import { computeChunkLayout, assertSelectionsFit, type DistroResult } from '@psyche/distro';
import {
  createLibp2pBlobStore,
  createLibp2pGossip,
  createP2pNode,
  loadOrCreateIdentity,
  nodeId,
  nodeIdFromString,
  nodeIdToString,
  peerIdToNodeId,
  type BlobStore,
  type Gossip,
  type GossipMessage,
  type Identity,
  type P2pNode,
} from '@psyche/p2p';
import { createCommitment, createWitnessBloom, merkleRoot, verifyCommitment } from '@psyche/verify';
import { createKeyPairSignerFromPrivateKeyBytes, lamports, type Address, type KeyPairSigner } from '@solana/kit';
import type { Server } from 'node:http';
import { decodeAnnouncement, encodeAnnouncement, type ResultAnnouncement } from './announcement.ts';
import { learningRateAt, type RunFile } from './node-config.ts';
import type { NodeLog } from './node-log.ts';
import { emptyStatus, startMetricsServer, type NodeStatus } from './node-metrics.ts';
import { ResultReplay } from './result-replay.ts';
import { committeeOutcome, committeeRejects, replayCommittee, type ReplayCommittee, type Verdict } from './replay-committee.ts';
import { Trainer } from './trainer.ts';

export interface PsycheNodeOptions {
  readonly runFile: RunFile;
  readonly runAddress: Address;
  readonly rpcUrl: string;
  readonly wsUrl?: string;
  /** Key file (created when absent): the Ed25519 seed is both the p2p identity and the Solana signer. */
  readonly keyPath: string;
  /** Checkpoints and other files of this node. */
  readonly dataDir: string;
  /** Rendezvous directory: every node writes its multiaddrs there and dials the others' (one machine). */
  readonly peersDir?: string;
  /** Multiaddrs to dial at start (other machines). */
  readonly bootstrap?: readonly string[];
  /** 127.0.0.1 port of /metrics and /status; 0 picks one, undefined serves none. */
  readonly metricsPort?: number;
  readonly threads?: number;
  /** Ask the RPC for lamports (localnet, test validators). */
  readonly airdrop?: boolean;
  /** Exit `run()` when the run is Finished (default true). */
  readonly exitWhenFinished?: boolean;
  /**
   * Test faults: 'garbage' publishes signed random bytes instead of results (the first 4 KiB longer
   * than a result, refused from its ticket's size); 'flip' publishes a
   * well-formed result with every value's sign flipped (caught only by recomputation); 'reject' is
   * a lying verifier that rejects every other member's result; 'slow-verify' is an honest verifier
   * that starts each recomputation SLOW_VERIFY_MS late (its judgements miss the round's close).
   */
  readonly fault?: 'garbage' | 'flip' | 'reject' | 'slow-verify';
  readonly log: NodeLog;
}

/** A peer's result for one step, after every check. */
interface AcceptedResult {
  readonly sender: string;
  readonly dataHash: Uint8Array;
  readonly result: DistroResult;
  readonly bytes: number;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const PHASE: Record<number, string> = { 0: 'starting', 1: 'waiting', 2: 'warmup', 3: 'train', 4: 'witness', 5: 'cooldown', 6: 'finished', 7: 'paused' };
const CHECKPOINT_PREFIX = 'p2p:';
/** Delay of each recomputation with `fault: 'slow-verify'`: longer than the other witnesses take to close a round of the test runs. */
export const SLOW_VERIFY_MS = 4_000;
/** A witness that waits into RoundWitness submits this long before the window can close (the program ends it by whole seconds). */
const WITNESS_WINDOW_MARGIN_MS = 1_000;

/**
 * The reference node. It follows the coordinator's run account (WebSocket subscription) and acts
 * on each phase; see docs/reference-node.md:
 * - WaitingForMembers / Cooldown: join when not a member (joins take effect at the next epoch).
 * - Warmup: load the weights (the previous epoch's checkpoint from peers when this node's own
 *   weights are not those), reveal a hash-chain link when drawn as a warmup witness.
 * - RoundTrain step s: apply the aggregate of step s−2 (Psyche's overlap: s−1 is still being
 *   shared), train the assigned batch ids, publish the DisTrO result as a blob with a signed
 *   announcement (commitment = sha256(step ‖ batch ‖ payload), Ed25519); fetch and check
 *   everyone's; as a witness, submit who delivered (health) and the Merkle root of what it accepted.
 * - Cooldown: apply the last two steps, write a safetensors checkpoint, share it as a blob and
 *   record its hash on chain.
 */
export class PsycheNode {
  readonly status: NodeStatus;
  private identity!: Identity;
  private signer!: KeyPairSigner;
  private coordinator!: CoordinatorClient;
  private chain!: HashChain;
  private p2p!: P2pNode;
  private gossip!: Gossip;
  private blobs!: BlobStore;
  private trainer!: Trainer;
  private metricsServer: Server | undefined;
  private metricsPortValue = 0;
  private account: RunAccount | undefined;
  private readonly stopController = new AbortController();
  private readonly roundMembers = new Map<number, string[]>();
  private readonly roundRecords = new Map<number, RoundRecord>();
  private readonly results = new Map<number, Map<string, AcceptedResult>>();
  private readonly announcements = new Map<number, Map<string, ResultAnnouncement>>();
  private readonly fetching = new Set<string>();
  /** Senders whose result for a step failed a check: witnesses stop waiting for them. */
  private readonly rejected = new Map<number, Set<string>>();
  private readonly trained = new Set<number>();
  /** Verifier duty: this node's replica of each other member's DisTrO state in the current epoch. */
  private readonly replays = new Map<string, ResultReplay>();
  /**
   * Members whose result this node's recomputation rejected in the current epoch (with the step).
   * Their replay diverged, so their later results that epoch cannot be judged; they are rejected
   * too, instead of being attested unjudged while the health check has not yet dropped them.
   */
  private caught = new Map<string, number>();
  /** Per step, the members whose result this node has finished judging (or cannot judge). */
  private readonly verdictsSettled = new Map<number, Set<string>>();
  /** Per step, the members whose result this node's own recomputation accepted: without a ring, the only other members its witness votes for. */
  private readonly recomputedAccepted = new Map<number, Set<string>>();
  /** With `[verify] replicas`: this epoch's ring (who replays whom), from its first round. */
  private committee: ReplayCommittee | undefined;
  /** With `[verify] replicas`: step → judged member → verifier → verdict (own and gossiped; only assigned verifiers count). */
  private readonly verdicts = new Map<number, Map<string, Map<string, Verdict>>>();
  private readonly applied = new Set<number>();
  private readonly witnessed = new Set<number>();
  private readonly epochFirstStep = new Map<number, number>();
  private readonly checkpointed = new Set<number>();
  private readonly warmupWitnessed = new Set<number>();
  /**
   * Which state the weights hold: 'init' (seeded or configured start), 'ckpt:<epoch>' (the end of
   * that epoch, as written at its cooldown), or 'dirty' (part of an epoch applied).
   */
  private weightsTag = 'init';
  /** Epochs whose starting weights were checked (once, before the first step trained in them). */
  private readonly weightsChecked = new Set<number>();
  /** Epoch in which this node missed a counted result and stopped training. */
  private outOfSyncEpoch = -1;
  private joinPendingSince = 0;
  private processing = false;
  private processAgain = false;
  private ticking = false;
  private lastTickKey = '';
  private lastTickAt = 0;
  private finished: (() => void) | undefined;
  private faultRng: Rng = createRng('garbage');
  private garbagePublished = 0;
  private stopped = false;

  constructor(private readonly options: PsycheNodeOptions) {
    this.status = emptyStatus('?');
  }

  get metricsPort(): number {
    return this.metricsPortValue;
  }

  private get me(): string {
    return nodeIdToString(this.identity.nodeId);
  }

  /** Starts everything and resolves when the run is finished (or `stop()` was called). */
  async run(): Promise<void> {
    const o = this.options;
    this.identity = await loadOrCreateIdentity(o.keyPath);
    this.signer = await createKeyPairSignerFromPrivateKeyBytes(this.identity.secretKey);
    this.status.node = this.signer.address;
    o.log.setNode(this.signer.address.slice(0, 8));
    // The hash chain's secret is derived from the node key, so a restarted node can reveal again.
    this.chain = new HashChain(sha256(this.identity.secretKey, new TextEncoder().encode('psyche hash chain')), 4096);
    this.coordinator = new CoordinatorClient({ rpcUrl: o.rpcUrl, ...(o.wsUrl ? { wsUrl: o.wsUrl } : {}), payer: this.signer });
    if (o.airdrop) await this.coordinator.rpc.requestAirdrop(this.signer.address, lamports(10_000_000_000n)).send();
    this.trainer = await Trainer.create(o.runFile, o.threads === undefined ? {} : { threads: o.threads });
    this.status.denseBf16BytesPerStep = this.trainer.denseBf16BytesPerStep;
    this.p2p = await createP2pNode({ identity: this.identity });
    this.gossip = createLibp2pGossip(this.p2p, o.runAddress, { rebroadcast: { delaysMs: [500, 2_000, 6_000] } });
    this.blobs = await createLibp2pBlobStore(this.p2p, { limits: { stallTimeoutMs: 5_000 } });
    this.gossip.onMessage((m) => this.onGossip(m));
    this.gossip.onReject((r) => o.log('gossip_reject', { code: r.error.code, reason: r.error.message }));
    if (o.metricsPort !== undefined) {
      const m = await startMetricsServer(() => this.snapshot(), o.metricsPort);
      this.metricsServer = m.server;
      this.metricsPortValue = m.port;
    }
    o.log('started', { address: this.signer.address, nodeId: nodeIdToString(this.identity.nodeId), p2p: this.p2p.multiaddrs(), metricsPort: this.metricsPortValue, parameters: this.trainer.specs.length });
    for (const addr of o.bootstrap ?? []) await this.p2p.dial(addr).catch((e: unknown) => o.log('dial_failed', { addr, error: String(e) }));
    if (o.peersDir) await this.publishAddress();

    const done = new Promise<void>((resolve) => (this.finished = resolve));
    const signal = this.stopController.signal;
    // Resubscribes when the RPC goes away (a restarted localnet); polling covers the gap.
    const subscription = (async () => {
      for (let attempt = 0; !signal.aborted; attempt++) {
        await this.coordinator.subscribe(o.runAddress, (a) => this.onAccount(a), { signal }).catch((e: unknown) => {
          if (!signal.aborted) o.log('subscription_failed', { attempt, error: String(e) });
        });
        if (!signal.aborted) await sleep(1_000);
      }
    })();
    const timers = [setInterval(() => void this.maybeTick(), 500), setInterval(() => void this.discoverPeers(), 1_000), setInterval(() => void this.poll(), 2_000)];
    try {
      await done;
    } finally {
      for (const t of timers) clearInterval(t);
      this.stopController.abort();
      await subscription;
    }
  }

  /** Leaves the run (withdraw when a member or pending) and stops every service. Safe to call twice. */
  async stop(reason = 'stop'): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.status.phase = 'left';
    const o = this.options;
    o.log('leaving', { reason });
    if (this.account && this.signer && (this.isMember(this.account) || this.isPending(this.account)) && this.account.state !== RunState.Finished) {
      await this.coordinator.withdraw(o.runAddress, this.signer).catch((e: unknown) => o.log('withdraw_failed', { error: String(e) }));
    }
    this.finished?.();
    await this.gossip?.stop().catch(() => undefined);
    await this.blobs?.stop().catch(() => undefined);
    await this.p2p?.stop().catch(() => undefined);
    await this.trainer?.close().catch(() => undefined);
    await new Promise<void>((r) => (this.metricsServer ? this.metricsServer.close(() => r()) : r()));
    o.log('stopped', {});
  }

  snapshot(): NodeStatus {
    this.status.peers = this.p2p ? this.p2p.libp2p.getPeers().length : 0;
    return this.status;
  }

  // ---------------------------------------------------------------- membership helpers

  private indexIn(list: readonly { key: Uint8Array }[], count: number): number {
    const key = nodeIdToString(this.identity.nodeId);
    for (let i = 0; i < count; i++) if (nodeIdToString(nodeId(list[i]!.key)) === key) return i;
    return -1;
  }
  private isMember(a: RunAccount): boolean {
    const i = this.indexIn(a.clients, a.numClients);
    return i >= 0 && a.clients[i]!.state === ClientState.Healthy;
  }
  private isPending(a: RunAccount): boolean {
    return this.indexIn(a.pending, a.numPending) >= 0;
  }

  // ---------------------------------------------------------------- chain events

  private onAccount(account: RunAccount): void {
    this.account = account;
    this.status.phase = PHASE[account.state] ?? 'unknown';
    this.status.epoch = Number(account.epoch);
    this.status.step = Number(account.step);
    this.status.clientIndex = this.indexIn(account.clients, account.numClients);
    const keys = [...account.clients.slice(0, account.numClients), ...account.pending.slice(0, account.numPending)].map((c) => nodeId(c.key));
    this.gossip.setMembers(keys);
    if (account.state === RunState.RoundTrain || account.state === RunState.RoundWitness) {
      const round = currentRound(account);
      const step = Number(round.step);
      if (!this.roundMembers.has(step)) {
        this.roundMembers.set(step, account.clients.slice(0, round.numClients).map((c) => nodeIdToString(nodeId(c.key))));
      }
    }
    for (const r of account.rounds) if (r.step > 0n) this.roundRecords.set(Number(r.step), r);
    if (account.state === RunState.Warmup && !this.epochFirstStep.has(Number(account.epoch))) this.epochFirstStep.set(Number(account.epoch), Number(account.step));
    this.retryAnnouncements();
    void this.process();
  }

  /** Re-reads the account now and then: subscriptions are the fast path, not the only one. */
  private async poll(): Promise<void> {
    if (this.stopped) return;
    try {
      this.onAccount(await this.coordinator.fetchRun(this.options.runAddress));
    } catch (e) {
      this.options.log('poll_failed', { error: String(e) });
    }
  }

  /** Anyone may tick; a node ticks when the clock or the submissions allow a transition. */
  private async maybeTick(): Promise<void> {
    const a = this.account;
    if (!a || this.ticking || this.stopped) return;
    if (!this.isMember(a) && !this.isPending(a)) return;
    const c = a.config;
    const now = Math.floor(Date.now() / 1000);
    const elapsed = (t: number) => now - Number(a.stateStartTime) >= t;
    let due = false;
    switch (a.state) {
      case RunState.WaitingForMembers:
        due = a.numPending >= c.initMinClients && elapsed(c.waitingForMembersExtraTime);
        break;
      case RunState.Warmup:
        due = elapsed(c.warmupTime) || (a.warmupWitnessExpected > 0 && a.warmupWitnessesSubmitted >= a.warmupWitnessExpected);
        break;
      case RunState.RoundTrain: {
        const round = currentRound(a);
        due = elapsed(c.maxRoundTrainTime) || (round.witnessExpected > 0 && round.witnessesSubmitted >= witnessQuorum(round.witnessExpected));
        break;
      }
      case RunState.RoundWitness:
        due = elapsed(c.roundWitnessTime);
        break;
      case RunState.Cooldown:
        due = elapsed(c.cooldownTime);
        break;
      default:
        due = false;
    }
    if (!due) return;
    // One tick per state and step per 1.5 s from this node: others may be ticking too.
    const key = `${a.state}/${a.step}/${a.epoch}`;
    if (key === this.lastTickKey && Date.now() - this.lastTickAt < 1_500) return;
    this.lastTickKey = key;
    this.lastTickAt = Date.now();
    this.ticking = true;
    try {
      await this.coordinator.tick(this.options.runAddress);
    } catch (e) {
      this.options.log('tick_failed', { error: String(e) });
    } finally {
      this.ticking = false;
    }
  }

  /** Serialized phase handler: reruns when the account changed while it was busy. */
  private async process(): Promise<void> {
    if (this.processing) {
      this.processAgain = true;
      return;
    }
    this.processing = true;
    try {
      do {
        this.processAgain = false;
        if (this.account && !this.stopped) await this.handle(this.account);
      } while (this.processAgain && !this.stopped);
    } catch (e) {
      this.options.log('error', { error: e instanceof Error ? e.message : String(e), stack: e instanceof Error ? e.stack : undefined });
    } finally {
      this.processing = false;
    }
  }

  private async handle(a: RunAccount): Promise<void> {
    const o = this.options;
    const member = this.isMember(a);
    const pending = this.isPending(a);
    if (a.state === RunState.Finished) {
      if (o.exitWhenFinished !== false) {
        o.log('run_finished', { step: Number(a.step), fingerprint: this.status.parametersSha256 });
        this.finished?.();
      }
      return;
    }
    // Joins take effect at the next epoch: join only around epoch boundaries, never mid-epoch.
    if (!member && !pending && (a.state === RunState.WaitingForMembers || a.state === RunState.Cooldown || a.state === RunState.Paused) && Date.now() - this.joinPendingSince > 5_000) {
      this.joinPendingSince = Date.now();
      try {
        await this.coordinator.joinRun(o.runAddress, this.signer, this.chain);
        o.log('joined', { epoch: Number(a.epoch), state: PHASE[a.state] });
      } catch (e) {
        o.log('join_failed', { error: String(e) });
      }
      return;
    }
    if (!member) return;
    const epoch = Number(a.epoch);
    if (a.state === RunState.Warmup) {
      if (!this.weightsChecked.has(epoch)) {
        await this.ensureWeights(a);
        this.weightsChecked.add(epoch);
      }
      await this.trainer.prepare(a.config.globalBatchEnd, a.numClients);
      if (CoordinatorClient.isWarmupWitness(a, this.signer.address) && !this.warmupWitnessed.has(epoch)) {
        this.warmupWitnessed.add(epoch);
        await this.coordinator.submitWarmupWitness(o.runAddress, this.signer, this.chain, a).catch((e: unknown) => o.log('warmup_witness_failed', { error: String(e) }));
        void this.maybeTick();
      }
      return;
    }
    if (a.state === RunState.RoundTrain || a.state === RunState.RoundWitness) {
      const role = CoordinatorClient.roundRole(a, this.signer.address);
      if (!role) return;
      const step = Number(role.step);
      if (this.trained.has(step) || a.state !== RunState.RoundTrain || this.outOfSyncEpoch === epoch) return;
      if (!this.weightsChecked.has(epoch)) {
        await this.ensureWeights(a);
        this.weightsChecked.add(epoch);
      }
      this.weightsTag = 'dirty';
      this.trained.add(step);
      const first = this.epochFirstStep.get(epoch) ?? step;
      this.epochFirstStep.set(epoch, first);
      const lr = learningRateAt(a.config.learningRate, o.runFile.schedule, Number(a.config.totalSteps), step);
      // Psyche's overlap: step s trains on weights with s−2 applied; s−1 is still being shared.
      for (let q = first; q <= step - 2 && this.outOfSyncEpoch !== epoch; q++) if (!this.applied.has(q)) await this.applyStep(q, lr, epoch);
      if (this.outOfSyncEpoch === epoch) return;
      // Momentum restarts at each epoch's first step on every node, so members can replay each other.
      if (step === first) this.trainer.restartMomentum();
      const recompute = o.runFile.verify.recompute;
      if (recompute) this.verdictsSettled.set(step, new Set());
      await this.trainAndPublish(a, step, role.data.start, role.data.end, lr);
      if (role.isWitness) void this.witness(step);
      if (recompute) await this.verifyRound(a, step, first, lr);
      return;
    }
    if (a.state === RunState.Cooldown && !this.checkpointed.has(epoch)) {
      this.checkpointed.add(epoch);
      const first = this.epochFirstStep.get(epoch);
      const last = Number(a.step) - 1;
      if (first !== undefined && this.trained.size > 0) {
        const lr = learningRateAt(a.config.learningRate, o.runFile.schedule, Number(a.config.totalSteps), last);
        for (let q = first; q <= last && this.outOfSyncEpoch !== epoch; q++) if (!this.applied.has(q)) await this.applyStep(q, lr, epoch);
      }
      await this.trainer.settle();
      if (first !== undefined && this.outOfSyncEpoch !== epoch) {
        this.weightsTag = `ckpt:${epoch}`;
        await this.writeCheckpoint(a, epoch);
      }
    }
  }

  // ---------------------------------------------------------------- weights and checkpoints

  /**
   * At the start of an epoch every member must hold the same weights: those of the latest
   * checkpoint recorded on chain (or the initial ones when there is none). A node that holds
   * anything else (restarted, late, dropped mid-epoch) loads them: from peers, or from its seed.
   */
  private async ensureWeights(a: RunAccount): Promise<void> {
    const records = a.checkpoints.slice(0, Math.min(a.numCheckpoints, a.checkpoints.length)).filter((c) => c.epoch > 0n && Number(c.epoch) < Number(a.epoch));
    const record = records.sort((x, y) => Number(y.epoch - x.epoch)).at(0);
    const target = record ? `ckpt:${record.epoch}` : 'init';
    if (this.weightsTag === target) return;
    if (!record) {
      await this.trainer.reset();
      this.weightsTag = 'init';
      this.options.log('weights_reset', { reason: 'no checkpoint recorded yet' });
      return;
    }
    const epoch = Number(record.epoch) + 1;
    const location = new TextDecoder().decode(record.location).replace(/\0+$/, '');
    const started = performance.now();
    const bytes = await this.fetchCheckpoint(location, record.hash);
    this.trainer.loadSafetensors(bytes);
    this.weightsTag = target;
    this.options.log('checkpoint_loaded', { epoch: epoch - 1, step: Number(record.step), location, bytes: bytes.length, ms: Math.round(performance.now() - started) });
  }

  private async fetchCheckpoint(location: string, hash: Uint8Array): Promise<Uint8Array> {
    const fail = (reason: string): never => {
      throw new PsycheError(NODE_CHECKPOINT_UNAVAILABLE, { location, reason }, `checkpoint ${location}: ${reason}`);
    };
    if (!location.startsWith(CHECKPOINT_PREFIX)) return fail('not a p2p location');
    const [hex, sizeText] = location.slice(CHECKPOINT_PREFIX.length).split(':');
    if (!hex || hex !== toHex(hash) || !sizeText) return fail('location does not match the recorded hash');
    for (let attempt = 0; attempt < 10; attempt++) {
      // A node that just started may not have dialed its peers yet.
      const providers = this.p2p.libp2p.getPeers().map((peer) => ({ nodeId: peerIdToNodeId(peer), addrs: [] as string[] }));
      if (providers.length === 0) {
        await sleep(1_000);
        continue;
      }
      try {
        await this.blobs.fetch({ hash: fromHex(hex), size: Number(sizeText), providers }, { signal: AbortSignal.timeout(60_000) });
        return await this.blobs.read(fromHex(hex));
      } catch (e) {
        this.options.log('checkpoint_fetch_retry', { attempt, error: String(e) });
        await sleep(1_000);
      }
    }
    return fail('no provider delivered it');
  }

  private async writeCheckpoint(a: RunAccount, epoch: number): Promise<void> {
    const o = this.options;
    const dir = join(o.dataDir, 'checkpoints', `epoch-${epoch}`);
    const bytes = this.trainer.safetensors();
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, 'model.safetensors'), bytes);
    const { llamaConfigJson } = await import('@psyche/modeling');
    await writeFile(join(dir, 'config.json'), `${JSON.stringify(llamaConfigJson(o.runFile.model), null, 2)}\n`);
    const ticket = await this.blobs.add(bytes);
    const fingerprint = toHex(sha256(bytes));
    this.status.parametersSha256 = fingerprint;
    this.status.checkpoints.push(dir);
    o.log('checkpoint_written', { epoch, dir, sha256: fingerprint, blake3: toHex(ticket.hash), bytes: bytes.length });
    // The first member in the client list records it on chain; the others hold the same blob and
    // record it only if that has not happened after a delay by their position (a stuck or dead first
    // member must not leave the epoch unrecorded: the next epoch would restart from an older one).
    const position = this.indexIn(a.clients, a.numClients);
    if (position < 0) return;
    if (position > 0) {
      await sleep(500 * position);
      const now = this.account ?? a;
      const recorded = now.checkpoints.slice(0, Math.min(now.numCheckpoints, now.checkpoints.length)).some((c) => Number(c.epoch) === epoch);
      if (recorded || now.state !== RunState.Cooldown || Number(now.epoch) !== epoch) return;
    }
    await this.coordinator
      .submitCheckpoint(o.runAddress, this.signer, { hash: ticket.hash, location: `${CHECKPOINT_PREFIX}${toHex(ticket.hash)}:${bytes.length}` })
      .then(() => o.log('checkpoint_recorded', { epoch, position }))
      .catch((e: unknown) => o.log('checkpoint_record_failed', { error: String(e) }));
  }

  // ---------------------------------------------------------------- training and results

  private async trainAndPublish(a: RunAccount, step: number, start: bigint, end: bigint, lr: number): Promise<void> {
    const o = this.options;
    const trained = await this.trainer.train(start, end, lr, step);
    let payload = trained.payload;
    if (o.fault === 'garbage') {
      // The first one 4 KiB longer than any result (peers refuse it from the ticket, before fetching), then results' length.
      payload = new Uint8Array(payload.length + (this.garbagePublished++ === 0 ? 4096 : 0));
      for (let i = 0; i < payload.length; i++) payload[i] = this.faultRng.nextU32() & 255;
    }
    if (o.fault === 'flip') {
      const honest = this.trainer.decodeResult(payload);
      payload = this.trainer.encodeResult({ parameters: honest.parameters.map((p) => ({ ...p, values: p.values.map((v) => -v) })) });
    }
    // Commitment batch ranges are inclusive (Psyche's BatchId range).
    const batch = { start, end: end - 1n };
    const commitment = createCommitment(step, batch, payload, this.identity.secretKey);
    const ticket = await this.blobs.add(payload);
    const announcement: ResultAnnouncement = { kind: 'result', step: BigInt(step), batchStart: batch.start, batchEnd: batch.end, commitment, ticket, loss: trained.loss, tokens: trained.tokens };
    // Own result: accepted as decoded from its own wire bytes, as every peer will see it.
    if (o.fault !== 'garbage') this.accept(step, this.me, { sender: this.me, dataHash: commitment.dataHash, result: this.trainer.decodeResult(payload), bytes: payload.length });
    await this.gossip.publish(encodeAnnouncement(announcement));
    const s = this.status;
    s.loss = trained.loss;
    s.lossHistory.push({ step, loss: trained.loss });
    s.stepsTrained++;
    s.tokensTrained += trained.tokens;
    s.tokensPerSecond = trained.tokens / (trained.trainMs / 1000);
    s.bytesSent += payload.length;
    s.resultBytesPerStep = payload.length;
    s.isWitness = CoordinatorClient.roundRole(a, this.signer.address)?.isWitness ?? false;
    o.log('trained', { step, loss: trained.loss, lr, batch: [Number(start), Number(end)], tokens: trained.tokens, ms: Math.round(trained.trainMs), tokensPerSecond: Math.round(s.tokensPerSecond), resultBytes: payload.length, denseBf16Bytes: s.denseBf16BytesPerStep, bytesSent: s.bytesSent, bytesReceived: s.bytesReceived, peers: this.snapshot().peers });
  }

  private accept(step: number, sender: string, result: AcceptedResult): void {
    let m = this.results.get(step);
    if (!m) this.results.set(step, (m = new Map()));
    m.set(sender, result);
  }

  private onGossip(message: GossipMessage): void {
    let announcement;
    try {
      announcement = decodeAnnouncement(message.payload);
    } catch (e) {
      this.status.resultsRejected++;
      this.options.log('announcement_rejected', { error: String(e) });
      return;
    }
    if (announcement.kind === 'witness') {
      this.options.log('witness_report', { from: nodeIdToString(message.sender).slice(0, 12), step: Number(announcement.step), bloomBytes: announcement.participantBloom.length });
      return;
    }
    const step = Number(announcement.step);
    const current = this.account ? Number(this.account.step) : 0;
    if (step < current - 4 || step > current + 2) return; // stale or from the future: ignore
    const sender = message.sender;
    const senderKey = this.addressOf(sender);
    if (announcement.kind === 'verdict') {
      // Kept whoever sent it (the ring may not be known yet); the witness counts only assigned verifiers.
      if (this.options.runFile.verify.replicas > 0) this.noteVerdict(step, this.addressOf(announcement.member), senderKey, announcement.verdict);
      return;
    }
    let m = this.announcements.get(step);
    if (!m) this.announcements.set(step, (m = new Map()));
    if (!m.has(senderKey)) m.set(senderKey, announcement);
    void this.fetchResult(step, senderKey);
  }

  private addressOf(id: Uint8Array): string {
    return nodeIdToString(nodeId(id));
  }

  private retryAnnouncements(): void {
    for (const [step, m] of this.announcements) for (const sender of m.keys()) void this.fetchResult(step, sender);
  }

  /** Fetches a peer's blob and checks it: member of the round, assigned batch, commitment, decodable result of this model's shapes. */
  private async fetchResult(step: number, sender: string): Promise<void> {
    const id = `${step}/${sender}`;
    if (this.fetching.has(id) || this.results.get(step)?.has(sender)) return;
    const members = this.roundMembers.get(step);
    const record = this.roundRecords.get(step);
    if (!members || !record) return; // retried when the round shows up on chain
    const announcement = this.announcements.get(step)?.get(sender);
    if (!announcement) return;
    this.fetching.add(id);
    const reject = (reason: string): void => this.rejectResult(step, sender, reason);
    try {
      const index = members.indexOf(sender);
      if (index < 0) return reject('not a member of the round');
      const interval = dataAssignment(record, index);
      if (announcement.batchStart !== interval.start || announcement.batchEnd !== interval.end - 1n) return reject(`batch [${announcement.batchStart}, ${announcement.batchEnd}] is not the assigned one`);
      // Before any byte moves: a ticket of any other size cannot hold a result of this model.
      if (!this.trainer.isResultPayloadSize(announcement.ticket.size)) return reject(`ticket of ${announcement.ticket.size} bytes is not the size of a result of this model`);
      const fetched = await this.blobs.fetch(announcement.ticket, { signal: AbortSignal.timeout(30_000) });
      const payload = await this.blobs.read(announcement.ticket.hash);
      this.status.bytesReceived += fetched.provider === undefined ? 0 : payload.length;
      if (!verifyCommitment(announcement.commitment, nodeIdFromString(sender), step, { start: announcement.batchStart, end: announcement.batchEnd }, payload)) return reject('commitment does not match the payload or signature');
      let result: DistroResult;
      try {
        result = this.trainer.decodeResult(payload);
        this.checkShapes(result);
      } catch (e) {
        return reject(`payload is not a valid result for this model: ${e instanceof Error ? e.message : String(e)}`);
      }
      this.accept(step, sender, { sender, dataHash: announcement.commitment.dataHash, result, bytes: payload.length });
      this.status.resultsAccepted++;
    } catch (e) {
      this.options.log('result_fetch_failed', { step, sender, error: String(e) });
    } finally {
      this.fetching.delete(id);
    }
  }

  /**
   * Rejects a sender's result for a step: this node's witness stops waiting for it and leaves it out
   * of its vote. A result that decoded is kept all the same: if the chain counts it anyway (the
   * quorum of witnesses accepted it), every node must apply it to keep identical weights.
   */
  private rejectResult(step: number, sender: string, reason: string, details: Record<string, unknown> = {}, { exclude = true } = {}): void {
    this.status.resultsRejected++;
    this.options.log('result_rejected', { step, sender, reason, ...details });
    if (!exclude) return;
    this.announcements.get(step)?.delete(sender);
    let r = this.rejected.get(step);
    if (!r) this.rejected.set(step, (r = new Set()));
    r.add(sender);
  }

  /**
   * Verifier duty (docs/reference-node.md): judge every other member's result for `step` against
   * this node's replay of that member (ResultReplay). A result the recomputation disagrees with is
   * rejected, so this node's witness vote leaves the member out: with an honest quorum of
   * witnesses the member's result is not applied and the health check drops it.
   */
  private async verifyRound(a: RunAccount, step: number, first: number, lr: number): Promise<void> {
    const o = this.options;
    const settled = this.verdictsSettled.get(step)!;
    const members = this.roundMembers.get(step) ?? [];
    const record = this.roundRecords.get(step);
    const replicas = o.runFile.verify.replicas;
    if (step === first) {
      this.replays.clear();
      this.caught = new Map();
      this.committee = replicas > 0 && record ? replayCommittee(members, record.seed, replicas) : undefined;
      if (this.committee) o.log('replay_committee', { step, targets: this.committee.targetsOf.get(this.me) ?? [], verifiers: this.committee.verifiersOf.get(this.me) ?? [] });
    }
    if (!record) {
      for (const m of members) settled.add(m);
      return;
    }
    const committee = replicas > 0 ? this.committee : undefined;
    // The round's shared weights: this node's own after its generate undid the lookahead.
    const shared = new Map([...this.trainer.parameters].map(([name, w]) => [name, w.slice()]));
    const deadline = (Number(record.startTime) + a.config.maxRoundTrainTime) * 1000 - 4_000;
    // Members whose result this node is to judge this step, judged in the order their results come
    // (not member order): the witness votes only for what was judged, so a late or dead member
    // must not hold up the judgement of results already here until the deadline, which left the
    // rest 1.5 s before the witness submits (both survivors of a kill -9 judged each other then).
    const pending: { index: number; sender: string; replay: ResultReplay }[] = [];
    const arrived = (sender: string): boolean => this.results.get(step)?.has(sender) === true || this.rejected.get(step)?.has(sender) === true;
    try {
      for (const [index, sender] of members.entries()) {
        let toJudge = false;
        try {
          // This node itself, or another member's duty (or no ring this epoch): nothing to judge.
          if (sender === this.me || (replicas > 0 && !committee?.targetsOf.get(this.me)?.includes(sender))) continue;
          const caughtAt = this.caught.get(sender);
          if (caughtAt !== undefined) {
            this.rejectResult(step, sender, `recomputation disagrees (at step ${caughtAt} of this epoch; no replay since)`, {}, { exclude: !committee });
            if (committee) await this.publishVerdict(step, sender, 'rejected');
            continue;
          }
          if (step === first) this.replays.set(sender, new ResultReplay(this.trainer, step));
          const replay = this.replays.get(sender);
          if (!replay || replay.nextStep !== step) {
            this.replays.delete(sender); // missed a step of this member: no exact replay until the next epoch
            if (committee) await this.publishVerdict(step, sender, 'abstained');
            continue;
          }
          pending.push({ index, sender, replay });
          toJudge = true;
        } finally {
          if (!toJudge) settled.add(sender);
        }
      }
      while (pending.length > 0) {
        const next = pending.findIndex((x) => arrived(x.sender));
        if (next < 0 && Date.now() < deadline && !this.stopped) {
          await sleep(50);
          continue;
        }
        const { index, sender, replay } = pending.splice(Math.max(next, 0), 1)[0]!;
        try {
          const claimed = this.results.get(step)?.get(sender);
          if (!claimed) {
            this.replays.delete(sender);
            if (committee) await this.publishVerdict(step, sender, 'abstained');
            continue;
          }
          const interval = dataAssignment(record, index);
          if (o.fault === 'slow-verify') await sleep(SLOW_VERIFY_MS);
          const started = performance.now();
          const verdict = await replay.judge(shared, { step, start: interval.start, end: interval.end, lr, result: claimed.result });
          const similarity = { jaccard: round4(verdict.similarity.jaccard), signHamming: round4(verdict.similarity.signHamming), relativeManhattan: round4(verdict.similarity.relativeManhattan), cosine: round4(verdict.similarity.cosine) };
          o.log('verified', { step, sender, accepted: verdict.accepted, ...similarity, ms: Math.round(performance.now() - started) });
          this.status.resultsVerified++;
          const rejected = !verdict.accepted || o.fault === 'reject';
          if (rejected) {
            this.replays.delete(sender);
            this.caught.set(sender, step);
            // With a ring, one verdict among k: the witness leaves the member out when a majority of its verifiers reject.
            this.rejectResult(step, sender, `recomputation disagrees (${verdict.failed.join(', ')})`, similarity, { exclude: !committee });
          } else {
            let accepted = this.recomputedAccepted.get(step);
            if (!accepted) this.recomputedAccepted.set(step, (accepted = new Set()));
            accepted.add(sender);
          }
          if (committee) await this.publishVerdict(step, sender, rejected ? 'rejected' : 'accepted');
        } finally {
          settled.add(sender);
        }
      }
    } finally {
      // Only on an error: the members left are settled (unjudged), so the witness stops waiting for them.
      for (const x of pending) settled.add(x.sender);
    }
  }

  /** Records a verdict on `member`'s result for `step` (bounded: only members of that round, once the round is known). */
  private noteVerdict(step: number, member: string, verifier: string, verdict: Verdict): void {
    const members = this.roundMembers.get(step);
    let byMember = this.verdicts.get(step);
    if (members ? !members.includes(member) : (byMember?.size ?? 0) >= 1024) return;
    if (!byMember) this.verdicts.set(step, (byMember = new Map()));
    let byVerifier = byMember.get(member);
    if (!byVerifier) byMember.set(member, (byVerifier = new Map()));
    if (!byVerifier.has(verifier)) byVerifier.set(verifier, verdict);
  }

  private async publishVerdict(step: number, member: string, verdict: Verdict): Promise<void> {
    this.noteVerdict(step, member, this.me, verdict);
    await this.gossip.publish(encodeAnnouncement({ kind: 'verdict', step: BigInt(step), member: nodeIdFromString(member), verdict })).catch((e: unknown) => {
      this.options.log('verdict_publish_failed', { step, member, error: String(e) });
    });
  }

  /**
   * With a ring: whether this witness has heard from every verifier of `member` that is delivering
   * this round (a verifier whose own result has not arrived is down or late and is not waited for).
   */
  private committeeHeard(step: number, member: string): boolean {
    if (this.options.runFile.verify.replicas === 0 || !this.committee) return true;
    const heard = this.verdicts.get(step)?.get(member);
    return (this.committee.verifiersOf.get(member) ?? []).every((v) => v === this.me || heard?.has(v) || !this.results.get(step)?.has(v));
  }

  /** With a ring: a strict majority of `member`'s verifiers rejected its result for `step`. */
  private committeeExcludes(step: number, member: string): boolean {
    if (this.options.runFile.verify.replicas === 0 || !this.committee) return false;
    const verdicts = this.verdicts.get(step)?.get(member);
    if (!committeeRejects(this.committee, member, verdicts)) return false;
    this.options.log('committee_excluded', { step, sender: member, rejectedBy: [...(verdicts ?? [])].filter(([, v]) => v === 'rejected').map(([k]) => k) });
    return true;
  }

  /**
   * Why this witness cannot vote for `member`'s result for `step` yet (undefined: it can). Safety
   * over liveness: a result this node was to judge counts only once judged. Without a ring that is
   * this node's own recomputation having accepted it at this step (not merely "not rejected": a
   * recomputation still running when the round moves on, or a member this node has no exact replay
   * of, is unjudged). With a ring, the member's verifiers' verdicts still awaited must not be able
   * to make a rejecting majority (committeeOutcome). Otherwise a caught cheater's result counts
   * whenever its verifier is slower than the cheater's own vote plus one other witness.
   */
  private voteWithheld(step: number, member: string): string | undefined {
    const verify = this.options.runFile.verify;
    if (!verify.recompute || member === this.me) return undefined;
    if (verify.replicas === 0) {
      if (this.recomputedAccepted.get(step)?.has(member)) return undefined;
      return this.verdictsSettled.get(step)?.has(member) ? 'not judged: no exact replay of this member this epoch' : 'not judged: recomputation not finished';
    }
    if (!this.committee) return undefined;
    const verdicts = this.verdicts.get(step)?.get(member);
    const awaited = (v: string): boolean => v === this.me || this.results.get(step)?.has(v) === true;
    if (committeeOutcome(this.committee, member, verdicts, awaited) !== 'undecided') return undefined;
    const missing = (this.committee.verifiersOf.get(member) ?? []).filter((v) => !verdicts?.has(v) && awaited(v));
    return `not judged: verdicts of ${missing.join(', ')} missing`;
  }

  private checkShapes(result: DistroResult): void {
    const chunk = this.options.runFile.run.distroChunk;
    if (result.parameters.length !== this.trainer.specs.length) throw new PsycheError(NODE_RESULT_REJECTED, { step: '?', sender: '?', reason: 'parameter count' }, `${result.parameters.length} parameters, expected ${this.trainer.specs.length}`);
    const seen = new Set<string>();
    for (const p of result.parameters) {
      const spec = this.trainer.specs.find((s) => s.name === p.name);
      if (!spec || seen.has(p.name)) throw new PsycheError(NODE_RESULT_REJECTED, { step: '?', sender: '?', reason: 'parameter name' }, `unknown or repeated parameter ${p.name}`);
      seen.add(p.name);
      assertSelectionsFit([p], computeChunkLayout(spec.shape, chunk), p.name);
    }
  }

  /** The clients whose results count for step q: those at least a quorum of witnesses saw (the program's health rule). */
  private appliedSenders(q: number): string[] | undefined {
    const record = this.roundRecords.get(q);
    const members = this.roundMembers.get(q);
    if (!record || !members) return undefined;
    if (!record.agreed) return [];
    const quorum = witnessQuorum(record.witnessExpected);
    return members.filter((_, i) => record.votes[i]! >= quorum);
  }

  /** Applies step `q` of `epoch`; when a counted result never comes, this node is out of sync for that epoch. */
  private async applyStep(q: number, lr: number, epoch: number): Promise<void> {
    const o = this.options;
    // The round must be over on chain (votes final) and every counted result here.
    const deadline = Date.now() + 60_000;
    let senders: string[] | undefined;
    for (;;) {
      const a = this.account!;
      const over = Number(a.step) > q || a.state === RunState.Cooldown || a.state === RunState.Finished;
      senders = over ? this.appliedSenders(q) : undefined;
      if (senders && senders.every((s) => this.results.get(q)?.has(s))) break;
      if (Date.now() > deadline || this.stopped) {
        // Applying a subset would silently fork this node's weights: stop training for the rest of
        // the epoch instead (the health check drops it) and reload the checkpoint at the next one.
        o.log('apply_incomplete', { step: q, missing: senders?.filter((s) => !this.results.get(q)?.has(s)) ?? 'round record' });
        this.outOfSyncEpoch = epoch; // the step's epoch, even when the chain has moved on while waiting
        this.weightsTag = 'dirty';
        return;
      }
      this.retryAnnouncements();
      await sleep(200);
    }
    const got = (senders ?? []).flatMap((s) => {
      const r = this.results.get(q)?.get(s);
      return r ? [r] : [];
    });
    got.sort((x, y) => (x.sender < y.sender ? -1 : x.sender > y.sender ? 1 : 0));
    const root = merkleRoot(got.map((r) => r.dataHash).sort(compareBytes));
    const record = this.roundRecords.get(q);
    const agreedRootMatches = record ? toHex(record.agreedRoot) === toHex(root) : false;
    if (got.length > 0) await this.trainer.apply(got.map((r) => r.result), lr);
    this.applied.add(q);
    this.status.stepsApplied++;
    o.log('applied', { step: q, results: got.length, senders: got.map((r) => r.sender), agreedRootMatches, lr });
    // Old rounds are no longer needed.
    for (const old of [...this.results.keys()]) if (old < q - 2) this.results.delete(old);
    for (const old of [...this.announcements.keys()]) if (old < q - 2) this.announcements.delete(old);
    for (const old of [...this.rejected.keys()]) if (old < q - 2) this.rejected.delete(old);
    for (const old of [...this.verdictsSettled.keys()]) if (old < q - 2) this.verdictsSettled.delete(old);
    for (const old of [...this.recomputedAccepted.keys()]) if (old < q - 2) this.recomputedAccepted.delete(old);
    for (const old of [...this.verdicts.keys()]) if (old < q - 2) this.verdicts.delete(old);
  }

  /** Witness duty: wait for every member's result (or the deadline), then report who delivered. */
  private async witness(step: number): Promise<void> {
    const o = this.options;
    if (this.witnessed.has(step)) return;
    this.witnessed.add(step);
    const members = this.roundMembers.get(step) ?? [];
    const record = this.roundRecords.get(step);
    const a = this.account!;
    const trainDeadlineMs = (Number(record?.startTime ?? BigInt(Math.floor(Date.now() / 1000))) + a.config.maxRoundTrainTime) * 1000 - 2_500;
    while (!this.stopped) {
      const judged = this.verdictsSettled.get(step);
      if (members.every((m) => this.rejected.get(step)?.has(m) || (this.results.get(step)?.has(m) && (judged === undefined || judged.has(m)) && this.committeeHeard(step, m)))) break;
      const now = this.account!;
      if (Number(now.step) !== step) break;
      // Until the train deadline in RoundTrain; once a quorum moved the round to RoundWitness, votes
      // still count until that window ends, so a slow verifier keeps judging until just before it.
      const until = now.state === RunState.RoundTrain ? trainDeadlineMs : now.state === RunState.RoundWitness ? (Number(now.stateStartTime) + now.config.roundWitnessTime) * 1000 - WITNESS_WINDOW_MARGIN_MS : 0;
      if (Date.now() >= until) break;
      await sleep(100);
    }
    const accepted = members
      .map((m, i) => ({ m, i, r: this.results.get(step)?.get(m) }))
      .filter((x) => {
        if (x.r === undefined || this.rejected.get(step)?.has(x.m) || this.committeeExcludes(step, x.m)) return false;
        const withheld = this.voteWithheld(step, x.m);
        if (withheld !== undefined) o.log('vote_withheld', { step, sender: x.m, reason: withheld });
        return withheld === undefined;
      });
    const participants = accepted.map((x) => x.i);
    const resultRoot = merkleRoot(accepted.map((x) => x.r!.dataHash).sort(compareBytes));
    const seed = new DataView((record?.seed ?? new Uint8Array(32)).buffer, (record?.seed ?? new Uint8Array(32)).byteOffset).getBigUint64(0, true);
    const bloom = createWitnessBloom({ expectedItems: Math.max(1, members.length), seed });
    for (const x of accepted) bloom.add(sha256(nodeIdFromString(x.m)));
    // Retried while the round lasts: the RPC may be briefly gone (a restarted localnet).
    let lastError: unknown;
    for (let attempt = 0; ; attempt++) {
      // submitWitness names the round of the account it is given. This vote (indices into this
      // round's client list, this round's root) is for `step` only: once the chain has moved on it
      // is not sent. The node before sent it with the newest account, so a witness late for step s
      // voted in round s+1 with s's bitmap and root; the rounds after never agreed (a loaded local
      // run applied no step at all) and, once the client list was compacted, its bits named others.
      const now = this.account!;
      if (Number(currentRound(now).step) !== step || (now.state !== RunState.RoundTrain && now.state !== RunState.RoundWitness)) {
        // The quorum was reached without this witness and the round moved on: late, not failed.
        o.log('witness_late', { step, ...(lastError === undefined ? {} : { error: String(lastError) }) });
        break;
      }
      try {
        await this.coordinator.submitWitness(o.runAddress, this.signer, this.chain, { participants, resultRoot }, now);
        this.status.witnessSubmissions++;
        o.log('witness_submitted', { step, participants, of: members.length });
        await this.gossip.publish(encodeAnnouncement({ kind: 'witness', step: BigInt(step), participantBloom: bloom.encode(), resultRoot }));
        break;
      } catch (e) {
        lastError = e;
        if (attempt >= 10 || this.stopped) {
          this.status.witnessFailures++;
          o.log('witness_failed', { step, error: String(e) });
          break;
        }
        // The account may be stale (the chain already moved on): wait for a fresher one.
        await sleep(1_000);
      }
    }
    void this.maybeTick();
  }

  // ---------------------------------------------------------------- peers

  private async publishAddress(): Promise<void> {
    const dir = this.options.peersDir!;
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, `${this.signer.address}.json`), JSON.stringify({ addrs: this.p2p.multiaddrs() }));
  }

  private async discoverPeers(): Promise<void> {
    const dir = this.options.peersDir;
    if (!dir || this.stopped) return;
    const connected = new Set(this.p2p.libp2p.getPeers().map((p) => p.toString()));
    for (const file of await readdir(dir).catch(() => [] as string[])) {
      if (!file.endsWith('.json') || file === `${this.signer.address}.json`) continue;
      try {
        const { addrs } = JSON.parse(await readFile(join(dir, file), 'utf8')) as { addrs: string[] };
        const addr = addrs[0];
        if (!addr) continue;
        const peer = addr.slice(addr.lastIndexOf('/p2p/') + 5);
        if (connected.has(peer)) continue;
        await this.p2p.dial(addr, { signal: AbortSignal.timeout(3_000) });
      } catch {
        // A peer that left leaves its file behind; the next pass tries again.
      }
    }
  }
}

function round4(x: number): number {
  return Math.round(x * 1e4) / 1e4;
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}

