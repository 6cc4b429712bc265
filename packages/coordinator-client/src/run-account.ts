import { ByteReader, ByteWriter, COORDINATOR_MALFORMED_ACCOUNT, PsycheError, isPsycheError } from '@psyche/core';
import { LOCATION_LEN, MAX_CLIENTS, MAX_WITNESSES, RUN_CONFIG_SIZE, decodeRunConfig, type RunConfig } from './run-config.ts';

/** Size of the run account (`sizeof(Run)` in coordinator.h). */
export const RUN_ACCOUNT_SIZE = 45080;
/** "PSYCOORD" as a little-endian u64. */
export const RUN_MAGIC = 0x44524f4f43595350n;
export const RUN_VERSION = 1;
export const NUM_ROUNDS = 4;
export const NUM_CHECKPOINTS = 4;

/** RunState of Psyche's coordinator (same numbers). */
export const RunState = {
  Uninitialized: 0,
  WaitingForMembers: 1,
  Warmup: 2,
  RoundTrain: 3,
  RoundWitness: 4,
  Cooldown: 5,
  Finished: 6,
  Paused: 7,
} as const;
export type RunState = (typeof RunState)[keyof typeof RunState];

export const ClientState = { Pending: 0, Healthy: 1, Dropped: 2, Withdrawn: 3, Ejected: 4 } as const;
export type ClientState = (typeof ClientState)[keyof typeof ClientState];

export interface ClientRecord {
  key: Uint8Array;
  /** The last revealed link of the client's hash chain (its randomness commitment). */
  chain: Uint8Array;
  state: number;
}

export interface WitnessResultRecord {
  clientIndex: number;
  root: Uint8Array;
}

export interface RoundRecord {
  step: bigint;
  dataIndex: bigint;
  startTime: bigint;
  globalBatch: number;
  numClients: number;
  witnessExpected: number;
  witnessesSubmitted: number;
  agreed: boolean;
  seed: Uint8Array;
  mix: Uint8Array;
  /** Bitmap by client index of witnesses that submitted. */
  submitted: Uint8Array;
  agreedRoot: Uint8Array;
  /** Per client index: how many witnesses saw it this round. */
  votes: Uint8Array;
  results: WitnessResultRecord[];
}

export interface CheckpointRecord {
  epoch: bigint;
  step: bigint;
  hash: Uint8Array;
  location: Uint8Array;
  submitter: Uint8Array;
}

/** The whole run account, field for field (`Run` in coordinator.h); arrays always have their full capacity. */
export interface RunAccount {
  magic: bigint;
  version: number;
  state: number;
  pausePending: boolean;
  authority: Uint8Array;
  runId: Uint8Array;
  /** Raw 336 bytes, as stored: the program stores and validates them, `config` is their decoding. */
  configBytes: Uint8Array;
  config: RunConfig;
  epoch: bigint;
  step: bigint;
  dataIndex: bigint;
  stateStartTime: bigint;
  epochStartTime: bigint;
  seed: Uint8Array;
  warmupMix: Uint8Array;
  warmupSubmitted: Uint8Array;
  numClients: number;
  numPending: number;
  warmupWitnessExpected: number;
  warmupWitnessesSubmitted: number;
  roundHead: number;
  numCheckpoints: number;
  clients: ClientRecord[];
  pending: ClientRecord[];
  rounds: RoundRecord[];
  checkpoints: CheckpointRecord[];
}

const i64 = (v: bigint): bigint => BigInt.asIntN(64, v);
const copyOf = (r: ByteReader, n: number): Uint8Array => r.bytes(n).slice();

function readClient(r: ByteReader): ClientRecord {
  const client = { key: copyOf(r, 32), chain: copyOf(r, 32), state: r.u8() };
  r.bytes(7);
  return client;
}

function readRound(r: ByteReader): RoundRecord {
  const head = {
    step: r.u64(),
    dataIndex: r.u64(),
    startTime: i64(r.u64()),
    globalBatch: r.u32(),
    numClients: r.u16(),
    witnessExpected: r.u16(),
    witnessesSubmitted: r.u16(),
    agreed: r.u8() !== 0,
  };
  r.bytes(5);
  return {
    ...head,
    seed: copyOf(r, 32),
    mix: copyOf(r, 32),
    submitted: copyOf(r, 32),
    agreedRoot: copyOf(r, 32),
    votes: copyOf(r, MAX_CLIENTS),
    results: Array.from({ length: MAX_WITNESSES }, () => {
      const clientIndex = r.u16();
      r.bytes(6);
      return { clientIndex, root: copyOf(r, 32) };
    }),
  };
}

function readCheckpoint(r: ByteReader): CheckpointRecord {
  return { epoch: r.u64(), step: r.u64(), hash: copyOf(r, 32), location: copyOf(r, LOCATION_LEN), submitter: copyOf(r, 32) };
}

