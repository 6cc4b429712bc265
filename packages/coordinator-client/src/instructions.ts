import { assertBytes, assertInteger, ByteWriter, COORDINATOR_MALFORMED_INSTRUCTION, PsycheError } from '@psyche/core';
import { AccountRole, getAddressEncoder, type AccountMeta, type Address, type Instruction, type TransactionSigner } from '@solana/kit';
import { BLOOM_HEADER_LENGTH } from '@psyche/verify';
import { LOCATION_LEN, MAX_CLIENTS, encodeRunConfig, type RunConfig } from './run-config.ts';

/** Instruction discriminators (first data byte; `enum Instruction` in coordinator.h). */
export const CoordinatorInstruction = {
  Initialize: 0,
  UpdateConfig: 1,
  Join: 2,
  Withdraw: 3,
  Kick: 4,
  Pause: 5,
  Resume: 6,
  Tick: 7,
  WarmupWitness: 8,
  Witness: 9,
  Checkpoint: 10,
  Shuffle: 11,
  Assignment: 12,
  /** View: membership of an item in a canonical Bloom filter (returns 1 byte). */
  BloomContains: 13,
  /** View: the k probe indices of an item (returns k u32 LE). */
  BloomIndices: 14,
} as const;
export type CoordinatorInstruction = (typeof CoordinatorInstruction)[keyof typeof CoordinatorInstruction];

/**
 * Exact data length of each fixed-size instruction, discriminator included (`expected_data_len` in
 * coordinator.c). Witness, BloomContains and BloomIndices are variable: see {@link instructionDataLengthOk}.
 */
export const INSTRUCTION_DATA_LENGTH: Readonly<Partial<Record<CoordinatorInstruction, number>>> = {
  0: 1 + 32 + 336,
  1: 1 + 336,
  2: 1 + 32,
  3: 1,
  4: 1 + 32,
  5: 1,
  6: 1,
  7: 1,
  8: 1 + 2 + 32,
  10: 1 + 2 + 32 + LOCATION_LEN,
  11: 1 + 32 + 4 + 4,
  12: 1 + 2,
};

/** Witness data before its participant filter: discriminator, step, index, reveal, participant bitmap, result root. */
export const WITNESS_FIXED_DATA_LENGTH = 1 + 8 + 2 + 32 + 32 + 32;
/** Bloom view data before the filter (discriminator, u16 filter length) and before the item (discriminator, seed, m, k). */
const BLOOM_CONTAINS_HEADER_LENGTH = 3;
const BLOOM_INDICES_HEADER_LENGTH = 1 + 8 + 4 + 1;

/**
 * `data_len_ok` in coordinator.c: fixed-size instructions have their exact length; a witness is
 * 107 bytes plus its filter, whose header gives its size (14 + ⌈m/8⌉); the Bloom views carry their
 * item to the end.
 */
export function instructionDataLengthOk(data: Uint8Array): boolean {
  const discriminator = data[0];
  if (discriminator === undefined) return false;
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  switch (discriminator) {
    case CoordinatorInstruction.Witness: {
      const header = WITNESS_FIXED_DATA_LENGTH + BLOOM_HEADER_LENGTH;
      return data.length >= header && data.length === header + Math.ceil(view.getUint32(WITNESS_FIXED_DATA_LENGTH + 2, true) / 8);
    }
    case CoordinatorInstruction.BloomContains:
      return data.length >= BLOOM_CONTAINS_HEADER_LENGTH && BLOOM_CONTAINS_HEADER_LENGTH + view.getUint16(1, true) <= data.length;
    case CoordinatorInstruction.BloomIndices:
      return data.length >= BLOOM_INDICES_HEADER_LENGTH;
    default:
      return INSTRUCTION_DATA_LENGTH[discriminator as CoordinatorInstruction] === data.length;
  }
}

/** Client index meaning "the run authority" in a checkpoint instruction. */
export const AUTHORITY_INDEX = 0xffff;

export const instructionName = (discriminator: number): string =>
  Object.entries(CoordinatorInstruction).find(([, v]) => v === discriminator)?.[0] ?? `unknown(${discriminator})`;

const bytes32 = (name: string, value: Uint8Array): Uint8Array => assertBytes(name, value, 32);

