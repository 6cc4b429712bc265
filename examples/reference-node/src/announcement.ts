import { ByteReader, ByteWriter, NODE_MALFORMED_ANNOUNCEMENT, PsycheError, describeValue, isPsycheError } from '@psyche/core';
import { decodeTicket, encodeTicket, type BlobTicket } from '@psyche/p2p';
import { COMMITMENT_ENCODED_LENGTH, decodeCommitment, encodeCommitment, type Commitment } from '@psyche/verify';
import type { Verdict } from './replay-committee.ts';

/**
 * What nodes gossip (small, signed by the gossip envelope): a trainer's result announcement
 * {step, batch, commitment, blob ticket, loss}, a witness's report {step, participant Bloom
 * filter, result root} and a verifier's verdict {step, member, accepted / rejected / abstained}
 * (only with `[verify] replicas`). Payloads themselves travel as blobs.
 *
 * Layout: "PSAN" ‖ version u8 ‖ kind u8 ‖ step u64 ‖ kind-specific fields (little-endian).
 */
export const ANNOUNCEMENT_MAGIC = Uint8Array.of(0x50, 0x53, 0x41, 0x4e);
export const ANNOUNCEMENT_VERSION = 1;
const MAX_TICKET_BYTES = 16 * 1024;
const MAX_BLOOM_BYTES = 16 * 1024;

export interface ResultAnnouncement {
  readonly kind: 'result';
  readonly step: bigint;
  /** Batch ids trained, inclusive at both ends (the commitment's BatchRange). */
  readonly batchStart: bigint;
  readonly batchEnd: bigint;
  readonly commitment: Commitment;
  readonly ticket: BlobTicket;
  /** The trainer's loss on its batch (informational: dashboards, not consensus). */
  readonly loss: number;
  readonly tokens: number;
}

export interface WitnessReport {
  readonly kind: 'witness';
  readonly step: bigint;
  /** WitnessBloom encoding of sha256(key) of every participant whose result checked out. */
  readonly participantBloom: Uint8Array;
  readonly resultRoot: Uint8Array;
}

/** A replay committee member's judgement of another member's result (the envelope says who judged). */
export interface VerdictReport {
  readonly kind: 'verdict';
  readonly step: bigint;
  /** The judged member's 32-byte node id. */
  readonly member: Uint8Array;
  readonly verdict: Verdict;
}

export type Announcement = ResultAnnouncement | WitnessReport | VerdictReport;

const VERDICT_CODES: readonly Verdict[] = ['rejected', 'accepted', 'abstained'];

export function encodeAnnouncement(a: Announcement): Uint8Array {
  const w = new ByteWriter(512).bytes(ANNOUNCEMENT_MAGIC).u8(ANNOUNCEMENT_VERSION);
  if (a.kind === 'result') {
    const ticket = encodeTicket(a.ticket);
    w.u8(1).u64(a.step).u64(a.batchStart).u64(a.batchEnd).bytes(encodeCommitment(a.commitment)).f32(a.loss).u32(a.tokens).u32(ticket.length).bytes(ticket);
  } else if (a.kind === 'witness') {
    w.u8(2).u64(a.step).bytes(a.resultRoot).u32(a.participantBloom.length).bytes(a.participantBloom);
  } else {
    // instanceof first: a template literal on the length of a JS caller's {length: {toString: null}} threw a TypeError.
    if (!(a.member instanceof Uint8Array) || a.member.length !== 32) throw malformed(14, `member id of ${a.member instanceof Uint8Array ? a.member.length : describeValue(a.member)} bytes`);
    if (!VERDICT_CODES.includes(a.verdict)) throw malformed(46, `unknown verdict ${describeValue(a.verdict)}`);
    w.u8(3).u64(a.step).bytes(a.member).u8(VERDICT_CODES.indexOf(a.verdict));
  }
  return w.finish();
}

function malformed(offset: number, reason: string): PsycheError {
  return new PsycheError(NODE_MALFORMED_ANNOUNCEMENT, { offset, reason }, `malformed announcement at byte ${offset}: ${reason}`);
}

/** Decodes bytes from any peer; everything malformed is NODE_MALFORMED_ANNOUNCEMENT. */
export function decodeAnnouncement(bytes: Uint8Array): Announcement {
  const r = new ByteReader(bytes);
  try {
    const magic = r.bytes(4);
    if (!magic.every((b, i) => b === ANNOUNCEMENT_MAGIC[i])) throw malformed(0, 'bad magic');
    const version = r.u8();
    if (version !== ANNOUNCEMENT_VERSION) throw malformed(4, `unsupported version ${version}`);
    const kind = r.u8();
    const step = r.u64();
    if (kind === 1) {
      const batchStart = r.u64();
      const batchEnd = r.u64();
      if (batchEnd < batchStart) throw malformed(22, 'batch end before start');
      const commitment = decodeCommitment(r.bytes(COMMITMENT_ENCODED_LENGTH));
      const loss = r.f32();
      const tokens = r.u32();
      const ticketLength = r.u32();
      if (ticketLength > MAX_TICKET_BYTES) throw malformed(bytes.length - r.remaining - 4, `ticket of ${ticketLength} bytes`);
      const ticket = decodeTicket(r.bytes(ticketLength));
      r.expectEnd();
      return { kind: 'result', step, batchStart, batchEnd, commitment, ticket, loss, tokens };
    }
    if (kind === 2) {
      const resultRoot = r.bytes(32).slice();
      const bloomLength = r.u32();
      if (bloomLength > MAX_BLOOM_BYTES) throw malformed(bytes.length - r.remaining - 4, `bloom of ${bloomLength} bytes`);
      const participantBloom = r.bytes(bloomLength).slice();
      r.expectEnd();
      return { kind: 'witness', step, resultRoot, participantBloom };
    }
    if (kind === 3) {
      const member = r.bytes(32).slice();
      const code = r.u8();
      const verdict = VERDICT_CODES[code];
      if (verdict === undefined) throw malformed(46, `unknown verdict ${code}`);
      r.expectEnd();
      return { kind: 'verdict', step, member, verdict };
    }
    throw malformed(5, `unknown kind ${kind}`);
  } catch (e) {
    if (isPsycheError(e, NODE_MALFORMED_ANNOUNCEMENT)) throw e;
    throw malformed(bytes.length - r.remaining, e instanceof Error ? e.message : String(e));
  }
}