/** Decodes a run account's data; COORDINATOR_MALFORMED_ACCOUNT when the size is wrong. */
export function decodeRunAccount(data: Uint8Array): RunAccount {
  if (data.length !== RUN_ACCOUNT_SIZE) {
    throw new PsycheError(COORDINATOR_MALFORMED_ACCOUNT, { account: 'run', reason: `size ${data.length}, expected ${RUN_ACCOUNT_SIZE}` }, `run account has ${data.length} bytes, expected ${RUN_ACCOUNT_SIZE}`);
  }
  try {
    const r = new ByteReader(data);
    const magic = r.u64();
    const version = r.u8();
    const state = r.u8();
    const pausePending = r.u8() !== 0;
    r.bytes(5);
    const authority = copyOf(r, 32);
    const runId = copyOf(r, 32);
    const configBytes = copyOf(r, RUN_CONFIG_SIZE);
    const account: RunAccount = {
      magic,
      version,
      state,
      pausePending,
      authority,
      runId,
      configBytes,
      config: decodeRunConfig(configBytes),
      epoch: r.u64(),
      step: r.u64(),
      dataIndex: r.u64(),
      stateStartTime: i64(r.u64()),
      epochStartTime: i64(r.u64()),
      seed: copyOf(r, 32),
      warmupMix: copyOf(r, 32),
      warmupSubmitted: copyOf(r, 32),
      numClients: r.u16(),
      numPending: r.u16(),
      warmupWitnessExpected: r.u16(),
      warmupWitnessesSubmitted: r.u16(),
      roundHead: r.u32(),
      numCheckpoints: r.u32(),
      clients: Array.from({ length: MAX_CLIENTS }, () => readClient(r)),
      pending: Array.from({ length: MAX_CLIENTS }, () => readClient(r)),
      rounds: Array.from({ length: NUM_ROUNDS }, () => readRound(r)),
      checkpoints: Array.from({ length: NUM_CHECKPOINTS }, () => readCheckpoint(r)),
    };
    r.expectEnd();
    return account;
  } catch (e) {
    if (isPsycheError(e, COORDINATOR_MALFORMED_ACCOUNT)) throw e;
    throw new PsycheError(COORDINATOR_MALFORMED_ACCOUNT, { account: 'run', reason: String(e) }, `malformed run account: ${String(e)}`, { cause: e });
  }
}

const zeros = (n: number): Uint8Array => new Uint8Array(n);

/** Encodes a run account (padding written as zeros, as the program leaves it). */
export function encodeRunAccount(a: RunAccount): Uint8Array {
  const w = new ByteWriter(RUN_ACCOUNT_SIZE);
  w.u64(a.magic).u8(a.version).u8(a.state).u8(a.pausePending ? 1 : 0).bytes(zeros(5));
  w.bytes(a.authority).bytes(a.runId).bytes(a.configBytes);
  w.u64(a.epoch).u64(a.step).u64(a.dataIndex).u64(BigInt.asUintN(64, a.stateStartTime)).u64(BigInt.asUintN(64, a.epochStartTime));
  w.bytes(a.seed).bytes(a.warmupMix).bytes(a.warmupSubmitted);
  w.u16(a.numClients).u16(a.numPending).u16(a.warmupWitnessExpected).u16(a.warmupWitnessesSubmitted).u32(a.roundHead).u32(a.numCheckpoints);
  for (const c of [...a.clients, ...a.pending]) w.bytes(c.key).bytes(c.chain).u8(c.state).bytes(zeros(7));
  for (const round of a.rounds) {
    w.u64(round.step).u64(round.dataIndex).u64(BigInt.asUintN(64, round.startTime)).u32(round.globalBatch);
    w.u16(round.numClients).u16(round.witnessExpected).u16(round.witnessesSubmitted).u8(round.agreed ? 1 : 0).bytes(zeros(5));
    w.bytes(round.seed).bytes(round.mix).bytes(round.submitted).bytes(round.agreedRoot).bytes(round.votes);
    for (const result of round.results) w.u16(result.clientIndex).bytes(zeros(6)).bytes(result.root);
  }
  for (const c of a.checkpoints) w.u64(c.epoch).u64(c.step).bytes(c.hash).bytes(c.location).bytes(c.submitter);
  const out = w.finish();
  if (out.length !== RUN_ACCOUNT_SIZE) {
    throw new PsycheError(COORDINATOR_MALFORMED_ACCOUNT, { account: 'run', reason: `encoded ${out.length} bytes` }, 'run account fields have wrong sizes');
  }
  return out;
}

export function emptyClient(): ClientRecord {
  return { key: zeros(32), chain: zeros(32), state: 0 };
}

export function emptyRound(): RoundRecord {
  return {
    step: 0n,
    dataIndex: 0n,
    startTime: 0n,
    globalBatch: 0,
    numClients: 0,
    witnessExpected: 0,
    witnessesSubmitted: 0,
    agreed: false,
    seed: zeros(32),
    mix: zeros(32),
    submitted: zeros(32),
    agreedRoot: zeros(32),
    votes: zeros(MAX_CLIENTS),
    results: Array.from({ length: MAX_WITNESSES }, () => ({ clientIndex: 0, root: zeros(32) })),
  };
}

/** The all-zero account a freshly created (uninitialized) run account holds. */
export function emptyRunAccount(): RunAccount {
  return decodeRunAccount(new Uint8Array(RUN_ACCOUNT_SIZE));
}

export function isRunActive(account: RunAccount): boolean {
  return account.state === RunState.RoundTrain || account.state === RunState.RoundWitness;
}

/** The round in progress (or the last one). */
export function currentRound(account: RunAccount): RoundRecord {
  return account.rounds[account.roundHead % NUM_ROUNDS]!;
}
