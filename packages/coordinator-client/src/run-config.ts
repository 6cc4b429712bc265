import {
  ByteReader,
  ByteWriter,
  COORDINATOR_INVALID_CONFIG,
  COORDINATOR_MALFORMED_ACCOUNT,
  PsycheError,
  isPsycheError,
  utf8Decode,
  utf8Encode,
  isWellFormedUtf16,
} from '@psyche/core';

/** Bytes of `Config` in programs/coordinator/src/coordinator.h. */
export const RUN_CONFIG_SIZE = 336;
export const LOCATION_LEN = 128;
export const MAX_CLIENTS = 256;
export const MAX_WITNESSES = 32;

/**
 * A run's configuration, as the program stores it. Times are seconds; batch sizes are sequences
 * of `seqLen` tokens; DisTrO hyperparameters are stored as f32 (the program never computes with them).
 */
export interface RunConfig {
  readonly totalSteps: bigint;
  /** The global batch grows linearly from start to end over this many steps (0: always end). */
  readonly batchRampSteps: bigint;
  readonly globalBatchStart: number;
  readonly globalBatchEnd: number;
  readonly seqLen: number;
  readonly warmupTime: number;
  readonly maxRoundTrainTime: number;
  readonly roundWitnessTime: number;
  readonly cooldownTime: number;
  readonly epochTime: number;
  readonly waitingForMembersExtraTime: number;
  readonly initMinClients: number;
  readonly minClients: number;
  /** Witnesses per round, 1..32. */
  readonly witnessNodes: number;
  readonly distroChunk: number;
  readonly distroTopk: number;
  readonly distroQuantize1bit: boolean;
  /** Permissioned run: every join must be co-signed by the run authority (default false). */
  readonly joinRequiresAuthority?: boolean;
  readonly compressionDecay: number;
  readonly weightDecay: number;
  readonly clipGradNorm: number;
  readonly learningRate: number;
  /** Where the initial model lives (e.g. a hub repo or a p2p checkpoint), ≤ 128 UTF-8 bytes. */
  readonly modelLocation: string;
  /** Where the training data lives, ≤ 128 UTF-8 bytes. */
  readonly dataLocation: string;
}

/** A small configuration suited to tests and the localnet; override what you need. */
export function defaultRunConfig(overrides: Partial<RunConfig> = {}): RunConfig {
  return {
    totalSteps: 100n,
    batchRampSteps: 0n,
    globalBatchStart: 64,
    globalBatchEnd: 64,
    seqLen: 512,
    warmupTime: 30,
    maxRoundTrainTime: 60,
    roundWitnessTime: 5,
    cooldownTime: 30,
    epochTime: 600,
    waitingForMembersExtraTime: 0,
    initMinClients: 1,
    minClients: 1,
    witnessNodes: 3,
    distroChunk: 64,
    distroTopk: 8,
    distroQuantize1bit: true,
    joinRequiresAuthority: false,
    compressionDecay: 0.999,
    weightDecay: 0.1,
    clipGradNorm: 1.0,
    learningRate: 2e-4,
    modelLocation: '',
    dataLocation: '',
    ...overrides,
  };
}

function invalid(field: string, reason: string): PsycheError {
  return new PsycheError(COORDINATOR_INVALID_CONFIG, { field, reason }, `run config ${field}: ${reason}`);
}

function location(field: string, value: string): Uint8Array {
  // On chain as UTF-8, where a lone surrogate would read back as U+FFFD: another location.
  if (!isWellFormedUtf16(value)) throw invalid(field, 'has a lone surrogate');
  const bytes = utf8Encode(value);
  if (bytes.length > LOCATION_LEN) throw invalid(field, `${bytes.length} UTF-8 bytes, at most ${LOCATION_LEN}`);
  const out = new Uint8Array(LOCATION_LEN);
  out.set(bytes);
  return out;
}

