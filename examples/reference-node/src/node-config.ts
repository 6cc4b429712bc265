import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { COORDINATOR_INVALID_CONFIG, NODE_INVALID_CONFIG, PsycheError, isPsycheError, sha256, utf8Encode, describeValue } from '@psyche/core';
import { defaultRunConfig, encodeRunConfig, validateRunConfig, type RunConfig } from '@psyche/coordinator-client';
import { llamaConfig, type LlamaConfig } from '@psyche/modeling';
import { parse } from 'smol-toml';

/**
 * A run described in TOML, in the spirit of Psyche's run configs: `[run]` is what the coordinator
 * stores on chain, `[model]` uses Hugging Face LlamaConfig names, `[data]` says where tokens come
 * from, `[schedule]` the learning-rate curve every node computes the same way.
 */
export interface RunFile {
  /** Human name of the run; its sha256 is the on-chain run id. */
  readonly name: string;
  readonly run: RunConfig;
  readonly model: LlamaConfig;
  /** Seed of the initial weights when no checkpoint is given (every node draws the same). */
  readonly modelSeed: string;
  /** Optional directory with model.safetensors + config.json to start from. */
  readonly modelCheckpoint: string | undefined;
  readonly data: DataConfig;
  readonly schedule: ScheduleConfig;
  readonly verify: VerifyConfig;
}

export interface VerifyConfig {
  /**
   * Every member replays every other member's DisTrO momentum from the epoch's first step and
   * judges each published result against its own recomputation (docs/reference-node.md). Costs one
   * extra forward/backward per other member per step.
   */
  readonly recompute: boolean;
  /**
   * 0 (the default): every member replays every other and judges by its own recomputation alone.
   * k ≥ 1: each member replays only the k members after it in the epoch's seeded ring
   * (replay-committee.ts) and gossips a verdict on each; a witness leaves a member out of its vote
   * when a strict majority of that member's k verifiers rejected it. Costs k replays per step
   * instead of N − 1.
   */
  readonly replicas: number;
}

export interface DataConfig {
  /** "example": Moby-Dick + State of the Union, byte tokens, built on first use into `dir`. "local": a dataset directory. */
  readonly kind: 'example' | 'local';
  readonly dir: string;
  readonly shuffleSeed: string;
}

export interface ScheduleConfig {
  readonly warmupSteps: number;
  /** Final learning rate as a fraction of the run's learning_rate (cosine decay). */
  readonly minLrFraction: number;
}

type Table = Record<string, unknown>;

/** The run-file field of each field name validateRunConfig reports. */
const RUN_CONFIG_FIELDS: Readonly<Record<string, string>> = {
  totalSteps: 'run.total_steps',
  globalBatch: 'run.global_batch',
  seqLen: 'run.seq_len',
  minClients: 'run.min_clients',
  witnessNodes: 'run.witness_nodes',
  distroTopk: 'distro.topk',
  modelLocation: 'model.location',
  dataLocation: 'data.location',
};

function fail(path: string, field: string, reason: string): never {
  throw new PsycheError(NODE_INVALID_CONFIG, { path, field, reason }, `${path}: ${field}: ${reason}`);
}

function table(path: string, root: Table, name: string): Table {
  const value = root[name];
  if (value === undefined) return {};
  if (typeof value !== 'object' || value === null || Array.isArray(value)) fail(path, name, 'must be a table');
  return value as Table;
}

function num(path: string, t: Table, section: string, key: string, fallback: number | undefined, integer = false): number {
  const value = t[key] ?? fallback;
  if (value === undefined) fail(path, `${section}.${key}`, 'missing');
  const n = typeof value === 'bigint' ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isFinite(n) || (integer && !Number.isInteger(n))) fail(path, `${section}.${key}`, `expected ${integer ? 'an integer' : 'a number'}, got ${describeValue(value)}`);
  return n;
}

