import { spawn, type ChildProcess } from 'node:child_process';
import { cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { NODE_LOCAL_RUN_FAILED, PsycheError, createRng } from '@psyche/core';
import { CoordinatorClient, ClientState, RunState, startLocalnet, type Localnet, type RunAccount } from '@psyche/coordinator-client';
import { buildExampleDataset } from '@psyche/data-provider';
import { LlamaEvalSession } from '@psyche/gpu';
import { initParameters, llamaParameterSpecs, loadLlamaCheckpoint, type Parameters } from '@psyche/modeling';
import { generateKeyPairSigner, lamports, type Address } from '@solana/kit';
import { dashboardHtml } from './dashboard.ts';
import { readRunFile, runIdOf, type RunFile } from './node-config.ts';
import { openTrainingData } from './trainer.ts';

const here = dirname(fileURLToPath(import.meta.url));
export const NODE_BIN = resolve(here, 'bin/psyche-node.ts');
export const DEFAULT_CONFIG = resolve(here, '../configs/local.toml');

export interface LocalRunOptions {
  readonly nodes: number;
  readonly configPath: string;
  readonly outDir: string;
  /** Overrides of the run file (tests use fewer steps). */
  readonly overrides?: (run: RunFile) => RunFile;
  readonly dashboardPort?: number;
  /** Give up after this long (the run must finish well before). */
  readonly timeoutMs?: number;
  /** Extra arguments per node index (tests inject faults). */
  readonly nodeArgs?: (index: number) => string[];
  /** Called with every JSON log line of every node. */
  readonly onEvent?: (index: number, event: NodeEvent) => void;
  readonly print?: (line: string) => void;
  /** Skip the validation losses and the sample (faster tests). */
  readonly skipEvaluation?: boolean;
}

export interface NodeEvent {
  readonly event: string;
  readonly [key: string]: unknown;
}

/** One node process of the local run. */
export interface LocalNode {
  index: number;
  keyPath: string;
  dataDir: string;
  process: ChildProcess | undefined;
  exited: Promise<number | null>;
  address: string;
  events: NodeEvent[];
  metricsPort: number;
}

export interface LocalRunSummary {
  readonly nodes: number;
  readonly steps: number;
  readonly parameters: number;
  readonly wallSeconds: number;
  readonly trainSeconds: number;
  readonly firstLoss: number;
  readonly lastLoss: number;
  readonly validationLossBefore: number | null;
  readonly validationLossAfter: number | null;
  readonly tokensPerSecond: number;
  readonly resultBytesPerNodePerStep: number;
  readonly denseBf16BytesPerStep: number;
  readonly compressionRatio: number;
  readonly bytesReceivedPerNodePerStep: number;
  readonly witnessSubmissions: number;
  readonly witnessFailures: number;
  readonly resultsRejected: number;
  /** Peer results judged by recomputation, and how many of those were rejected. */
  readonly resultsVerified: number;
  readonly verificationRejections: number;
  readonly healthyAtEnd: number;
  readonly droppedOrGone: number;
  readonly fingerprints: string[];
  readonly identicalWeights: boolean;
  readonly checkpointDir: string | null;
  readonly sample: string | null;
}

/** Everything the launcher knows, for the dashboard and the summary. */
export class RunView {
  account: RunAccount | undefined;
  readonly timeline: { t: number; phase: string; step: number; epoch: number }[] = [];
  readonly nodes: LocalNode[] = [];
  readonly losses: { node: number; step: number; loss: number }[] = [];
  readonly bandwidth: { node: number; step: number; sent: number; dense: number }[] = [];
  readonly witness: { node: number; step: number; ok: boolean }[] = [];

  json(): unknown {
    const a = this.account;
    return {
      phase: a ? PHASES[a.state] : 'starting',
      epoch: a ? Number(a.epoch) : 0,
      step: a ? Number(a.step) : 0,
      totalSteps: a ? Number(a.config.totalSteps) : 0,
      timeline: this.timeline,
      losses: this.losses,
      bandwidth: this.bandwidth,
      witness: this.witness,
      participants: a
        ? [
            ...a.clients.slice(0, a.numClients).map((c, i) => ({ index: i, key: Buffer.from(c.key).toString('hex').slice(0, 16), state: CLIENT_STATES[c.state] ?? String(c.state), votes: a.state === RunState.RoundTrain || a.state === RunState.RoundWitness ? a.rounds[a.roundHead % 4]!.votes[i] : null })),
            ...a.pending.slice(0, a.numPending).map((c) => ({ index: -1, key: Buffer.from(c.key).toString('hex').slice(0, 16), state: 'Pending', votes: null })),
          ]
        : [],
      nodes: this.nodes.map((n) => ({ index: n.index, address: n.address, alive: n.process !== undefined && n.process.exitCode === null && n.process.signalCode === null, metricsPort: n.metricsPort })),
    };
  }
}

const PHASES = ['uninitialized', 'waiting', 'warmup', 'train', 'witness', 'cooldown', 'finished', 'paused'];
const CLIENT_STATES = ['Pending', 'Healthy', 'Dropped', 'Withdrawn', 'Ejected'];

/**
 * The local run, as separate processes on loopback: the embedded localnet (LiteSVM with the
 * coordinator program) in this process, a run created from the TOML config, N node processes with
 * their own keys, a dashboard, then a summary, the final checkpoint and a sample.
 */
export class LocalRun {
  readonly view = new RunView();
  localnet!: Localnet;
  client!: CoordinatorClient;
  runAddress!: Address;
  runFile!: RunFile;
  dashboardUrl = '';
  private dashboard: Server | undefined;
  private abort = new AbortController();
  private subscription: Promise<void> | undefined;
  private started = 0;

  constructor(readonly options: LocalRunOptions) {}

  private print(line: string): void {
    (this.options.print ?? ((l: string) => process.stdout.write(`${l}\n`)))(line);
  }

  /** Localnet, run, dashboard (no nodes yet). */
  async setup(): Promise<void> {
    const o = this.options;
    this.started = performance.now();
    mkdirSync(o.outDir, { recursive: true });
    let runFile = readRunFile(o.configPath);
    runFile = { ...runFile, run: { ...runFile.run, initMinClients: o.nodes } };
    if (o.overrides) runFile = o.overrides(runFile);
    this.runFile = runFile;
    writeFileSync(join(o.outDir, 'run.toml'), serializeRunFile(runFile, o.configPath));
    // Build the example dataset once, before the nodes race to build it.
    if (runFile.data.kind === 'example') await buildExampleDataset({ outDir: runFile.data.dir, tokenizer: 'byte', seqLen: runFile.run.seqLen });
    this.localnet = await startLocalnet({ statePath: join(o.outDir, 'localnet.bin') });
    const payer = await generateKeyPairSigner();
    this.client = new CoordinatorClient({ rpcUrl: this.localnet.url, wsUrl: this.localnet.wsUrl, payer });
    await this.client.rpc.requestAirdrop(payer.address, lamports(100_000_000_000n)).send();
    this.runAddress = await this.client.createRun({ authority: payer, config: runFile.run, runId: runIdOf(`${runFile.name}/${Date.now()}`) });
    this.print(`localnet ${this.localnet.url}  run ${this.runAddress}  (${runFile.run.totalSteps} steps, ${o.nodes} nodes, global batch ${runFile.run.globalBatchEnd} × ${runFile.run.seqLen} tokens)`);
    this.subscription = this.client
      .subscribe(this.runAddress, (a) => this.onAccount(a), { signal: this.abort.signal })
      .catch((e: unknown) => {
        if (!this.abort.signal.aborted) this.print(`subscription ended: ${String(e)}`);
      });
    await this.startDashboard(o.dashboardPort ?? 0);
  }

  private onAccount(a: RunAccount): void {
    const last = this.view.timeline.at(-1);
    const phase = PHASES[a.state] ?? '?';
    if (!last || last.phase !== phase || last.step !== Number(a.step)) this.view.timeline.push({ t: Date.now(), phase, step: Number(a.step), epoch: Number(a.epoch) });
    this.view.account = a;
  }

  private async startDashboard(port: number): Promise<void> {
    this.dashboard = createServer((req, res) => {
      if (req.url === '/api/state') res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(this.view.json()));
      else if (req.url === '/' || req.url === '/index.html') res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(dashboardHtml());
      else res.writeHead(404).end();
    });
    await new Promise<void>((r) => this.dashboard!.listen(port, '127.0.0.1', () => r()));
    this.dashboardUrl = `http://127.0.0.1:${(this.dashboard.address() as AddressInfo).port}/`;
    this.print(`dashboard ${this.dashboardUrl}`);
  }

  /** Starts (or restarts, same key) node `index` as a separate process. */
  startNode(index: number, extraArgs: readonly string[] = []): LocalNode {
    const o = this.options;
    const existing = this.view.nodes[index];
    const dir = join(o.outDir, `node-${index}`);
    const node: LocalNode = existing ?? { index, keyPath: join(dir, 'key.json'), dataDir: dir, process: undefined, exited: Promise.resolve(null), address: '', events: [], metricsPort: 0 };
    const args = [
      '--conditions=@psyche/source',
      '--import',
      'tsx',
      NODE_BIN,
      'run',
      '--config',
      join(o.outDir, 'run.toml'),
      '--run',
      this.runAddress,
      '--rpc',
      this.localnet.url,
      '--ws',
      this.localnet.wsUrl,
      '--key',
      node.keyPath,
      '--data-dir',
      node.dataDir,
      '--peers-dir',
      join(o.outDir, 'peers'),
      '--metrics-port',
      '0',
      '--log',
      'json',
      '--airdrop',
      ...(o.nodeArgs?.(index) ?? []),
      ...extraArgs,
    ];
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ORT_LOGGING_LEVEL: '3' } });
    node.process = child;
    node.exited = new Promise((r) => child.once('exit', (code) => r(code)));
    const logFile = join(dir, 'node.log');
    mkdirSync(dir, { recursive: true });
    const lines: string[] = [];
    createInterface({ input: child.stdout! }).on('line', (line) => {
      lines.push(line);
      let e: NodeEvent;
      try {
        e = JSON.parse(line) as NodeEvent;
      } catch {
        return;
      }
      node.events.push(e);
      this.onNodeEvent(node, e);
    });
    createInterface({ input: child.stderr! }).on('line', (line) => lines.push(`stderr: ${line}`));
    child.once('exit', () => writeFileSync(logFile, `${lines.join('\n')}\n`, { flag: 'a' }));
    this.view.nodes[index] = node;
    return node;
  }

  private onNodeEvent(node: LocalNode, e: NodeEvent): void {
    this.options.onEvent?.(node.index, e);
    const v = this.view;
    switch (e.event) {
      case 'started':
        node.address = String(e.address);
        node.metricsPort = Number(e.metricsPort);
        this.print(`node ${node.index} started: ${node.address} (metrics http://127.0.0.1:${node.metricsPort}/metrics)`);
        break;
      case 'trained': {
        const step = Number(e.step);
        v.losses.push({ node: node.index, step, loss: Number(e.loss) });
        v.bandwidth.push({ node: node.index, step, sent: Number(e.resultBytes), dense: Number(e.denseBf16Bytes) });
        const batch = e.batch as number[];
        this.print(
          `step ${String(step).padStart(3)} node ${node.index}: loss ${Number(e.loss).toFixed(3)}  batch [${batch[0]}, ${batch[1]})  ${e.tokensPerSecond} tok/s  sent ${e.resultBytes} B (dense bf16 ${e.denseBf16Bytes} B)  peers ${e.peers}`,
        );
        break;
      }
      case 'witness_submitted':
        v.witness.push({ node: node.index, step: Number(e.step), ok: true });
        break;
      case 'witness_failed':
        v.witness.push({ node: node.index, step: Number(e.step), ok: false });
        this.print(`node ${node.index}: witness for step ${e.step} failed: ${e.error}`);
        break;
      case 'result_rejected':
        this.print(`node ${node.index}: rejected step ${e.step} result of ${String(e.sender).slice(0, 12)}…: ${e.reason}`);
        break;
      case 'checkpoint_written':
        this.print(`node ${node.index}: checkpoint epoch ${e.epoch} ${e.dir} sha256 ${String(e.sha256).slice(0, 16)}…`);
        break;
      case 'checkpoint_loaded':
        this.print(`node ${node.index}: loaded checkpoint of epoch ${e.epoch} from peers (${e.bytes} B, ${e.ms} ms)`);
        break;
      case 'error':
        this.print(`node ${node.index}: error ${e.error}`);
        break;
      default:
        break;
    }
  }

  async waitForState(predicate: (a: RunAccount) => boolean, timeoutMs: number): Promise<RunAccount> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const a = await this.client.fetchRun(this.runAddress);
      if (predicate(a)) return a;
      await new Promise((r) => setTimeout(r, 250));
    }
    throw new PsycheError(NODE_LOCAL_RUN_FAILED, { reason: 'timeout' }, `run state not reached within ${timeoutMs} ms`);
  }

  /** Waits for every node process to exit (they exit when the run is Finished). */
  async waitForNodes(timeoutMs: number): Promise<void> {
    const timer = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), timeoutMs).unref());
    const all = Promise.all(this.view.nodes.map((n) => n.exited));
    if ((await Promise.race([all, timer])) === 'timeout') throw new PsycheError(NODE_LOCAL_RUN_FAILED, { reason: 'timeout' }, `nodes did not finish within ${timeoutMs} ms`);
  }

  /** Restarts the localnet from its snapshot (same URL port is not kept: nodes must be told; tests use it between epochs). */
  async restartLocalnet(): Promise<void> {
    this.abort.abort();
    await this.subscription;
    await this.localnet.stop();
    this.localnet = await startLocalnet({ statePath: join(this.options.outDir, 'localnet.bin'), port: Number(new URL(this.localnet.url).port) });
    this.abort = new AbortController();
    this.subscription = this.client.subscribe(this.runAddress, (a) => this.onAccount(a), { signal: this.abort.signal }).catch(() => undefined);
  }

  async summarize(): Promise<LocalRunSummary> {
    const o = this.options;
    const wallSeconds = (performance.now() - this.started) / 1000;
    const a = await this.client.fetchRun(this.runAddress);
    const losses = this.view.losses;
    const steps = [...new Set(losses.map((l) => l.step))].sort((x, y) => x - y);
    const meanAt = (s: number | undefined) => {
      const at = losses.filter((l) => l.step === s);
      return at.reduce((n, l) => n + l.loss, 0) / Math.max(1, at.length);
    };
    const trained = this.view.nodes.flatMap((n) => n.events.filter((e) => e.event === 'trained'));
    const times = this.view.nodes.flatMap((n) => n.events.filter((e) => e.event === 'trained').map((e) => Date.parse(String(e.t))));
    const trainSeconds = times.length > 1 ? (Math.max(...times) - Math.min(...times)) / 1000 : 0;
    const tokens = trained.reduce((n, e) => n + Number(e.tokens), 0);
    const sent = trained.reduce((n, e) => n + Number(e.resultBytes), 0) / Math.max(1, trained.length);
    const dense = Number(trained[0]?.denseBf16Bytes ?? 0);
    const statuses = await Promise.all(this.view.nodes.map((n) => fetchJson(`http://127.0.0.1:${n.metricsPort}/status`).catch(() => undefined)));
    const fingerprints = this.view.nodes.flatMap((n) => {
      const e = n.events.filter((x) => x.event === 'checkpoint_written').at(-1);
      return e ? [String(e.sha256)] : [];
    });
    const lastCheckpoint = this.view.nodes
      .map((n) => n.events.filter((e) => e.event === 'checkpoint_written').at(-1))
      .find((e) => e !== undefined);
    const checkpointDir = lastCheckpoint ? String(lastCheckpoint.dir) : null;
    let finalDir: string | null = null;
    if (checkpointDir) {
      finalDir = join(o.outDir, 'final-checkpoint');
      rmSync(finalDir, { recursive: true, force: true });
      cpSync(checkpointDir, finalDir, { recursive: true });
    }
    let validationBefore: number | null = null;
    let validationAfter: number | null = null;
    let sample: string | null = null;
    if (!o.skipEvaluation && finalDir) {
      const specs = llamaParameterSpecs(this.runFile.model);
      validationBefore = await validationLoss(this.runFile, initParameters(specs, this.runFile.modelSeed));
      const loaded = await loadLlamaCheckpoint(finalDir);
      validationAfter = await validationLoss(this.runFile, loaded.parameters);
      sample = await sampleText(this.runFile, loaded.parameters);
      writeFileSync(join(o.outDir, 'sample.txt'), `${sample}\n`);
    }
    const bytesReceived = this.view.nodes.flatMap((n) => n.events.filter((e) => e.event === 'trained')).length;
    void bytesReceived;
    const healthy = a.clients.slice(0, a.numClients).filter((c) => c.state === ClientState.Healthy).length + a.pending.slice(0, a.numPending).length;
    const witnessOk = this.view.witness.filter((w) => w.ok).length;
    const witnessFailed = this.view.witness.filter((w) => !w.ok).length;
    const rejected = this.view.nodes.reduce((n, node) => n + node.events.filter((e) => e.event === 'result_rejected').length, 0);
    const verified = this.view.nodes.flatMap((node) => node.events.filter((e) => e.event === 'verified'));
    // Nodes have exited by now: their last log lines carry the counters.
    const receivedBytes = this.view.nodes.reduce((n, node) => n + Number(node.events.filter((e) => e.event === 'trained').at(-1)?.bytesReceived ?? 0), 0);
    void statuses;
    return {
      nodes: o.nodes,
      steps: steps.length,
      parameters: llamaParameterSpecs(this.runFile.model).reduce((n, s) => n + s.shape.reduce((x, y) => x * y, 1), 0),
      wallSeconds,
      trainSeconds,
      firstLoss: meanAt(steps[0]),
      lastLoss: meanAt(steps.at(-1)),
      validationLossBefore: validationBefore,
      validationLossAfter: validationAfter,
      tokensPerSecond: trainSeconds > 0 ? tokens / trainSeconds : 0,
      resultBytesPerNodePerStep: sent,
      denseBf16BytesPerStep: dense,
      compressionRatio: sent > 0 ? dense / sent : 0,
      bytesReceivedPerNodePerStep: receivedBytes / Math.max(1, o.nodes) / Math.max(1, steps.length),
      witnessSubmissions: witnessOk,
      witnessFailures: witnessFailed,
      resultsRejected: rejected,
      resultsVerified: verified.length,
      verificationRejections: verified.filter((e) => e.accepted === false).length,
      healthyAtEnd: healthy,
      droppedOrGone: o.nodes - healthy,
      fingerprints,
      identicalWeights: fingerprints.length > 0 && fingerprints.every((f) => f === fingerprints[0]),
      checkpointDir: finalDir,
      sample,
    };
  }

  async stop(): Promise<void> {
    for (const n of this.view.nodes) if (n.process && n.process.exitCode === null && n.process.signalCode === null) n.process.kill('SIGTERM');
    await Promise.race([Promise.all(this.view.nodes.map((n) => n.exited)), new Promise((r) => setTimeout(r, 10_000).unref())]);
    for (const n of this.view.nodes) if (n.process && n.process.exitCode === null && n.process.signalCode === null) n.process.kill('SIGKILL');
    this.abort.abort();
    await this.subscription;
    await new Promise<void>((r) => (this.dashboard ? this.dashboard.close(() => r()) : r()));
    this.dashboard?.closeAllConnections();
    await this.localnet?.stop();
  }
}

