import {
  COORDINATOR_PROGRAM_ALREADY_INITIALIZED,
  COORDINATOR_PROGRAM_ALREADY_JOINED,
  COORDINATOR_PROGRAM_DUPLICATE_WITNESS,
  COORDINATOR_PROGRAM_HALTED,
  COORDINATOR_PROGRAM_INDEX_OUT_OF_RANGE,
  COORDINATOR_PROGRAM_INVALID_CONFIG,
  COORDINATOR_PROGRAM_INVALID_INSTRUCTION,
  COORDINATOR_PROGRAM_MISSING_SIGNER,
  COORDINATOR_PROGRAM_NOT_AUTHORITY,
  COORDINATOR_PROGRAM_NOT_A_CLIENT,
  COORDINATOR_PROGRAM_NOT_A_WITNESS,
  COORDINATOR_PROGRAM_NOT_ENOUGH_ACCOUNTS,
  COORDINATOR_PROGRAM_NOT_INITIALIZED,
  COORDINATOR_PROGRAM_NOT_WRITABLE,
  COORDINATOR_PROGRAM_REVEAL_MISMATCH,
  COORDINATOR_PROGRAM_RUN_FULL,
  COORDINATOR_PROGRAM_WRONG_ACCOUNT_SIZE,
  COORDINATOR_PROGRAM_WRONG_OWNER,
  COORDINATOR_PROGRAM_WRONG_ROUND,
  COORDINATOR_PROGRAM_WRONG_STATE,
  COORDINATOR_PROGRAM_MALFORMED_BLOOM,
  COORDINATOR_PROGRAM_BLOOM_MISMATCH,
  COORDINATOR_PROGRAM_PARTICIPANT_NOT_IN_BLOOM,
  VERIFY_BLOOM_PARAMETER_OUT_OF_RANGE,
  VERIFY_MALFORMED_BLOOM,
  bytesEqual,
  isPsycheError,
  sha256,
  swapOrNotIndex,
} from '@psyche/core';
import { bloomIndices, bloomParameters, encodedBloomContains, WitnessBloom } from '@psyche/verify';
import { CoordinatorInstruction, WITNESS_FIXED_DATA_LENGTH, instructionDataLengthOk } from './instructions.ts';
import {
  ClientState,
  NUM_CHECKPOINTS,
  NUM_ROUNDS,
  RUN_ACCOUNT_SIZE,
  RUN_MAGIC,
  RUN_VERSION,
  RunState,
  decodeRunAccount,
  emptyClient,
  emptyRound,
  encodeRunAccount,
  type RunAccount,
} from './run-account.ts';
import { MAX_CLIENTS, decodeRunConfig } from './run-config.ts';
import { dataAssignment, globalBatchForStep, isWitness, nextSeed, witnessQuorum } from './selection.ts';
import { participantBloomItem, roundBloomSeed } from './witness-bloom.ts';

/** Program code for "a checkpoint was already recorded this epoch" (8122). */
export const COORDINATOR_PROGRAM_CHECKPOINT_EXISTS = 8122;

/** What the program sees of one instruction: its data, its accounts' flags, the clock. */
export interface ModelInput {
  readonly data: Uint8Array;
  readonly numAccounts: number;
  readonly runOwnedByProgram: boolean;
  readonly runSize: number;
  readonly runWritable: boolean;
  /** Key of the second account (the signer slot), when present. */
  readonly signerKey?: Uint8Array;
  readonly signerIsSigner: boolean;
  /** Third account (the authority's co-signature on joins of permissioned runs), when present. */
  readonly approverKey?: Uint8Array;
  readonly approverIsSigner?: boolean;
  /** Clock sysvar unix_timestamp. */
  readonly now: bigint;
}

export interface ModelResult {
  /** 0 on success, otherwise the program's Custom code. */
  readonly code: number;
  readonly returnData?: Uint8Array;
}

const u16 = (b: Uint8Array, at: number): number => b[at]! | (b[at + 1]! << 8);
const u32 = (b: Uint8Array, at: number): number => (u16(b, at) | (u16(b, at + 2) << 16)) >>> 0;
const u64 = (b: Uint8Array, at: number): bigint => new DataView(b.buffer, b.byteOffset + at, 8).getBigUint64(0, true);
const bit = (bitmap: Uint8Array, i: number): number => (bitmap[i >> 3]! >> (i & 7)) & 1;