/** Data of each instruction, as bytes. */
export const encodeInstructionData = {
  initialize: (runId: Uint8Array, config: RunConfig): Uint8Array =>
    new ByteWriter(369).u8(CoordinatorInstruction.Initialize).bytes(bytes32('runId', runId)).bytes(encodeRunConfig(config)).finish(),
  updateConfig: (config: RunConfig): Uint8Array => new ByteWriter(337).u8(CoordinatorInstruction.UpdateConfig).bytes(encodeRunConfig(config)).finish(),
  join: (commitment: Uint8Array): Uint8Array => new ByteWriter(33).u8(CoordinatorInstruction.Join).bytes(bytes32('commitment', commitment)).finish(),
  withdraw: (): Uint8Array => Uint8Array.of(CoordinatorInstruction.Withdraw),
  kick: (client: Uint8Array): Uint8Array => new ByteWriter(33).u8(CoordinatorInstruction.Kick).bytes(bytes32('client', client)).finish(),
  pause: (): Uint8Array => Uint8Array.of(CoordinatorInstruction.Pause),
  resume: (): Uint8Array => Uint8Array.of(CoordinatorInstruction.Resume),
  tick: (): Uint8Array => Uint8Array.of(CoordinatorInstruction.Tick),
  warmupWitness: (clientIndex: number, reveal: Uint8Array): Uint8Array =>
    new ByteWriter(35).u8(CoordinatorInstruction.WarmupWitness).u16(assertInteger('clientIndex', clientIndex, 0, 0xffff)).bytes(bytes32('reveal', reveal)).finish(),
  witness: (w: WitnessSubmission): Uint8Array =>
    new ByteWriter(WITNESS_FIXED_DATA_LENGTH + assertBytes('participantBloom', w.participantBloom).length)
      .u8(CoordinatorInstruction.Witness)
      .u64(w.step)
      .u16(assertInteger('clientIndex', w.clientIndex, 0, 0xffff))
      .bytes(bytes32('reveal', w.reveal))
      .bytes(participantBitmap(w.participants))
      .bytes(bytes32('resultRoot', w.resultRoot))
      .bytes(w.participantBloom)
      .finish(),
  checkpoint: (clientIndex: number, hash: Uint8Array, location: Uint8Array): Uint8Array =>
    new ByteWriter(163)
      .u8(CoordinatorInstruction.Checkpoint)
      .u16(assertInteger('clientIndex', clientIndex, 0, 0xffff))
      .bytes(bytes32('hash', hash))
      .bytes(assertBytes('location', location, LOCATION_LEN))
      .finish(),
  shuffle: (seed: Uint8Array, count: number, index: number): Uint8Array =>
    new ByteWriter(41).u8(CoordinatorInstruction.Shuffle).bytes(bytes32('seed', seed)).u32(count).u32(index).finish(),
  assignment: (clientIndex: number): Uint8Array => new ByteWriter(3).u8(CoordinatorInstruction.Assignment).u16(clientIndex).finish(),
  /** Any bytes as the filter (the program decodes and may reject them), then the item. */
  bloomContains: (filter: Uint8Array, item: Uint8Array): Uint8Array =>
    new ByteWriter(BLOOM_CONTAINS_HEADER_LENGTH + filter.length + item.length)
      .u8(CoordinatorInstruction.BloomContains)
      .u16(assertInteger('filter.length', assertBytes('filter', filter).length, 0, 0xffff))
      .bytes(filter)
      .bytes(assertBytes('item', item))
      .finish(),
  bloomIndices: (seed: bigint, bitCount: number, hashCount: number, item: Uint8Array): Uint8Array =>
    new ByteWriter(BLOOM_INDICES_HEADER_LENGTH + item.length)
      .u8(CoordinatorInstruction.BloomIndices)
      .u64(seed)
      .u32(assertInteger('bitCount', bitCount, 0, 0xffffffff))
      .u8(assertInteger('hashCount', hashCount, 0, 0xff))
      .bytes(assertBytes('item', item))
      .finish(),
};

export interface WitnessSubmission {
  readonly step: bigint;
  readonly clientIndex: number;
  /** The next link of the witness's hash chain (see HashChain). */
  readonly reveal: Uint8Array;
  /** Client indices whose training results this witness received and checked. */
  readonly participants: Iterable<number> | Uint8Array;
  /** The witness's vote: Merkle root of the commitments it accepted. */
  readonly resultRoot: Uint8Array;
  /**
   * Canonical participant Bloom filter (see {@link participantBloom}): must hold SHA-256(key) of
   * every participant, be sized for the round's clients at 1% and seeded by the round seed.
   */
  readonly participantBloom: Uint8Array;
}

/** 256-bit bitmap of client indices (a Uint8Array of 32 bytes is taken as-is). */
export function participantBitmap(participants: Iterable<number> | Uint8Array): Uint8Array {
  if (participants instanceof Uint8Array) return assertBytes('participants', participants, 32);
  const out = new Uint8Array(MAX_CLIENTS / 8);
  for (const index of participants) {
    assertInteger('participant', index, 0, MAX_CLIENTS - 1);
    out[index >> 3]! |= 1 << (index & 7);
  }
  return out;
}

/** Splits instruction data into discriminator and arguments after checking the exact length. */
export function splitInstructionData(data: Uint8Array): { discriminator: CoordinatorInstruction; args: Uint8Array } {
  const discriminator = data[0];
  if (!instructionDataLengthOk(data)) {
    throw new PsycheError(COORDINATOR_MALFORMED_INSTRUCTION, { reason: `discriminator ${String(discriminator)}, length ${data.length}` }, 'unknown instruction or wrong data length');
  }
  return { discriminator: discriminator as CoordinatorInstruction, args: data.subarray(1) };
}

