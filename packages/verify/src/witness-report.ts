import { assertBytes, PsycheError, sha256, VERIFY_INVALID_PARAMETER, VERIFY_MALFORMED_WITNESS_REPORT, describeValue } from '@psyche/core';
import { WitnessBloom } from './bloom-filter.ts';
import { assertWitnessIndex, witnessQuorum } from './consensus.ts';

export const WITNESS_REPORT_VERSION = 1;
/** version u8 ‖ step u64 LE ‖ witnessIndex u16 LE ‖ broadcast Merkle root (32). */
const FIXED_HEADER_LENGTH = 1 + 8 + 2 + 32;
/** 64 KiB per filter: 256 members at 1e-9 need 1,380 bytes; bounds what a hostile report can make us parse. */
export const DEFAULT_MAX_BLOOM_BYTES = 65_536;

/** What one witness submits for a round (Psyche's Witness, with sized filters). */
export interface WitnessReport {
  readonly step: bigint;
  /** The witness's index among this round's witnesses, 0 ≤ index < witnessCount. */
  readonly witnessIndex: number;
  /** SHA-256 of the public key of every sender whose payload checked out. */
  readonly participantBloom: WitnessBloom;
  /** data_hash of the first valid payload per batch. */
  readonly broadcastBloom: WitnessBloom;
  /** Merkle root over the accepted data hashes, sorted bytewise. */
  readonly broadcastMerkleRoot: Uint8Array;
}

function malformed(offset: number, reason: string): PsycheError {
  return new PsycheError(VERIFY_MALFORMED_WITNESS_REPORT, { offset, reason }, `malformed witness report at byte ${offset}: ${reason}`);
}

/**
 * version u8 = 1 ‖ step u64 LE ‖ witnessIndex u16 LE ‖ broadcastMerkleRoot (32) ‖
 * participant filter length u32 LE ‖ participant filter ‖ broadcast filter length u32 LE ‖ broadcast filter
 * (filters in their canonical encoding, docs/verify.md).
 */
export function encodeWitnessReport(report: WitnessReport): Uint8Array {
  if (typeof report.step !== 'bigint' || report.step < 0n || report.step > 0xffff_ffff_ffff_ffffn) {
    throw new PsycheError(VERIFY_INVALID_PARAMETER, { field: 'step', value: describeValue(report.step), expected: 'bigint in [0, 2^64)' }, 'step out of range');
  }
  assertWitnessIndex(report.witnessIndex, 0x10000);
  assertBytes('broadcastMerkleRoot', report.broadcastMerkleRoot, 32);
  const participant = report.participantBloom.encode();
  const broadcast = report.broadcastBloom.encode();
  const out = new Uint8Array(FIXED_HEADER_LENGTH + 4 + participant.length + 4 + broadcast.length);
  const view = new DataView(out.buffer);
  view.setUint8(0, WITNESS_REPORT_VERSION);
  view.setBigUint64(1, report.step, true);
  view.setUint16(9, report.witnessIndex, true);
  out.set(report.broadcastMerkleRoot, 11);
  let at = FIXED_HEADER_LENGTH;
  for (const part of [participant, broadcast]) {
    view.setUint32(at, part.length, true);
    out.set(part, at + 4);
    at += 4 + part.length;
  }
  return out;
}

export interface WitnessReportLimits {
  /** This round's witness count: the index must be below it. */
  readonly witnessCount: number;
  readonly maxBloomBytes?: number;
}

/**
 * Decodes and validates a report: the witness index is checked against `witnessCount` before
 * anything else is used (VERIFY_WITNESS_INDEX_OUT_OF_RANGE), filter lengths are bounded before any
 * allocation, and truncated or trailing bytes are VERIFY_MALFORMED_WITNESS_REPORT.
 */
export function decodeWitnessReport(bytes: Uint8Array, limits: WitnessReportLimits): WitnessReport {
  if (!(bytes instanceof Uint8Array)) throw malformed(0, 'not a Uint8Array');
  const maxBloomBytes = limits.maxBloomBytes ?? DEFAULT_MAX_BLOOM_BYTES;
  // A NaN limit would compare false and let any filter length through.
  if (!Number.isSafeInteger(maxBloomBytes) || maxBloomBytes < 0) {
    throw new PsycheError(VERIFY_INVALID_PARAMETER, { field: 'maxBloomBytes', value: describeValue(maxBloomBytes), expected: 'non-negative integer' }, `maxBloomBytes must be a non-negative integer, got ${describeValue(maxBloomBytes)}`);
  }
  witnessQuorum(limits.witnessCount); // the count the index is checked against: an integer in [1, 65536]
  if (bytes.length < FIXED_HEADER_LENGTH) throw malformed(bytes.length, `truncated header (${bytes.length} of ${FIXED_HEADER_LENGTH} bytes)`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const version = view.getUint8(0);
  if (version !== WITNESS_REPORT_VERSION) throw malformed(0, `unsupported version ${version}`);
  const step = view.getBigUint64(1, true);
  const witnessIndex = assertWitnessIndex(view.getUint16(9, true), limits.witnessCount);
  const broadcastMerkleRoot = bytes.slice(11, 43);
  let at = FIXED_HEADER_LENGTH;
  const parts: WitnessBloom[] = [];
  for (const name of ['participant', 'broadcast']) {
    if (bytes.length - at < 4) throw malformed(at, `truncated ${name} filter length`);
    const length = view.getUint32(at, true);
    if (length > maxBloomBytes) throw malformed(at, `${name} filter of ${length} bytes exceeds ${maxBloomBytes}`);
    if (bytes.length - at - 4 < length) throw malformed(at + 4, `truncated ${name} filter (${bytes.length - at - 4} of ${length} bytes)`);
    parts.push(WitnessBloom.decode(bytes.subarray(at + 4, at + 4 + length)));
    at += 4 + length;
  }
  if (at !== bytes.length) throw malformed(at, `${bytes.length - at} trailing bytes`);
  return { step, witnessIndex, participantBloom: parts[0]!, broadcastBloom: parts[1]!, broadcastMerkleRoot };
}

/** The item witnesses insert into participant filters: SHA-256 of the sender's 32-byte public key. */
export function participantItem(publicKey: Uint8Array): Uint8Array {
  assertBytes('publicKey', publicKey, 32);
  return sha256(publicKey);
}

/**
 * Psyche's health rule: a client is healthy when at least a quorum of the previous round's witnesses
 * (`witnessCount` of them; `reports` those that reported) have it in their participant filter.
 * A report whose index is out of range, or a second report from the same index, is rejected.
 */
export function isParticipantHealthy(publicKey: Uint8Array, reports: readonly WitnessReport[], witnessCount: number): boolean {
  const item = participantItem(publicKey);
  const seen = new Set<number>();
  let votes = 0;
  for (const report of reports) {
    const index = assertWitnessIndex(report.witnessIndex, witnessCount);
    if (seen.has(index)) {
      throw new PsycheError(VERIFY_INVALID_PARAMETER, { field: 'reports', value: `index ${index} twice`, expected: 'one report per witness' }, `two reports from witness ${index}`);
    }
    seen.add(index);
    if (report.participantBloom.has(item)) votes++;
  }
  return votes >= witnessQuorum(witnessCount);
}