/** validate_config in coordinator.c, over the raw 336 bytes. */
function configIsValid(bytes: Uint8Array, currentStep: bigint): boolean {
  const totalSteps = u64(bytes, 0);
  const [batchStart, batchEnd, seqLen] = [u32(bytes, 16), u32(bytes, 20), u32(bytes, 24)];
  const [trainTime, witnessTime, epochTime] = [u32(bytes, 32), u32(bytes, 36), u32(bytes, 44)];
  const [initMin, min, witnessNodes, chunk, topk] = [u16(bytes, 52), u16(bytes, 54), u16(bytes, 56), u16(bytes, 58), u16(bytes, 60)];
  if (totalSteps < 1n || totalSteps < currentStep || totalSteps > 0xffffffffn) return false;
  if (batchStart < 1 || batchEnd < 1 || seqLen < 1) return false;
  if (min < 1 || initMin < min || initMin > MAX_CLIENTS) return false;
  if (witnessNodes < 1 || witnessNodes > 32) return false;
  if (trainTime < 1 || witnessTime < 1 || epochTime < 1) return false;
  if (chunk < 1 || topk < 1 || topk > chunk) return false;
  return bytes[62]! <= 1 && bytes[63]! <= 1;
}

/**
 * The coordinator's state machine in plain TypeScript, written from coordinator.c check for check.
 * It is the readable reference: differential tests run the same instruction sequences through the
 * program in LiteSVM and through this model and require byte-identical accounts and equal codes.
 */
export class CoordinatorModel {
  state: RunAccount;

  constructor(initial: RunAccount = decodeRunAccount(new Uint8Array(RUN_ACCOUNT_SIZE))) {
    this.state = initial;
  }

  encode(): Uint8Array {
    return encodeRunAccount(this.state);
  }

  /** Applies one instruction; on error the state is left exactly as it was. */
  apply(input: ModelInput): ModelResult {
    const draft = decodeRunAccount(this.encode());
    const result = execute(draft, input);
    if (result.code === 0) this.state = draft;
    return result;
  }
}