function signerMeta(signer: TransactionSigner): AccountMeta {
  return { address: signer.address, role: AccountRole.READONLY_SIGNER, signer } as AccountMeta;
}

function runMeta(run: Address, writable = true): AccountMeta {
  return { address: run, role: writable ? AccountRole.WRITABLE : AccountRole.READONLY };
}

function instruction(programAddress: Address, accounts: AccountMeta[], data: Uint8Array): Instruction {
  return { programAddress, accounts, data };
}

export interface RunInstructionInput {
  readonly programAddress: Address;
  readonly run: Address;
}

/** Builders of kit `Instruction`s; signer accounts carry their TransactionSigner for signTransactionMessageWithSigners. */
export function getInitializeRunInstruction(i: RunInstructionInput & { authority: TransactionSigner; runId: Uint8Array; config: RunConfig }): Instruction {
  return instruction(i.programAddress, [runMeta(i.run), signerMeta(i.authority)], encodeInstructionData.initialize(i.runId, i.config));
}
export function getUpdateConfigInstruction(i: RunInstructionInput & { authority: TransactionSigner; config: RunConfig }): Instruction {
  return instruction(i.programAddress, [runMeta(i.run), signerMeta(i.authority)], encodeInstructionData.updateConfig(i.config));
}
/** `authority` co-signs the join of a permissioned run (config.joinRequiresAuthority). */
export function getJoinRunInstruction(i: RunInstructionInput & { client: TransactionSigner; commitment: Uint8Array; authority?: TransactionSigner }): Instruction {
  const accounts = [runMeta(i.run), signerMeta(i.client), ...(i.authority ? [signerMeta(i.authority)] : [])];
  return instruction(i.programAddress, accounts, encodeInstructionData.join(i.commitment));
}
export function getWithdrawInstruction(i: RunInstructionInput & { client: TransactionSigner }): Instruction {
  return instruction(i.programAddress, [runMeta(i.run), signerMeta(i.client)], encodeInstructionData.withdraw());
}
export function getKickInstruction(i: RunInstructionInput & { authority: TransactionSigner; client: Address }): Instruction {
  return instruction(i.programAddress, [runMeta(i.run), signerMeta(i.authority)], encodeInstructionData.kick(new Uint8Array(getAddressEncoder().encode(i.client))));
}
export function getPauseInstruction(i: RunInstructionInput & { authority: TransactionSigner }): Instruction {
  return instruction(i.programAddress, [runMeta(i.run), signerMeta(i.authority)], encodeInstructionData.pause());
}
export function getResumeInstruction(i: RunInstructionInput & { authority: TransactionSigner }): Instruction {
  return instruction(i.programAddress, [runMeta(i.run), signerMeta(i.authority)], encodeInstructionData.resume());
}
export function getTickInstruction(i: RunInstructionInput): Instruction {
  return instruction(i.programAddress, [runMeta(i.run)], encodeInstructionData.tick());
}
export function getWarmupWitnessInstruction(i: RunInstructionInput & { client: TransactionSigner; clientIndex: number; reveal: Uint8Array }): Instruction {
  return instruction(i.programAddress, [runMeta(i.run), signerMeta(i.client)], encodeInstructionData.warmupWitness(i.clientIndex, i.reveal));
}
export function getWitnessInstruction(i: RunInstructionInput & { client: TransactionSigner; submission: WitnessSubmission }): Instruction {
  return instruction(i.programAddress, [runMeta(i.run), signerMeta(i.client)], encodeInstructionData.witness(i.submission));
}
export function getCheckpointInstruction(
  i: RunInstructionInput & { signer: TransactionSigner; clientIndex: number; hash: Uint8Array; location: Uint8Array },
): Instruction {
  return instruction(i.programAddress, [runMeta(i.run), signerMeta(i.signer)], encodeInstructionData.checkpoint(i.clientIndex, i.hash, i.location));
}
export function getShuffleInstruction(i: { programAddress: Address; seed: Uint8Array; count: number; index: number }): Instruction {
  return instruction(i.programAddress, [], encodeInstructionData.shuffle(i.seed, i.count, i.index));
}
export function getBloomContainsInstruction(i: { programAddress: Address; filter: Uint8Array; item: Uint8Array }): Instruction {
  return instruction(i.programAddress, [], encodeInstructionData.bloomContains(i.filter, i.item));
}
export function getBloomIndicesInstruction(i: { programAddress: Address; seed: bigint; bitCount: number; hashCount: number; item: Uint8Array }): Instruction {
  return instruction(i.programAddress, [], encodeInstructionData.bloomIndices(i.seed, i.bitCount, i.hashCount, i.item));
}
export function getAssignmentInstruction(i: RunInstructionInput & { clientIndex: number }): Instruction {
  return instruction(i.programAddress, [runMeta(i.run, false)], encodeInstructionData.assignment(i.clientIndex));
}