function str(path: string, t: Table, section: string, key: string, fallback?: string): string {
  const value = t[key] ?? fallback;
  if (typeof value !== 'string') fail(path, `${section}.${key}`, 'expected a string');
  return value;
}

function bool(path: string, t: Table, section: string, key: string, fallback: boolean): boolean {
  const value = t[key] ?? fallback;
  if (typeof value !== 'boolean') fail(path, `${section}.${key}`, 'expected a boolean');
  return value;
}

/** Parses a run file's text; every error is NODE_INVALID_CONFIG naming the field. */
export function parseRunFile(text: string, path = '<run config>'): RunFile {
  let root: Table;
  try {
    root = parse(text) as Table;
  } catch (e) {
    return fail(path, 'toml', e instanceof Error ? e.message : String(e));
  }
  const run = table(path, root, 'run');
  const distro = table(path, root, 'distro');
  const model = table(path, root, 'model');
  const data = table(path, root, 'data');
  const schedule = table(path, root, 'schedule');
  const verify = table(path, root, 'verify');
  const d = defaultRunConfig();
  const int = (t: Table, s: string, k: string, f?: number) => num(path, t, s, k, f, true);
  const runConfig: RunConfig = {
    totalSteps: BigInt(int(run, 'run', 'total_steps', Number(d.totalSteps))),
    batchRampSteps: BigInt(int(run, 'run', 'batch_ramp_steps', 0)),
    globalBatchStart: int(run, 'run', 'global_batch_start', int(run, 'run', 'global_batch', d.globalBatchEnd)),
    globalBatchEnd: int(run, 'run', 'global_batch', d.globalBatchEnd),
    seqLen: int(run, 'run', 'seq_len', d.seqLen),
    warmupTime: int(run, 'run', 'warmup_time', d.warmupTime),
    maxRoundTrainTime: int(run, 'run', 'max_round_train_time', d.maxRoundTrainTime),
    roundWitnessTime: int(run, 'run', 'round_witness_time', d.roundWitnessTime),
    cooldownTime: int(run, 'run', 'cooldown_time', d.cooldownTime),
    epochTime: int(run, 'run', 'epoch_time', d.epochTime),
    waitingForMembersExtraTime: int(run, 'run', 'waiting_for_members_extra_time', 0),
    initMinClients: int(run, 'run', 'init_min_clients', d.initMinClients),
    minClients: int(run, 'run', 'min_clients', d.minClients),
    witnessNodes: int(run, 'run', 'witness_nodes', d.witnessNodes),
    distroChunk: int(distro, 'distro', 'chunk', 64),
    distroTopk: int(distro, 'distro', 'topk', 4),
    distroQuantize1bit: bool(path, distro, 'distro', 'quantize_1bit', true),
    compressionDecay: num(path, distro, 'distro', 'compression_decay', 0.995),
    weightDecay: num(path, distro, 'distro', 'weight_decay', 0),
    clipGradNorm: num(path, distro, 'distro', 'clip_grad_norm', 1),
    learningRate: num(path, distro, 'distro', 'learning_rate', 2e-3),
    modelLocation: str(path, model, 'model', 'location', ''),
    dataLocation: str(path, data, 'data', 'location', ''),
  };
  if (runConfig.distroTopk > runConfig.distroChunk) fail(path, 'distro.topk', 'must be <= chunk');
  // What the program would refuse at run creation (ranges, u16/u32 fields, 128-byte locations) is
  // a config mistake, named here rather than found later as a failed transaction.
  try {
    validateRunConfig(runConfig);
    encodeRunConfig(runConfig);
  } catch (e) {
    if (!isPsycheError(e, COORDINATOR_INVALID_CONFIG)) throw e;
    fail(path, RUN_CONFIG_FIELDS[e.context.field] ?? 'run', e.message);
  }
  let llama: LlamaConfig;
  try {
    llama = llamaConfig({
      vocab_size: int(model, 'model', 'vocab_size'),
      hidden_size: int(model, 'model', 'hidden_size'),
      intermediate_size: int(model, 'model', 'intermediate_size'),
      num_hidden_layers: int(model, 'model', 'num_hidden_layers'),
      num_attention_heads: int(model, 'model', 'num_attention_heads'),
      num_key_value_heads: int(model, 'model', 'num_key_value_heads', int(model, 'model', 'num_attention_heads')),
      max_position_embeddings: int(model, 'model', 'max_position_embeddings', runConfig.seqLen),
      tie_word_embeddings: bool(path, model, 'model', 'tie_word_embeddings', true),
      rope_theta: num(path, model, 'model', 'rope_theta', 10000),
    });
  } catch (e) {
    return fail(path, 'model', e instanceof Error ? e.message : String(e));
  }
  if (llama.max_position_embeddings < runConfig.seqLen) fail(path, 'model.max_position_embeddings', `must be >= run.seq_len (${runConfig.seqLen})`);
  const kind = str(path, data, 'data', 'kind', 'example');
  if (kind !== 'example' && kind !== 'local') fail(path, 'data.kind', 'expected "example" or "local"');
  const checkpoint = str(path, model, 'model', 'checkpoint', '');
  const replicas = int(verify, 'verify', 'replicas', 0);
  const warmupSteps = int(schedule, 'schedule', 'warmup_steps', 0);
  if (warmupSteps < 0) fail(path, 'schedule.warmup_steps', `must be >= 0, got ${warmupSteps}`);
  const minLrFraction = num(path, schedule, 'schedule', 'min_lr_fraction', 0.1);
  if (minLrFraction < 0 || minLrFraction > 1) fail(path, 'schedule.min_lr_fraction', `must be in [0, 1], got ${minLrFraction}`);
  if (replicas < 0 || replicas > 65_535) fail(path, 'verify.replicas', `expected 0 (every member replays every other) or 1..65535, got ${replicas}`);
  return {
    name: str(path, run, 'run', 'name', 'psyche-run'),
    run: runConfig,
    model: llama,
    modelSeed: str(path, model, 'model', 'init_seed', 'psyche'),
    modelCheckpoint: checkpoint === '' ? undefined : checkpoint,
    data: { kind, dir: str(path, data, 'data', 'dir', '.psyche/data'), shuffleSeed: str(path, data, 'data', 'shuffle_seed', 'psyche-data') },
    schedule: { warmupSteps, minLrFraction },
    verify: { recompute: bool(path, verify, 'verify', 'recompute', false), replicas },
  };
}