function execute(run: RunAccount, input: ModelInput): ModelResult {
  const { data } = input;
  if (data.length < 1) return { code: COORDINATOR_PROGRAM_INVALID_INSTRUCTION };
  const ix = data[0]!;
  if (!instructionDataLengthOk(data)) return { code: COORDINATOR_PROGRAM_INVALID_INSTRUCTION };
  const args = data.subarray(1);

  if (ix === CoordinatorInstruction.Shuffle) {
    const count = u32(args, 32);
    const index = u32(args, 36);
    if (count === 0 || index >= count) return { code: COORDINATOR_PROGRAM_INDEX_OUT_OF_RANGE };
    const out = new Uint8Array(4);
    new DataView(out.buffer).setUint32(0, swapOrNotIndex(index, count, args.subarray(0, 32)), true);
    return { code: 0, returnData: out };
  }
  // The Bloom views run @psyche/verify itself: the program must answer exactly as the TypeScript does.
  if (ix === CoordinatorInstruction.BloomContains) {
    const filterLength = u16(args, 0);
    const contains = malformedBloomAsUndefined(() => encodedBloomContains(args.subarray(2, 2 + filterLength), args.subarray(2 + filterLength)));
    return contains === undefined ? { code: COORDINATOR_PROGRAM_MALFORMED_BLOOM } : { code: 0, returnData: Uint8Array.of(contains ? 1 : 0) };
  }
  if (ix === CoordinatorInstruction.BloomIndices) {
    const indices = malformedBloomAsUndefined(() => bloomIndices(args.subarray(13), u32(args, 8), args[12]!, u64(args, 0)));
    if (indices === undefined) return { code: COORDINATOR_PROGRAM_MALFORMED_BLOOM };
    const out = new Uint8Array(4 * indices.length);
    indices.forEach((index, i) => new DataView(out.buffer).setUint32(4 * i, index, true));
    return { code: 0, returnData: out };
  }

  const accountsNeeded = ix === CoordinatorInstruction.Tick || ix === CoordinatorInstruction.Assignment ? 1 : 2;
  if (input.numAccounts < accountsNeeded) return { code: COORDINATOR_PROGRAM_NOT_ENOUGH_ACCOUNTS };
  if (!input.runOwnedByProgram) return { code: COORDINATOR_PROGRAM_WRONG_OWNER };
  if (input.runSize !== RUN_ACCOUNT_SIZE) return { code: COORDINATOR_PROGRAM_WRONG_ACCOUNT_SIZE };
  if (ix !== CoordinatorInstruction.Assignment && !input.runWritable) return { code: COORDINATOR_PROGRAM_NOT_WRITABLE };
  if (accountsNeeded === 2 && !input.signerIsSigner) return { code: COORDINATOR_PROGRAM_MISSING_SIGNER };
  if (ix === CoordinatorInstruction.Initialize) {
    if (run.magic !== 0n || run.version !== 0) return { code: COORDINATOR_PROGRAM_ALREADY_INITIALIZED };
  } else if (run.magic !== RUN_MAGIC || run.version !== RUN_VERSION) {
    return { code: COORDINATOR_PROGRAM_NOT_INITIALIZED };
  }
  const signer = input.signerKey ?? new Uint8Array(32);
  const authorityOnly: number[] = [CoordinatorInstruction.UpdateConfig, CoordinatorInstruction.Kick, CoordinatorInstruction.Pause, CoordinatorInstruction.Resume];
  if (authorityOnly.includes(ix) && !bytesEqual(signer, run.authority)) return { code: COORDINATOR_PROGRAM_NOT_AUTHORITY };
  const now = input.now;

  switch (ix) {
    case CoordinatorInstruction.Initialize: {
      const configBytes = args.slice(32, 32 + 336);
      if (!configIsValid(configBytes, 1n)) return { code: COORDINATOR_PROGRAM_INVALID_CONFIG };
      run.magic = RUN_MAGIC;
      run.version = RUN_VERSION;
      run.authority = signer.slice();
      run.runId = args.slice(0, 32);
      setConfig(run, configBytes);
      run.step = 1n;
      run.seed = sha256(run.runId, run.authority);
      setState(run, RunState.WaitingForMembers, now);
      return { code: 0 };
    }
    case CoordinatorInstruction.UpdateConfig: {
      if (run.state !== RunState.WaitingForMembers && run.state !== RunState.Paused) return { code: COORDINATOR_PROGRAM_WRONG_STATE };
      const configBytes = args.slice(0, 336);
      if (!configIsValid(configBytes, run.step)) return { code: COORDINATOR_PROGRAM_INVALID_CONFIG };
      setConfig(run, configBytes);
      return { code: 0 };
    }
    case CoordinatorInstruction.Join: {
      if (run.state === RunState.Finished) return { code: COORDINATOR_PROGRAM_HALTED };
      if (run.config.joinRequiresAuthority) {
        if (input.numAccounts < 3) return { code: COORDINATOR_PROGRAM_NOT_ENOUGH_ACCOUNTS };
        if (!input.approverIsSigner) return { code: COORDINATOR_PROGRAM_MISSING_SIGNER };
        if (!bytesEqual(input.approverKey ?? new Uint8Array(32), run.authority)) return { code: COORDINATOR_PROGRAM_NOT_AUTHORITY };
      }
      if (findKey(run.clients, run.numClients, signer) >= 0 || findKey(run.pending, run.numPending, signer) >= 0) return { code: COORDINATOR_PROGRAM_ALREADY_JOINED };
      if (run.numClients + run.numPending >= MAX_CLIENTS) return { code: COORDINATOR_PROGRAM_RUN_FULL };
      run.pending[run.numPending++] = { key: signer.slice(), chain: args.slice(0, 32), state: ClientState.Pending };
      return { code: 0 };
    }
    case CoordinatorInstruction.Withdraw:
    case CoordinatorInstruction.Kick: {
      const key = ix === CoordinatorInstruction.Kick ? args.subarray(0, 32) : signer;
      const p = findKey(run.pending, run.numPending, key);
      if (p >= 0) {
        run.pending.splice(p, 1);
        run.pending.push(emptyClient());
        run.numPending--;
        return { code: 0 };
      }
      const c = findKey(run.clients, run.numClients, key);
      if (c < 0 || run.clients[c]!.state !== ClientState.Healthy) return { code: COORDINATOR_PROGRAM_NOT_A_CLIENT };
      run.clients[c]!.state = ix === CoordinatorInstruction.Kick ? ClientState.Ejected : ClientState.Withdrawn;
      return { code: 0 };
    }
    case CoordinatorInstruction.Pause:
      switch (run.state) {
        case RunState.Finished:
          return { code: COORDINATOR_PROGRAM_HALTED };
        case RunState.Paused:
          return { code: COORDINATOR_PROGRAM_WRONG_STATE };
        case RunState.WaitingForMembers:
          setState(run, RunState.Paused, now);
          return { code: 0 };
        case RunState.Warmup:
          returnClientsToPending(run);
          setState(run, RunState.Paused, now);
          return { code: 0 };
        default:
          run.pausePending = true;
          return { code: 0 };
      }
    case CoordinatorInstruction.Resume:
      if (run.state !== RunState.Paused) return { code: COORDINATOR_PROGRAM_WRONG_STATE };
      setState(run, RunState.WaitingForMembers, now);
      return { code: 0 };
    case CoordinatorInstruction.Tick:
      tick(run, now);
      return { code: 0 };
    case CoordinatorInstruction.WarmupWitness: {
      if (run.state !== RunState.Warmup) return { code: COORDINATOR_PROGRAM_WRONG_STATE };
      const index = u16(args, 0);
      const reveal = args.slice(2, 34);
      const code = checkWitness(run, index, run.numClients, run.warmupWitnessExpected, run.seed, run.warmupSubmitted, signer, reveal);
      if (code) return { code };
      acceptReveal(run, index, run.warmupMix, run.warmupSubmitted, reveal);
      run.warmupWitnessesSubmitted++;
      return { code: 0 };
    }
    case CoordinatorInstruction.Witness: {
      if (run.state !== RunState.RoundTrain && run.state !== RunState.RoundWitness) return { code: COORDINATOR_PROGRAM_WRONG_STATE };
      const round = run.rounds[run.roundHead]!;
      if (u64(args, 0) !== round.step) return { code: COORDINATOR_PROGRAM_WRONG_ROUND };
      const index = u16(args, 8);
      const reveal = args.slice(10, 42);
      const participants = args.slice(42, 74);
      for (let i = round.numClients; i < MAX_CLIENTS; i++) if (bit(participants, i)) return { code: COORDINATOR_PROGRAM_INDEX_OUT_OF_RANGE };
      const filter = malformedBloomAsUndefined(() => WitnessBloom.decode(data.subarray(WITNESS_FIXED_DATA_LENGTH)));
      if (filter === undefined) return { code: COORDINATOR_PROGRAM_MALFORMED_BLOOM };
      const sized = round.numClients >= 1 && round.numClients <= MAX_CLIENTS ? bloomParameters(round.numClients) : undefined;
      if (!sized || filter.bitCount !== sized.bitCount || filter.hashCount !== sized.hashCount || filter.seed !== roundBloomSeed(round.seed)) {
        return { code: COORDINATOR_PROGRAM_BLOOM_MISMATCH };
      }
      const code = checkWitness(run, index, round.numClients, round.witnessExpected, round.seed, round.submitted, signer, reveal);
      if (code) return { code };
      for (let i = 0; i < round.numClients; i++) {
        if (bit(participants, i) && !filter.has(participantBloomItem(run.clients[i]!.key))) return { code: COORDINATOR_PROGRAM_PARTICIPANT_NOT_IN_BLOOM };
      }
      acceptReveal(run, index, round.mix, round.submitted, reveal);
      round.results[round.witnessesSubmitted++] = { clientIndex: index, root: args.slice(74, 106) };
      for (let i = 0; i < round.numClients; i++) round.votes[i]! += bit(participants, i);
      return { code: 0 };
    }
    case CoordinatorInstruction.Checkpoint: {
      if (run.state !== RunState.Cooldown) return { code: COORDINATOR_PROGRAM_WRONG_STATE };
      const index = u16(args, 0);
      if (index === 0xffff) {
        if (!bytesEqual(signer, run.authority)) return { code: COORDINATOR_PROGRAM_NOT_AUTHORITY };
      } else {
        if (index >= run.numClients) return { code: COORDINATOR_PROGRAM_INDEX_OUT_OF_RANGE };
        const client = run.clients[index]!;
        if (!bytesEqual(client.key, signer) || client.state !== ClientState.Healthy) return { code: COORDINATOR_PROGRAM_NOT_A_CLIENT };
      }
      if (run.numCheckpoints > 0 && run.checkpoints[(run.numCheckpoints - 1) % NUM_CHECKPOINTS]!.epoch === run.epoch) {
        return { code: COORDINATOR_PROGRAM_CHECKPOINT_EXISTS };
      }
      run.checkpoints[run.numCheckpoints % NUM_CHECKPOINTS] = {
        epoch: run.epoch,
        step: BigInt.asUintN(64, run.step - 1n),
        hash: args.slice(2, 34),
        location: args.slice(34, 162),
        submitter: signer.slice(),
      };
      run.numCheckpoints++;
      return { code: 0 };
    }
    case CoordinatorInstruction.Assignment: {
      if (run.state !== RunState.RoundTrain && run.state !== RunState.RoundWitness) return { code: COORDINATOR_PROGRAM_WRONG_STATE };
      const round = run.rounds[run.roundHead]!;
      const index = u16(args, 0);
      if (index >= round.numClients) return { code: COORDINATOR_PROGRAM_INDEX_OUT_OF_RANGE };
      const { start, end } = dataAssignment(round, index);
      const out = new Uint8Array(17);
      const view = new DataView(out.buffer);
      out[0] = isWitness(index, round.numClients, round.witnessExpected, round.seed) ? 1 : 0;
      view.setBigUint64(1, start, true);
      view.setBigUint64(9, end, true);
      return { code: 0, returnData: out };
    }
    default:
      return { code: COORDINATOR_PROGRAM_INVALID_INSTRUCTION };
  }
}