async function fetchJson(url: string): Promise<unknown> {
  const res = await fetch(url, { signal: AbortSignal.timeout(2_000) });
  return res.json();
}

/** Mean loss over the first validation sequences (fixed ids: comparable before and after). */
export async function validationLoss(run: RunFile, parameters: Parameters, sequences = 16): Promise<number> {
  const data = await openTrainingData(run, 'validation');
  const seq = run.run.seqLen;
  const count = Math.min(sequences, data.describe().sequenceCount);
  const lm = await LlamaEvalSession.create({ config: run.model, parameters, contextLength: seq });
  let sum = 0;
  try {
    for (let i = 0; i < count; i++) {
      const batch = await data.getSequences([i]);
      const ids = new BigInt64Array(seq);
      const labels = new BigInt64Array(seq);
      for (let t = 0; t < seq; t++) {
        ids[t] = BigInt(batch.tokens[t]!);
        labels[t] = BigInt(batch.tokens[t + 1]!);
      }
      sum += (await lm.evaluate(ids, labels)).loss;
    }
  } finally {
    await lm.close();
    await data.close();
  }
  return sum / count;
}

export async function sampleText(run: RunFile, parameters: Parameters, prompt = 'Call me Ishmael. '): Promise<string> {
  const lm = await LlamaEvalSession.create({ config: run.model, parameters, contextLength: run.run.seqLen });
  try {
    const ids = await lm.generate([...new TextEncoder().encode(prompt)], { maxNewTokens: 160, sampling: { strategy: 'top-p', topP: 0.9, temperature: 0.8 }, rng: createRng('local-run-sample') });
    return prompt + new TextDecoder('utf-8', { fatal: false }).decode(Uint8Array.from(ids.filter((t) => t < 256)));
  } finally {
    await lm.close();
  }
}

