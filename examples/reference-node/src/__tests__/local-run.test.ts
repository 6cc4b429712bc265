import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ClientState, CoordinatorClient, RunState, type RunAccount } from '@psyche/coordinator-client';
import { afterAll, describe, expect, it } from 'vitest';
import { existsSync, statSync } from 'node:fs';
import { findChromium, renderPage } from '../headless-chromium.ts';
import { DEFAULT_CONFIG, LocalRun, type LocalRunOptions } from '../local-run.ts';
import type { RunFile } from '../node-config.ts';

// Whole runs with real node processes, the real coordinator program in LiteSVM behind JSON-RPC,
// libp2p on loopback and ONNX Runtime. Small model and few steps: these are the slow tests.
const root = mkdtempSync(join(tmpdir(), 'psyche-local-run-'));
// PSYCHE_KEEP_TEST_RUNS=1 keeps every node's log and checkpoints for a post-mortem.
afterAll(() => (process.env.PSYCHE_KEEP_TEST_RUNS ? process.stderr.write(`test runs kept in ${root}\n`) : rmSync(root, { recursive: true, force: true })));

const small = (overrides: Partial<RunFile['run']>) => (r: RunFile): RunFile => ({
  ...r,
  run: { ...r.run, maxRoundTrainTime: 20, cooldownTime: 2, warmupTime: 15, ...overrides },
  schedule: { warmupSteps: 1, minLrFraction: 0.5 },
});

/**
 * Runs with a faulty witness: the faulty one and the fastest honest one can close a round before the
 * other honest witness has judged everyone, and a witness votes only for what it judged (docs/reference-node.md).
 * Votes count until the end of RoundWitness, so a longer window (4 s, not the config's 1 s) lets
 * the slow honest witness finish judging first: without it these tests would rely on the honest
 * witnesses finishing within a tick of each other (a lying verifier ejected an honest node that way).
 */
const withFaultyWitness = (verify: RunFile['verify']) => (r: RunFile): RunFile => ({ ...small({ totalSteps: 4n, roundWitnessTime: 4 })(r), verify });

async function withRun<T>(name: string, options: Omit<LocalRunOptions, 'configPath' | 'outDir' | 'print'>, body: (run: LocalRun) => Promise<T>): Promise<T> {
  const lines: string[] = [];
  const run = new LocalRun({ ...options, configPath: DEFAULT_CONFIG, outDir: join(root, name), print: (l) => lines.push(l) });
  try {
    await run.setup();
    return await body(run);
  } catch (e) {
    process.stderr.write(`--- ${name} launcher output ---\n${lines.join('\n')}\n`);
    throw e;
  } finally {
    await run.stop();
  }
}

const lastCheckpoint = (run: LocalRun, index: number): string | undefined =>
  run.view.nodes[index]!.events.filter((e) => e.event === 'checkpoint_written').map((e) => String(e.sha256)).at(-1);

const addressOf = (run: LocalRun, index: number): string => String(run.view.nodes[index]!.events.find((e) => e.event === 'started')!.address);

const stateOf = (a: RunAccount, address: string): number | undefined => {
  const i = CoordinatorClient.clientIndex(a, address as never);
  return i < 0 ? undefined : a.clients[i]!.state;
};

/**
 * Node 2 cheated: none of its results was applied by the honest nodes 0 and 1 (and theirs were), the health check
 * dropped it from the client list of later rounds (`midRun`) while the honest members stayed, and
 * the honest nodes end with the same checkpoint.
 */
function expectCheaterDropped(run: LocalRun, midRun: RunAccount): void {
  const cheater = String(run.view.nodes[2]!.events.find((e) => e.event === 'started')!.nodeId);
  const applied = [0, 1].flatMap((i) => run.view.nodes[i]!.events.filter((e) => e.event === 'applied'));
  expect(applied.length).toBeGreaterThanOrEqual(6);
  expect(applied.every((e) => !(e.senders as string[]).includes(cheater))).toBe(true);
  // The honest results do count: a run that applied nothing (no round agreed) must not pass.
  expect(applied.some((e) => (e.senders as string[]).length === 2 && e.agreedRootMatches === true)).toBe(true);
  expect(stateOf(midRun, addressOf(run, 2))).toBeUndefined();
  for (const i of [0, 1]) expect(stateOf(midRun, addressOf(run, i))).toBe(ClientState.Healthy);
  expect(lastCheckpoint(run, 0)).toBeDefined();
  expect(lastCheckpoint(run, 0)).toBe(lastCheckpoint(run, 1));
}