/** The rules the program enforces (validate_config in coordinator.c), checked before sending. */
export function validateRunConfig(config: RunConfig, currentStep = 1n): void {
  if (config.totalSteps < 1n || config.totalSteps < currentStep || config.totalSteps > 0xffffffffn) throw invalid('totalSteps', 'must be in [max(1, current step), 2^32-1]');
  if (config.globalBatchStart < 1 || config.globalBatchEnd < 1) throw invalid('globalBatch', 'must be >= 1');
  if (config.seqLen < 1) throw invalid('seqLen', 'must be >= 1');
  if (config.minClients < 1 || config.initMinClients < config.minClients || config.initMinClients > MAX_CLIENTS) {
    throw invalid('minClients', 'need 1 <= minClients <= initMinClients <= 256');
  }
  if (config.witnessNodes < 1 || config.witnessNodes > MAX_WITNESSES) throw invalid('witnessNodes', 'must be 1..32');
  if (config.maxRoundTrainTime < 1 || config.roundWitnessTime < 1 || config.epochTime < 1) throw invalid('times', 'round and epoch times must be >= 1 s');
  if (config.distroChunk < 1 || config.distroTopk < 1 || config.distroTopk > config.distroChunk) throw invalid('distroTopk', 'need 1 <= topk <= chunk');
}

/** Encodes the 336-byte `Config`; throws COORDINATOR_INVALID_CONFIG for values the layout cannot hold. */
export function encodeRunConfig(config: RunConfig): Uint8Array {
  try {
    return new ByteWriter(RUN_CONFIG_SIZE)
      .u64(config.totalSteps)
      .u64(config.batchRampSteps)
      .u32(config.globalBatchStart)
      .u32(config.globalBatchEnd)
      .u32(config.seqLen)
      .u32(config.warmupTime)
      .u32(config.maxRoundTrainTime)
      .u32(config.roundWitnessTime)
      .u32(config.cooldownTime)
      .u32(config.epochTime)
      .u32(config.waitingForMembersExtraTime)
      .u16(config.initMinClients)
      .u16(config.minClients)
      .u16(config.witnessNodes)
      .u16(config.distroChunk)
      .u16(config.distroTopk)
      .u8(config.distroQuantize1bit ? 1 : 0)
      .u8(config.joinRequiresAuthority ? 1 : 0)
      .f32(config.compressionDecay)
      .f32(config.weightDecay)
      .f32(config.clipGradNorm)
      .f32(config.learningRate)
      .bytes(location('modelLocation', config.modelLocation))
      .bytes(location('dataLocation', config.dataLocation))
      .finish();
  } catch (e) {
    if (isPsycheError(e, COORDINATOR_INVALID_CONFIG)) throw e;
    throw invalid('value', e instanceof Error ? e.message : String(e));
  }
}

function decodeLocation(bytes: Uint8Array): string {
  const end = bytes.indexOf(0);
  return utf8Decode(bytes.subarray(0, end < 0 ? bytes.length : end));
}

/** Decodes a 336-byte `Config` (never throws on content; another length is COORDINATOR_MALFORMED_ACCOUNT). */
export function decodeRunConfig(bytes: Uint8Array): RunConfig {
  if (bytes.length !== RUN_CONFIG_SIZE) {
    throw new PsycheError(COORDINATOR_MALFORMED_ACCOUNT, { account: 'run config', reason: `size ${bytes.length}, expected ${RUN_CONFIG_SIZE}` }, `run config has ${bytes.length} bytes, expected ${RUN_CONFIG_SIZE}`);
  }
  const r = new ByteReader(bytes);
  const integers = {
    totalSteps: r.u64(),
    batchRampSteps: r.u64(),
    globalBatchStart: r.u32(),
    globalBatchEnd: r.u32(),
    seqLen: r.u32(),
    warmupTime: r.u32(),
    maxRoundTrainTime: r.u32(),
    roundWitnessTime: r.u32(),
    cooldownTime: r.u32(),
    epochTime: r.u32(),
    waitingForMembersExtraTime: r.u32(),
    initMinClients: r.u16(),
    minClients: r.u16(),
    witnessNodes: r.u16(),
    distroChunk: r.u16(),
    distroTopk: r.u16(),
  };
  const distroQuantize1bit = r.u8() !== 0;
  const joinRequiresAuthority = r.u8() !== 0;
  const config: RunConfig = {
    ...integers,
    distroQuantize1bit,
    joinRequiresAuthority,
    compressionDecay: r.f32(),
    weightDecay: r.f32(),
    clipGradNorm: r.f32(),
    learningRate: r.f32(),
    modelLocation: decodeLocationSafe(r.bytes(LOCATION_LEN)),
    dataLocation: decodeLocationSafe(r.bytes(LOCATION_LEN)),
  };
  r.expectEnd();
  return config;
}

function decodeLocationSafe(bytes: Uint8Array): string {
  try {
    return decodeLocation(bytes);
  } catch {
    return '';
  }
}