/** Runs a @psyche/verify Bloom call; its malformed-filter and parameter errors (the program's 8123) become undefined. */
function malformedBloomAsUndefined<T>(call: () => T): T | undefined {
  try {
    return call();
  } catch (e) {
    if (isPsycheError(e, VERIFY_MALFORMED_BLOOM) || isPsycheError(e, VERIFY_BLOOM_PARAMETER_OUT_OF_RANGE)) return undefined;
    throw e;
  }
}

function setConfig(run: RunAccount, bytes: Uint8Array): void {
  run.configBytes = bytes;
  run.config = decodeRunConfig(bytes);
}

function setState(run: RunAccount, state: number, now: bigint): void {
  run.state = state;
  run.stateStartTime = now;
}

const elapsed = (now: bigint, since: bigint, seconds: number): boolean => BigInt.asIntN(64, now - since) >= BigInt(seconds);

function findKey(list: RunAccount['clients'], count: number, key: Uint8Array): number {
  for (let i = 0; i < count; i++) if (bytesEqual(list[i]!.key, key)) return i;
  return -1;
}

function compactClients(run: RunAccount): void {
  const kept = run.clients.slice(0, run.numClients).filter((c) => c.state === ClientState.Healthy);
  run.clients = [...kept, ...Array.from({ length: MAX_CLIENTS - kept.length }, emptyClient)];
  run.numClients = kept.length;
}

