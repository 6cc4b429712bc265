import { decode, encode } from '@msgpack/msgpack';
import {
  P2P_MALFORMED_ENVELOPE,
  P2P_MESSAGE_TOO_LARGE,
  P2P_SIGNATURE_INVALID,
  PsycheError,
  describeValue,
  utf8Encode,
} from '@psyche/core';
import { SIGNATURE_LENGTH, verifySignature } from './identity.ts';
import type { Identity } from './identity.ts';
import { blake3 } from './blake3.ts';
import { NODE_ID_LENGTH, nodeIdToString } from './node-id.ts';
import type { NodeId } from './node-id.ts';

export const ENVELOPE_VERSION = 1;
/** Domain separation: a signature over an envelope can never be replayed as another kind of message. */
const SIGNING_DOMAIN = utf8Encode('psyche-gossip-envelope-v1');
const MAX_TOPIC_LENGTH = 256;

/** A signed gossip message. `attempt` is the publisher's retransmission counter and is not signed. */
export interface Envelope {
  readonly topic: string;
  readonly sender: NodeId;
  /** Per-sender sequence number, increasing; with `sender` it names the message. */
  readonly seq: number;
  /** Publisher's wall clock, ms since the epoch (informational; not trusted for ordering). */
  readonly timestampMs: number;
  readonly payload: Uint8Array;
  readonly signature: Uint8Array;
  readonly attempt: number;
}

function signedBytes(topic: string, sender: NodeId, seq: number, timestampMs: number, payload: Uint8Array): Uint8Array {
  const body = encode([ENVELOPE_VERSION, topic, sender, seq, timestampMs, payload]);
  const out = new Uint8Array(SIGNING_DOMAIN.length + body.length);
  out.set(SIGNING_DOMAIN, 0);
  out.set(body, SIGNING_DOMAIN.length);
  return out;
}

export interface SealEnvelopeParameters {
  identity: Identity;
  topic: string;
  seq: number;
  timestampMs: number;
  payload: Uint8Array;
}

/** Signs a payload into an envelope (attempt 0). */
export function sealEnvelope({ identity, topic, seq, timestampMs, payload }: SealEnvelopeParameters): Envelope {
  const signature = identity.sign(signedBytes(topic, identity.nodeId, seq, timestampMs, payload));
  return { topic, sender: identity.nodeId, seq, timestampMs, payload, signature, attempt: 0 };
}

/**
 * Wire form: a msgpack array `[version, topic, sender, seq, timestampMs, payload, signature, attempt]`
 * (see docs/p2p.md).
 */
export function encodeEnvelope(envelope: Envelope): Uint8Array {
  return encode([
    ENVELOPE_VERSION,
    envelope.topic,
    envelope.sender,
    envelope.seq,
    envelope.timestampMs,
    envelope.payload,
    envelope.signature,
    envelope.attempt,
  ]);
}

function malformed(reason: string, cause?: unknown): never {
  throw new PsycheError(P2P_MALFORMED_ENVELOPE, { reason }, `malformed envelope: ${reason}`, { cause });
}

function isUint(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

/**
 * Strict decoder. The size is checked before parsing and msgpack's own limits cap every length, so a
 * hostile frame cannot make it allocate more than `maxBytes`. Does not verify the signature.
 */
export function decodeEnvelope(bytes: Uint8Array, maxBytes: number): Envelope {
  if (bytes.length > maxBytes) {
    throw new PsycheError(
      P2P_MESSAGE_TOO_LARGE,
      { size: bytes.length, limit: maxBytes },
      `envelope of ${bytes.length} bytes exceeds the limit of ${maxBytes}`,
    );
  }
  let value: unknown;
  try {
    value = decode(bytes, {
      maxStrLength: MAX_TOPIC_LENGTH,
      maxBinLength: maxBytes,
      maxArrayLength: 8,
      maxMapLength: 0,
      maxExtLength: 0,
      useBigInt64: false,
    });
  } catch (cause) {
    return malformed('not msgpack', cause);
  }
  if (!Array.isArray(value) || value.length !== 8) return malformed('expected an array of 8 fields');
  const [version, topic, sender, seq, timestampMs, payload, signature, attempt] = value as unknown[];
  if (version !== ENVELOPE_VERSION) return malformed(`unsupported version ${describeValue(version)}`);
  if (typeof topic !== 'string' || topic.length === 0) return malformed('topic is not a non-empty string');
  if (!(sender instanceof Uint8Array) || sender.length !== NODE_ID_LENGTH) return malformed('sender is not 32 bytes');
  if (!isUint(seq)) return malformed('seq is not an unsigned integer');
  if (!isUint(timestampMs)) return malformed('timestamp is not an unsigned integer');
  if (!(payload instanceof Uint8Array)) return malformed('payload is not bytes');
  if (!(signature instanceof Uint8Array) || signature.length !== SIGNATURE_LENGTH) {
    return malformed('signature is not 64 bytes');
  }
  if (!isUint(attempt) || attempt > 255) return malformed('attempt is not in [0, 255]');
  return { topic, sender: sender as NodeId, seq, timestampMs, payload, signature, attempt };
}

/** Throws P2P_SIGNATURE_INVALID unless the sender's signature covers the signed fields. */
export function verifyEnvelope(envelope: Envelope): void {
  const message = signedBytes(envelope.topic, envelope.sender, envelope.seq, envelope.timestampMs, envelope.payload);
  if (!verifySignature(envelope.sender, message, envelope.signature)) {
    const sender = nodeIdToString(envelope.sender);
    throw new PsycheError(P2P_SIGNATURE_INVALID, { sender }, `bad envelope signature from ${sender}`);
  }
}

/** Message id: BLAKE3 of the signed fields, so retransmissions (other `attempt`) share one id. */
export function envelopeId(envelope: Envelope): Uint8Array {
  return blake3(signedBytes(envelope.topic, envelope.sender, envelope.seq, envelope.timestampMs, envelope.payload));
}
