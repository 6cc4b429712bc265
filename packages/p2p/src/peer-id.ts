import { privateKeyFromRaw, publicKeyFromRaw } from '@libp2p/crypto/keys';
import type { PeerId, PrivateKey } from '@libp2p/interface';
import { peerIdFromPublicKey, peerIdFromString } from '@libp2p/peer-id';
import { P2P_MALFORMED_NODE_ID, PsycheError, concatBytes } from '@psyche/core';
import type { Identity } from './identity.ts';
import { nodeId } from './node-id.ts';
import type { NodeId } from './node-id.ts';

/**
 * The libp2p peer id of a node id. Ed25519 peer ids embed the public key (identity multihash),
 * so the mapping is lossless both ways.
 */
export function nodeIdToPeerId(id: NodeId): PeerId {
  return peerIdFromPublicKey(publicKeyFromRaw(id));
}

/** The node id inside a libp2p peer id; throws P2P_MALFORMED_NODE_ID for non-Ed25519 peers. */
export function peerIdToNodeId(peer: PeerId | string): NodeId {
  const parsed = typeof peer === 'string' ? peerIdFromString(peer) : peer;
  if (parsed.type !== 'Ed25519' || parsed.publicKey === undefined) {
    throw new PsycheError(
      P2P_MALFORMED_NODE_ID,
      { length: 0, reason: `peer ${parsed.toString()} is ${parsed.type}, not Ed25519` },
      `peer ${parsed.toString()} has no Ed25519 public key`,
    );
  }
  return nodeId(parsed.publicKey.raw);
}

/** The libp2p private key of an identity (libp2p's raw Ed25519 form is seed ‖ public key). */
export function identityToLibp2pKey(identity: Identity): PrivateKey {
  return privateKeyFromRaw(concatBytes(identity.secretKey, identity.nodeId));
}