/** The run file as TOML again (the launcher's overrides included), for the node processes. */
export function serializeRunFile(run: RunFile, source: string): string {
  const r = run.run;
  const m = run.model;
  const lines = [
    `# written by the local run from ${source}`,
    '[run]',
    `name = ${JSON.stringify(run.name)}`,
    `total_steps = ${r.totalSteps}`,
    `batch_ramp_steps = ${r.batchRampSteps}`,
    `global_batch_start = ${r.globalBatchStart}`,
    `global_batch = ${r.globalBatchEnd}`,
    `seq_len = ${r.seqLen}`,
    `warmup_time = ${r.warmupTime}`,
    `max_round_train_time = ${r.maxRoundTrainTime}`,
    `round_witness_time = ${r.roundWitnessTime}`,
    `cooldown_time = ${r.cooldownTime}`,
    `epoch_time = ${r.epochTime}`,
    `waiting_for_members_extra_time = ${r.waitingForMembersExtraTime}`,
    `init_min_clients = ${r.initMinClients}`,
    `min_clients = ${r.minClients}`,
    `witness_nodes = ${r.witnessNodes}`,
    '[distro]',
    `chunk = ${r.distroChunk}`,
    `topk = ${r.distroTopk}`,
    `quantize_1bit = ${r.distroQuantize1bit}`,
    `compression_decay = ${num(r.compressionDecay)}`,
    `weight_decay = ${num(r.weightDecay)}`,
    `clip_grad_norm = ${num(r.clipGradNorm)}`,
    `learning_rate = ${num(r.learningRate)}`,
    '[schedule]',
    `warmup_steps = ${run.schedule.warmupSteps}`,
    `min_lr_fraction = ${num(run.schedule.minLrFraction)}`,
    '[model]',
    `vocab_size = ${m.vocab_size}`,
    `hidden_size = ${m.hidden_size}`,
    `intermediate_size = ${m.intermediate_size}`,
    `num_hidden_layers = ${m.num_hidden_layers}`,
    `num_attention_heads = ${m.num_attention_heads}`,
    `num_key_value_heads = ${m.num_key_value_heads}`,
    `max_position_embeddings = ${m.max_position_embeddings}`,
    `tie_word_embeddings = ${m.tie_word_embeddings}`,
    `rope_theta = ${num(m.rope_theta)}`,
    `init_seed = ${JSON.stringify(run.modelSeed)}`,
    `location = ${JSON.stringify(r.modelLocation)}`,
    ...(run.modelCheckpoint ? [`checkpoint = ${JSON.stringify(resolve(run.modelCheckpoint))}`] : []),
    '[data]',
    `kind = ${JSON.stringify(run.data.kind)}`,
    `dir = ${JSON.stringify(resolve(run.data.dir))}`,
    `shuffle_seed = ${JSON.stringify(run.data.shuffleSeed)}`,
    `location = ${JSON.stringify(r.dataLocation)}`,
    '[verify]',
    `recompute = ${run.verify.recompute}`,
    `replicas = ${run.verify.replicas}`,
  ];
  return `${lines.join('\n')}\n`;
}

