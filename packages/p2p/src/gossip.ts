import { P2P_INVALID_CONFIG, PsycheError, describeValue } from '@psyche/core';
import type { PsycheError as PsycheErrorType } from '@psyche/core';
import type { NodeId } from './node-id.ts';
import type { PeerScores } from './peer-scores.ts';

/** A message accepted by a {@link Gossip}: signature verified, sender a member, first copy seen. */
export interface GossipMessage {
  readonly topic: string;
  /** Hex BLAKE3 of the signed fields; the same for every retransmission. */
  readonly id: string;
  readonly sender: NodeId;
  readonly seq: number;
  readonly timestampMs: number;
  readonly payload: Uint8Array;
  /** The peer that handed it to us (the sender or a forwarder), when the transport knows it. */
  readonly receivedFrom: NodeId | undefined;
}

/** A dropped message: the coded error, and the peer penalized for it when known. */
export interface GossipRejection {
  readonly error: PsycheErrorType;
  readonly peer: NodeId | undefined;
}

export interface PublishResult {
  readonly id: string;
  readonly seq: number;
}

/**
 * Signed, membership-checked broadcast within one run, independent of the transport. Every
 * implementation runs `runGossipCompliance`.
 */
export interface Gossip {
  readonly topic: string;
  readonly nodeId: NodeId;
  readonly scores: PeerScores;
  /** Replaces the allowlist of senders (the run's members, from the coordinator's state). */
  setMembers(members: Iterable<NodeId>): void;
  /** Signs and broadcasts; then retransmits per the rebroadcast policy. */
  publish(payload: Uint8Array): Promise<PublishResult>;
  /**
   * Calls `handler` for every accepted message; returns the unsubscribe function. Messages accepted
   * while no handler was registered (a node that joined the topic before it listens) are kept, up to
   * `GossipOptions.maxBacklogBytes`, and handed to the first handler registered, in a microtask.
   */
  onMessage(handler: (message: GossipMessage) => void): () => void;
  /** Calls `handler` for every dropped message, with its coded error. */
  onReject(handler: (rejection: GossipRejection) => void): () => void;
  stop(): Promise<void>;
}

/**
 * Gossip does not guarantee delivery (a mesh still forming, a peer briefly gone), so the publisher
 * retransmits the same signed envelope after each delay; receivers drop the copies by message id.
 */
export interface RebroadcastPolicy {
  /** Delays after the first send, in ms. `[]` disables retransmission. */
  readonly delaysMs: readonly number[];
}

export const DEFAULT_REBROADCAST_POLICY: RebroadcastPolicy = { delaysMs: [1_000, 4_000, 15_000] };

/** Default gossip size limit: results travel as blobs, gossip carries only small announcements. */
export const DEFAULT_MAX_MESSAGE_BYTES = 64 * 1024;

export interface GossipOptions {
  maxMessageBytes?: number;
  rebroadcast?: RebroadcastPolicy;
  /** How many message ids are remembered to drop duplicates (FIFO beyond this). */
  seenCacheSize?: number;
  /**
   * Payload bytes of accepted messages kept while no `onMessage` handler is registered (oldest
   * dropped beyond this). Default 4 MiB. Without it a message arriving before the handler was lost
   * for good: it was marked seen, so its retransmissions were dropped as duplicates.
   */
  maxBacklogBytes?: number;
  scores?: PeerScores;
  /** Wall clock for envelope timestamps; injectable for tests. */
  now?: () => number;
}

const RUN_ID_PATTERN = /^[A-Za-z0-9._-]{1,64}$/;

/** The gossip topic of a run: `/psyche/run/<runId>/gossip/1`. */
export function gossipTopic(runId: string): string {
  // typeof first: RegExp#test converts its argument, and a {toString: null} or a symbol threw a TypeError.
  if (typeof runId !== 'string' || !RUN_ID_PATTERN.test(runId)) {
    throw new PsycheError(
      P2P_INVALID_CONFIG,
      { field: 'runId', value: typeof runId === 'string' ? runId.slice(0, 80) : describeValue(runId), expected: '1-64 characters of [A-Za-z0-9._-]' },
      `run id must be 1-64 characters of [A-Za-z0-9._-], got ${describeValue(runId)}`,
    );
  }
  return `/psyche/run/${runId}/gossip/1`;
}