export function readRunFile(path: string): RunFile {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    return fail(path, 'file', e instanceof Error ? e.message : String(e));
  }
  const run = parseRunFile(text, path);
  // Relative paths in a run file mean relative to the file, not to wherever the command runs.
  const base = dirname(resolve(path));
  return {
    ...run,
    data: { ...run.data, dir: resolve(base, run.data.dir) },
    modelCheckpoint: run.modelCheckpoint === undefined ? undefined : resolve(base, run.modelCheckpoint),
  };
}

/** The 32-byte on-chain run id of a run name. */
export function runIdOf(name: string): Uint8Array {
  return sha256(utf8Encode(`psyche run ${name}`));
}

/** Learning rate of (1-based) `step`: linear warmup, then cosine down to minLrFraction·base. */
export function learningRateAt(base: number, schedule: ScheduleConfig, totalSteps: number, step: number): number {
  const s = step - 1;
  if (s < schedule.warmupSteps) return (base * (s + 1)) / schedule.warmupSteps;
  const span = Math.max(1, totalSteps - schedule.warmupSteps);
  const progress = Math.min(1, (s - schedule.warmupSteps) / span);
  const min = base * schedule.minLrFraction;
  return min + (base - min) * 0.5 * (1 + Math.cos(Math.PI * progress));
}