function num(x: number): string {
  const s = String(x);
  return /[.e]/.test(s) ? s : `${s}.0`;
}

export function formatSummary(s: LocalRunSummary): string {
  const f = (x: number | null, d = 3) => (x === null ? 'n/a' : x.toFixed(d));
  return [
    '',
    `=== local run: ${s.nodes} nodes, ${s.steps} steps, ${s.parameters.toLocaleString('en-US')} parameters, ${s.wallSeconds.toFixed(0)} s wall (${s.trainSeconds.toFixed(0)} s training) ===`,
    `training loss          ${f(s.firstLoss)} (step 1) → ${f(s.lastLoss)} (last step)`,
    `validation loss        ${f(s.validationLossBefore)} (initial weights) → ${f(s.validationLossAfter)} (final checkpoint)`,
    `throughput             ${s.tokensPerSecond.toFixed(0)} tokens/s (all nodes, whole run)`,
    `bytes per node per step ${s.resultBytesPerNodePerStep.toFixed(0)} B sent (DisTrO result) vs ${s.denseBf16BytesPerStep} B dense bf16 = ${s.compressionRatio.toFixed(0)}× fewer; ${s.bytesReceivedPerNodePerStep.toFixed(0)} B received`,
    `witnesses              ${s.witnessSubmissions} submissions accepted, ${s.witnessFailures} failed; ${s.resultsRejected} results rejected`,
    `verifiers              ${s.resultsVerified} results recomputed, ${s.verificationRejections} rejected by recomputation`,
    `health                 ${s.healthyAtEnd} of ${s.nodes} nodes healthy at the end, ${s.droppedOrGone} dropped or gone`,
    `weights                ${s.identicalWeights ? 'identical on every node' : 'DIFFER between nodes'} (sha256 ${s.fingerprints.map((x) => x.slice(0, 12)).join(', ')})`,
    `final checkpoint       ${s.checkpointDir ?? 'none'}`,
    ...(s.sample ? ['sample (top-p 0.9, T 0.8):', `  ${s.sample.replace(/\n/g, '\n  ')}`] : []),
  ].join('\n');
}

export function readJson(path: string): unknown {
  return JSON.parse(readFileSync(path, 'utf8'));
}