describe('local run (separate node processes on loopback)', () => {
  it('3 nodes train 5 steps: loss falls, witnesses agree, every node ends with identical weights, /metrics is served', async () => {
    let metrics = '';
    await withRun('e2e', { nodes: 3, overrides: small({ totalSteps: 5n }), skipEvaluation: true }, async (run) => {
      const scraped = new Promise<void>((resolve) => {
        const timer = setInterval(async () => {
          const port = run.view.nodes[0]?.metricsPort;
          if (!port || !run.view.losses.length) return;
          clearInterval(timer);
          metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text().catch(() => '');
          resolve();
        }, 200);
      });
      for (let i = 0; i < 3; i++) run.startNode(i);
      await run.waitForNodes(150_000);
      await scraped;
      const s = await run.summarize();
      expect(s.steps).toBe(5);
      expect(s.lastLoss).toBeLessThan(s.firstLoss - 0.5);
      expect(s.identicalWeights).toBe(true);
      expect(s.fingerprints).toHaveLength(3);
      expect(s.witnessSubmissions).toBeGreaterThanOrEqual(5);
      expect(s.witnessFailures).toBe(0);
      expect(s.compressionRatio).toBeGreaterThan(100);
      expect(s.healthyAtEnd).toBe(3);
      const applied = run.view.nodes.flatMap((n) => n.events.filter((e) => e.event === 'applied'));
      expect(applied).toHaveLength(15);
      expect(applied.every((e) => e.results === 3 && e.agreedRootMatches === true)).toBe(true);
      expect((await run.client.fetchRun(run.runAddress)).state).toBe(RunState.Finished);
      // The dashboard, as a browser renders it (skipped only where chromium is not installed).
      if (findChromium()) {
        const screenshot = join(root, 'dashboard.png');
        const dom = await renderPage(run.dashboardUrl, screenshot);
        expect(existsSync(screenshot) && statSync(screenshot).size).toBeGreaterThan(10_000);
        expect(dom).toContain('<span id="phase">finished</span>');
        expect((dom.match(/class="Pending"/g) ?? []).length).toBe(3); // finished: members returned to pending
        expect(dom).toMatch(/class="p-train">train 5</);
        mkdirSync(join(import.meta.dirname, '../../.psyche'), { recursive: true });
        copyFileSync(screenshot, join(import.meta.dirname, '../../.psyche/dashboard.png'));
      } else {
        process.stderr.write('chromium not installed: dashboard check skipped\n');
      }
    });
    expect(metrics).toMatch(/psyche_node_loss\{node="[^"]+"\} \d/);
    expect(metrics).toContain('psyche_node_phase{');
  }, 240_000);

  it('Ctrl-C (SIGINT) withdraws from the run and exits 0', async () => {
    await withRun('sigint', { nodes: 2, overrides: small({ totalSteps: 3n }), skipEvaluation: true }, async (run) => {
      const node = run.startNode(0);
      await run.waitForState((a) => a.numPending === 1, 60_000);
      node.process!.kill('SIGINT');
      expect(await node.exited).toBe(0);
      expect(node.events.find((e) => e.event === 'leaving')?.reason).toBe('SIGINT');
      expect(node.events.some((e) => e.event === 'stopped')).toBe(true);
      expect((await run.client.fetchRun(run.runAddress)).numPending).toBe(0);
    });
  }, 90_000);

  it('a node publishing garbage is rejected by every peer, dropped by the health check, and the others finish in agreement', async () => {
    await withRun('garbage', { nodes: 3, overrides: small({ totalSteps: 4n }), skipEvaluation: true, nodeArgs: (i) => (i === 2 ? ['--fault', 'garbage'] : []) }, async (run) => {
      for (let i = 0; i < 3; i++) run.startNode(i);
      const midRun = await run.waitForState((a) => a.state === RunState.RoundTrain && a.step >= 3n, 120_000);
      await run.waitForNodes(150_000);
      const rejected = [0, 1].flatMap((i) => run.view.nodes[i]!.events.filter((e) => e.event === 'result_rejected'));
      expect(rejected.length).toBeGreaterThanOrEqual(1);
      expect(rejected.every((e) => /not a valid result|not the size of a result/.test(String(e.reason)))).toBe(true);
      // Its first blob is 4 KiB too long: refused from the ticket, before any byte is fetched.
      expect(rejected.some((e) => String(e.reason).includes('not the size of a result'))).toBe(true);
      // Its results are never applied, and the health check drops it.
      const garbageId = String(run.view.nodes[2]!.events.find((e) => e.event === 'started')!.nodeId);
      const applied = [0, 1].flatMap((i) => run.view.nodes[i]!.events.filter((e) => e.event === 'applied'));
      expect(applied.length).toBeGreaterThanOrEqual(8);
      expect(applied.some((e) => (e.senders as string[]).length === 2)).toBe(true);
      expect(applied.every((e) => !(e.senders as string[]).includes(garbageId))).toBe(true);
      const garbageAddress = String(run.view.nodes[2]!.events.find((e) => e.event === 'started')!.address);
      // Dropped by the health check: gone from the client list of later rounds while the honest members stay.
      expect(stateOf(midRun, garbageAddress)).toBeUndefined();
      for (const i of [0, 1]) expect(stateOf(midRun, addressOf(run, i))).toBe(ClientState.Healthy);
      expect(lastCheckpoint(run, 0)).toBeDefined();
      expect(lastCheckpoint(run, 0)).toBe(lastCheckpoint(run, 1));
      expect(lastCheckpoint(run, 2)).toBeUndefined();
    });
  }, 200_000);

  it('a node publishing well-formed results with flipped signs is caught by every verifier\'s recomputation, left out of the votes and dropped; honest results all pass', async () => {
    const verifying = withFaultyWitness({ recompute: true, replicas: 0 });
    await withRun('flip', { nodes: 3, overrides: verifying, skipEvaluation: true, nodeArgs: (i) => (i === 2 ? ['--fault', 'flip'] : []) }, async (run) => {
      for (let i = 0; i < 3; i++) run.startNode(i);
      const midRun = await run.waitForState((a) => a.state === RunState.RoundTrain && a.step >= 3n, 120_000);
      await run.waitForNodes(150_000);
      const cheater = String(run.view.nodes[2]!.events.find((e) => e.event === 'started')!.nodeId);
      const verdicts = [0, 1].flatMap((i) => run.view.nodes[i]!.events.filter((e) => e.event === 'verified'));
      // The first step is judged by both honest nodes: the cheater's result rejected, the honest peer's accepted.
      for (const i of [0, 1]) {
        const first = run.view.nodes[i]!.events.filter((e) => e.event === 'verified' && e.step === verdicts[0]!.step);
        expect(first.find((e) => e.sender === cheater)?.accepted).toBe(false);
        expect(first.find((e) => e.sender !== cheater)?.accepted).toBe(true);
      }
      expect(verdicts.filter((e) => e.sender !== cheater).every((e) => e.accepted === true && Number(e.jaccard) >= 0.9)).toBe(true);
      expect(verdicts.filter((e) => e.sender === cheater).every((e) => e.accepted === false && Number(e.signHamming) > 0.5)).toBe(true);
      const rejected = [0, 1].flatMap((i) => run.view.nodes[i]!.events.filter((e) => e.event === 'result_rejected' && e.sender === cheater));
      expect(rejected.length).toBeGreaterThanOrEqual(2);
      expect(rejected.every((e) => String(e.reason).startsWith('recomputation disagrees'))).toBe(true);
      expectCheaterDropped(run, midRun);
    });
  }, 200_000);

  it('a slow verifier whose recomputations finish after the round moved on does not attest the cheater unjudged: it withholds its vote, the cheater is dropped, no honest node is', async () => {
    // Node 1 starts every recomputation SLOW_VERIFY_MS late, so node 0 and the cheater (which votes
    // for itself) close the first round before node 1 has judged both, even with the 4 s window.
    // The window keeps node 1's late vote counting: the node before this test attested whatever it
    // had not judged yet, which gave the cheater its second vote and had its result applied.
    const verifying = withFaultyWitness({ recompute: true, replicas: 0 });
    await withRun('slow-verifier', { nodes: 3, overrides: verifying, skipEvaluation: true, nodeArgs: (i) => (i === 2 ? ['--fault', 'flip'] : i === 1 ? ['--fault', 'slow-verify'] : []) }, async (run) => {
      for (let i = 0; i < 3; i++) run.startNode(i);
      const midRun = await run.waitForState((a) => a.state === RunState.RoundTrain && a.step >= 3n, 150_000);
      await run.waitForNodes(180_000);
      // The node before this change applied the cheater's first result here (node 1 voted for it unjudged).
      expectCheaterDropped(run, midRun);
      const cheater = String(run.view.nodes[2]!.events.find((e) => e.event === 'started')!.nodeId);
      const first = Math.min(...run.view.nodes[1]!.events.filter((e) => e.event === 'trained').map((e) => Number(e.step)));
      // Node 1 voted at the first step before judging everyone, and said so.
      const withheld = run.view.nodes[1]!.events.filter((e) => e.event === 'vote_withheld' && e.step === first);
      expect(withheld.length).toBeGreaterThanOrEqual(1);
      expect(withheld.every((e) => e.reason === 'not judged: recomputation not finished')).toBe(true);
      // Its judgements still came, late: the cheater rejected, the honest peer accepted.
      const late = run.view.nodes[1]!.events.filter((e) => e.event === 'verified' && e.step === first);
      expect(late.find((e) => e.sender === cheater)?.accepted).toBe(false);
      expect(late.find((e) => e.sender !== cheater)?.accepted).toBe(true);
    });
  }, 240_000);

  it('with a replay ring ([verify] replicas = 1) each node replays one other; the cheater\'s verifier rejects it and the third node, which never replays it, leaves it out on that verdict', async () => {
    const ring = withFaultyWitness({ recompute: true, replicas: 1 });
    await withRun('ring', { nodes: 3, overrides: ring, skipEvaluation: true, nodeArgs: (i) => (i === 2 ? ['--fault', 'flip'] : []) }, async (run) => {
      for (let i = 0; i < 3; i++) run.startNode(i);
      const midRun = await run.waitForState((a) => a.state === RunState.RoundTrain && a.step >= 3n, 120_000);
      await run.waitForNodes(150_000);
      const idOf = (i: number) => String(run.view.nodes[i]!.events.find((e) => e.event === 'started')!.nodeId);
      const cheater = idOf(2);
      const targetsOf = (i: number) => run.view.nodes[i]!.events.find((e) => e.event === 'replay_committee')!.targets as string[];
      // A ring of three: everyone replays exactly one other, and every node is someone's target.
      for (const i of [0, 1, 2]) expect(targetsOf(i)).toHaveLength(1);
      expect(new Set([0, 1, 2].map((i) => targetsOf(i)[0])).size).toBe(3);
      const verifier = [0, 1].find((i) => targetsOf(i)[0] === cheater)!;
      const bystander = verifier === 0 ? 1 : 0;
      expect(verifier).toBeDefined();
      // Each honest node judged only its own target.
      for (const i of [0, 1]) {
        const judged = new Set(run.view.nodes[i]!.events.filter((e) => e.event === 'verified').map((e) => String(e.sender)));
        expect([...judged]).toEqual(targetsOf(i));
      }
      const caught = run.view.nodes[verifier]!.events.filter((e) => e.event === 'verified' && e.sender === cheater);
      expect(caught.length).toBeGreaterThanOrEqual(1);
      expect(caught.every((e) => e.accepted === false)).toBe(true);
      // The bystander never replayed the cheater, yet left it out of its vote on the verifier's gossiped verdict.
      const excluded = run.view.nodes[bystander]!.events.filter((e) => e.event === 'committee_excluded' && e.sender === cheater);
      expect(excluded.length).toBeGreaterThanOrEqual(1);
      expect((excluded[0]!.rejectedBy as string[])).toEqual([idOf(verifier)]);
      expectCheaterDropped(run, midRun);
    });
  }, 200_000);

  it('a lying verifier that rejects every honest result is outvoted: every result is applied on every node, the liar included, and all end identical', async () => {
    const verifying = withFaultyWitness({ recompute: true, replicas: 0 });
    await withRun('liar', { nodes: 3, overrides: verifying, skipEvaluation: true, nodeArgs: (i) => (i === 2 ? ['--fault', 'reject'] : []) }, async (run) => {
      for (let i = 0; i < 3; i++) run.startNode(i);
      await run.waitForNodes(150_000);
      const liarRejections = run.view.nodes[2]!.events.filter((e) => e.event === 'result_rejected');
      expect(liarRejections.length).toBeGreaterThanOrEqual(2);
      // The honest quorum counted every member, so the liar applies the results it voted against.
      for (const i of [0, 1, 2]) {
        const applied = run.view.nodes[i]!.events.filter((e) => e.event === 'applied');
        expect(applied.length).toBe(4);
        expect(applied.every((e) => (e.senders as string[]).length === 3)).toBe(true);
        expect(run.view.nodes[i]!.events.some((e) => e.event === 'apply_incomplete')).toBe(false);
      }
      expect(new Set([0, 1, 2].map((i) => lastCheckpoint(run, i))).size).toBe(1);
      expect(lastCheckpoint(run, 0)).toBeDefined();
    });
  }, 200_000);

  it('the localnet restarts from its snapshot mid-round and the run resumes to the end with identical weights', async () => {
    await withRun('restart', { nodes: 3, overrides: small({ totalSteps: 7n }), skipEvaluation: true }, async (run) => {
      for (let i = 0; i < 3; i++) run.startNode(i);
      await run.waitForState((a) => a.state === RunState.RoundTrain && a.step >= 3n, 90_000);
      const before = await run.client.fetchRun(run.runAddress);
      await run.restartLocalnet();
      const after = await run.client.fetchRun(run.runAddress);
      expect(after.step).toBeGreaterThanOrEqual(before.step);
      expect(after.epoch).toBe(before.epoch);
      await run.waitForNodes(150_000);
      expect((await run.client.fetchRun(run.runAddress)).state).toBe(RunState.Finished);
      const trainedSteps = new Set(run.view.losses.map((l) => l.step));
      expect(Math.max(...trainedSteps)).toBe(7);
      const fingerprints = [0, 1, 2].map((i) => lastCheckpoint(run, i));
      expect(fingerprints[0]).toBeDefined();
      expect(new Set(fingerprints).size).toBe(1);
    });
  }, 240_000);

  it('kill -9 mid-round: the run continues, the node is dropped, restarts and rejoins next epoch with a late node; all end identical', async () => {
    // Three witnesses (quorum 2), so rounds stay decisive with one of them dead.
    // 24 steps leave room for a third epoch: a late node whose start-up misses the second epoch's
    // join window (nodes join only at epoch boundaries) is admitted at the next one.
    await withRun('faults', { nodes: 3, overrides: small({ totalSteps: 24n, epochTime: 14, minClients: 1, witnessNodes: 3 }), skipEvaluation: true }, async (run) => {
      for (let i = 0; i < 3; i++) run.startNode(i);
      await run.waitForState((a) => a.state === RunState.RoundTrain && a.step >= 3n, 90_000);
      const victim = run.view.nodes[1]!;
      const victimAddress = victim.address;
      victim.process!.kill('SIGKILL');
      await victim.exited;
      // The health check (no witness saw it) drops it; the survivor keeps training.
      const afterDrop = await run.waitForState((a) => stateOf(a, victimAddress) !== ClientState.Healthy && a.step >= 4n, 60_000);
      expect(afterDrop.state === RunState.RoundTrain || afterDrop.state === RunState.RoundWitness || afterDrop.state === RunState.Cooldown).toBe(true);
      // The survivors still count: each votes for the other only once it judged it, which behind
      // the dead node's missing result must not wait for that result's deadline.
      for (const i of [0, 2]) expect(stateOf(afterDrop, addressOf(run, i))).toBe(ClientState.Healthy);
      // The victim restarts with its key, and a third node arrives late: both join at the next epoch.
      run.startNode(1);
      run.startNode(3);
      await run.waitForState((a) => a.epoch >= 2n && a.state === RunState.RoundTrain && a.numClients === 4, 120_000);
      await run.waitForNodes(150_000);
      const finalState = await run.client.fetchRun(run.runAddress);
      expect(finalState.state).toBe(RunState.Finished);
      const loaded = [1, 3].map((i) => run.view.nodes[i]!.events.filter((e) => e.event === 'checkpoint_loaded').length);
      expect(loaded.every((n) => n >= 1)).toBe(true);
      const fingerprints = [0, 1, 2, 3].map((i) => lastCheckpoint(run, i));
      expect(fingerprints[0]).toBeDefined();
      expect(new Set(fingerprints).size).toBe(1);
    });
  }, 300_000);
});
