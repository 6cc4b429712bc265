import { P2P_MALFORMED_NODE_ID, PsycheError, describeValue, fromHex, isPsycheError, toHex } from '@psyche/core';

/** Length of an Ed25519 public key, which is what a node id is (RFC 8032 §5.1.5). */
export const NODE_ID_LENGTH = 32;

/** A node id: the node's 32-byte Ed25519 public key. Text form: 64 lowercase hex characters. */
export type NodeId = Uint8Array & { readonly __brand: 'NodeId' };

export function isNodeId(value: unknown): value is NodeId {
  return value instanceof Uint8Array && value.length === NODE_ID_LENGTH;
}

export function assertIsNodeId(value: unknown): asserts value is NodeId {
  if (!isNodeId(value)) {
    const length = value instanceof Uint8Array ? value.length : -1;
    throw new PsycheError(
      P2P_MALFORMED_NODE_ID,
      { length, reason: `expected Uint8Array of length ${NODE_ID_LENGTH}` },
      `node id: expected Uint8Array of length ${NODE_ID_LENGTH}, got ${length < 0 ? typeof value : `length=${length}`}`,
    );
  }
}

/** Copies `bytes` into a NodeId after checking the length. */
export function nodeId(bytes: Uint8Array): NodeId {
  assertIsNodeId(bytes);
  return Uint8Array.from(bytes) as NodeId;
}

/** The one text encoding of a node id: lowercase hex, 64 characters. */
export function nodeIdToString(id: NodeId): string {
  return toHex(id);
}

/** Parses the text form (hex, either case accepted, canonical output is lowercase). */
export function nodeIdFromString(text: string): NodeId {
  // typeof first: a JS caller's {length: 64} reached fromHex, and its message printed text.length unchecked.
  if (typeof text !== 'string' || text.length !== NODE_ID_LENGTH * 2) {
    const length = typeof text === 'string' ? text.length : -1;
    throw new PsycheError(
      P2P_MALFORMED_NODE_ID,
      { length, reason: 'expected 64 hex characters' },
      `node id: expected 64 hex characters, got ${length < 0 ? describeValue(text) : length}`,
    );
  }
  try {
    return fromHex(text) as NodeId;
  } catch (cause) {
    if (!isPsycheError(cause)) throw cause;
    throw new PsycheError(P2P_MALFORMED_NODE_ID, { length: text.length, reason: 'not hex' }, 'node id: not hex', {
      cause,
    });
  }
}

export function nodeIdEquals(a: NodeId, b: NodeId): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