function returnClientsToPending(run: RunAccount): void {
  compactClients(run);
  const members = run.clients.slice(0, run.numClients).map((c) => ({ ...c, state: ClientState.Pending }));
  const waiting = run.pending.slice(0, run.numPending);
  const all = [...members, ...waiting];
  run.pending = [...all, ...Array.from({ length: MAX_CLIENTS - all.length }, emptyClient)];
  run.numPending = all.length;
  run.clients = Array.from({ length: MAX_CLIENTS }, emptyClient);
  run.numClients = 0;
}

function admitPending(run: RunAccount): void {
  const joining = run.pending.slice(0, run.numPending).map((c) => ({ ...c, state: ClientState.Healthy }));
  const all = [...run.clients.slice(0, run.numClients), ...joining];
  run.clients = [...all, ...Array.from({ length: MAX_CLIENTS - all.length }, emptyClient)];
  run.numClients = all.length;
  run.pending = Array.from({ length: MAX_CLIENTS }, emptyClient);
  run.numPending = 0;
}

function startRound(run: RunAccount, now: bigint): void {
  compactClients(run);
  admitPending(run);
  run.roundHead = (run.roundHead + 1) % NUM_ROUNDS;
  const round = emptyRound();
  round.step = run.step;
  round.dataIndex = run.dataIndex;
  round.startTime = now;
  round.globalBatch = globalBatchForStep(run.config, run.step);
  round.numClients = run.numClients;
  round.witnessExpected = Math.min(run.config.witnessNodes, run.numClients);
  round.seed = run.seed.slice();
  run.rounds[run.roundHead] = round;
  setState(run, RunState.RoundTrain, now);
}

function startWarmup(run: RunAccount, now: bigint): void {
  run.epoch++;
  run.epochStartTime = now;
  admitPending(run);
  run.warmupWitnessExpected = Math.min(run.config.witnessNodes, run.numClients);
  run.warmupWitnessesSubmitted = 0;
  run.warmupMix = new Uint8Array(32);
  run.warmupSubmitted = new Uint8Array(32);
  setState(run, RunState.Warmup, now);
}

function endRound(run: RunAccount, now: bigint): void {
  const round = run.rounds[run.roundHead]!;
  const quorum = witnessQuorum(round.witnessExpected);
  const decisive = round.witnessExpected > 0 && round.witnessesSubmitted >= quorum;
  if (decisive) {
    for (let i = 0; i < round.numClients; i++) {
      const client = run.clients[i]!;
      if (client.state === ClientState.Healthy && round.votes[i]! < quorum) client.state = ClientState.Dropped;
    }
    const results = round.results.slice(0, round.witnessesSubmitted);
    const agreed = results.find((a) => results.filter((b) => bytesEqual(a.root, b.root)).length >= quorum);
    if (agreed) {
      round.agreed = true;
      round.agreedRoot = agreed.root.slice();
    }
  }
  compactClients(run);
  const finishedStep = round.step;
  run.step = finishedStep + 1n;
  run.dataIndex = round.dataIndex + BigInt(round.globalBatch);
  run.seed = nextSeed(run.seed, round.mix, run.step);
  const c = run.config;
  if (!decisive || run.numClients < c.minClients || finishedStep >= c.totalSteps || run.pausePending || elapsed(now, run.epochStartTime, c.epochTime)) {
    setState(run, RunState.Cooldown, now);
  } else {
    startRound(run, now);
  }
}

function endEpoch(run: RunAccount, now: bigint): void {
  returnClientsToPending(run);
  if (run.step > run.config.totalSteps) setState(run, RunState.Finished, now);
  else if (run.pausePending) {
    run.pausePending = false;
    setState(run, RunState.Paused, now);
  } else setState(run, RunState.WaitingForMembers, now);
}

function tick(run: RunAccount, now: bigint): void {
  const c = run.config;
  switch (run.state) {
    case RunState.WaitingForMembers:
      if (run.numPending >= c.initMinClients && elapsed(now, run.stateStartTime, c.waitingForMembersExtraTime)) startWarmup(run, now);
      return;
    case RunState.Warmup: {
      const healthy = run.clients.slice(0, run.numClients).filter((x) => x.state === ClientState.Healthy).length;
      if (healthy < c.minClients) {
        returnClientsToPending(run);
        setState(run, RunState.WaitingForMembers, now);
      } else if (
        elapsed(now, run.stateStartTime, c.warmupTime) ||
        (run.warmupWitnessExpected > 0 && run.warmupWitnessesSubmitted >= run.warmupWitnessExpected)
      ) {
        run.seed = nextSeed(run.seed, run.warmupMix, run.step);
        startRound(run, now);
      }
      return;
    }
    case RunState.RoundTrain: {
      const round = run.rounds[run.roundHead]!;
      if (elapsed(now, run.stateStartTime, c.maxRoundTrainTime) || (round.witnessExpected > 0 && round.witnessesSubmitted >= witnessQuorum(round.witnessExpected))) {
        setState(run, RunState.RoundWitness, now);
      }
      return;
    }
    case RunState.RoundWitness:
      if (elapsed(now, run.stateStartTime, c.roundWitnessTime)) endRound(run, now);
      return;
    case RunState.Cooldown:
      if (elapsed(now, run.stateStartTime, c.cooldownTime)) endEpoch(run, now);
      return;
    default:
      return;
  }
}

function checkWitness(
  run: RunAccount,
  index: number,
  count: number,
  expected: number,
  seed: Uint8Array,
  submitted: Uint8Array,
  signer: Uint8Array,
  reveal: Uint8Array,
): number {
  if (index >= count) return COORDINATOR_PROGRAM_INDEX_OUT_OF_RANGE;
  const client = run.clients[index]!;
  if (!bytesEqual(client.key, signer) || client.state !== ClientState.Healthy) return COORDINATOR_PROGRAM_NOT_A_CLIENT;
  if (bit(submitted, index)) return COORDINATOR_PROGRAM_DUPLICATE_WITNESS;
  if (!isWitness(index, count, expected, seed)) return COORDINATOR_PROGRAM_NOT_A_WITNESS;
  if (!bytesEqual(sha256(reveal), client.chain)) return COORDINATOR_PROGRAM_REVEAL_MISMATCH;
  return 0;
}

function acceptReveal(run: RunAccount, index: number, mix: Uint8Array, submitted: Uint8Array, reveal: Uint8Array): void {
  run.clients[index]!.chain = reveal.slice();
  for (let i = 0; i < 32; i++) mix[i]! ^= reveal[i]!;
  submitted[index >> 3]! |= 1 << (index & 7);
}
