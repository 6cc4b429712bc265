import {
  P2P_DUPLICATE_MESSAGE,
  P2P_INVALID_CONFIG,
  P2P_PEER_BANNED,
  P2P_SENDER_NOT_MEMBER,
  P2P_STOPPED,
  P2P_TOPIC_MISMATCH,
  PsycheError,
  describeValue,
  isPsycheError,
  toHex,
} from '@psyche/core';
import { decodeEnvelope, encodeEnvelope, envelopeId, sealEnvelope, verifyEnvelope } from './envelope.ts';
import type { Envelope } from './envelope.ts';
import { DEFAULT_MAX_MESSAGE_BYTES, DEFAULT_REBROADCAST_POLICY } from './gossip.ts';
import type { Gossip, GossipMessage, GossipOptions, GossipRejection, PublishResult, RebroadcastPolicy } from './gossip.ts';
import type { Identity } from './identity.ts';
import { nodeIdToString } from './node-id.ts';
import type { NodeId } from './node-id.ts';
import { PeerScores } from './peer-scores.ts';

/**
 * What the transport should do with a received frame: deliver-and-forward (`accept`), forward a
 * new retransmission round of a message already delivered (`forward`), drop quietly (`ignore`),
 * or drop and count against the peer (`reject`).
 */
export type ReceiveVerdict = 'accept' | 'forward' | 'ignore' | 'reject';

/** The one thing a transport supplies: send these bytes to the topic. */
export type BroadcastFn = (bytes: Uint8Array) => Promise<void>;

/**
 * Transport-independent gossip logic shared by every implementation: sealing, strict decoding,
 * topic and membership checks, signature verification, duplicate suppression, scoring and
 * retransmission. Transports only move bytes.
 */
function invalidOption(field: string, value: unknown, expected: string): never {
  throw new PsycheError(P2P_INVALID_CONFIG, { field, value: describeValue(value), expected }, `gossip option ${field}: expected ${expected}, got ${describeValue(value)}`);
}

const isCount = (value: unknown, min: number): boolean => Number.isSafeInteger(value) && (value as number) >= min;

/**
 * Gossip options from a JS caller are checked when the engine is made: unchecked, a symbol or
 * {toString: null} limit threw a TypeError in the first `bytes.length > limit` of message handling,
 * and a NaN one silently disabled it.
 */
function checkGossipOptions(options: GossipOptions): void {
  if (typeof options !== 'object' || options === null) invalidOption('options', options, 'an object');
  const { maxMessageBytes, seenCacheSize, maxBacklogBytes, rebroadcast, now, scores } = options;
  if (maxMessageBytes !== undefined && !isCount(maxMessageBytes, 1)) invalidOption('maxMessageBytes', maxMessageBytes, 'an integer ≥ 1');
  if (seenCacheSize !== undefined && !isCount(seenCacheSize, 1)) invalidOption('seenCacheSize', seenCacheSize, 'an integer ≥ 1');
  if (maxBacklogBytes !== undefined && !isCount(maxBacklogBytes, 0)) invalidOption('maxBacklogBytes', maxBacklogBytes, 'an integer ≥ 0');
  if (rebroadcast !== undefined) {
    const delays: unknown = typeof rebroadcast === 'object' && rebroadcast !== null ? rebroadcast.delaysMs : undefined;
    // setTimeout clamps delays past 2^31 − 1 ms to 1 ms: a huge delay would retransmit at once.
    if (!Array.isArray(delays) || delays.length > 64 || !delays.every((d) => typeof d === 'number' && d >= 0 && d <= 2 ** 31 - 1)) {
      invalidOption('rebroadcast.delaysMs', delays, 'at most 64 delays in [0, 2^31 − 1] ms');
    }
  }
  if (now !== undefined && typeof now !== 'function') invalidOption('now', now, 'a function');
  if (scores !== undefined && !(scores instanceof PeerScores)) invalidOption('scores', scores, 'a PeerScores');
}

export class GossipEngine implements Gossip {
  readonly topic: string;
  readonly nodeId: NodeId;
  readonly scores: PeerScores;
  readonly maxMessageBytes: number;
  readonly #identity: Identity;
  readonly #broadcast: BroadcastFn;
  readonly #onStop: () => Promise<void>;
  readonly #rebroadcast: RebroadcastPolicy;
  readonly #seenCacheSize: number;
  readonly #now: () => number;
  /** message id → highest retransmission attempt seen (insertion order = age, for FIFO eviction). */
  readonly #seen = new Map<string, number>();
  readonly #members = new Set<string>();
  readonly #messageHandlers = new Set<(message: GossipMessage) => void>();
  readonly #rejectHandlers = new Set<(rejection: GossipRejection) => void>();
  readonly #timers = new Set<NodeJS.Timeout>();
  readonly #maxBacklogBytes: number;
  /** Accepted while no handler was registered; handed to the first one (see `onMessage`). */
  #backlog: GossipMessage[] = [];
  #backlogBytes = 0;
  #flushScheduled = false;
  #seq = 0;
  #stopped = false;

  constructor(identity: Identity, topic: string, broadcast: BroadcastFn, onStop: () => Promise<void>, options: GossipOptions = {}) {
    checkGossipOptions(options);
    this.#identity = identity;
    this.nodeId = identity.nodeId;
    this.topic = topic;
    this.#broadcast = broadcast;
    this.#onStop = onStop;
    this.maxMessageBytes = options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
    this.#rebroadcast = options.rebroadcast ?? DEFAULT_REBROADCAST_POLICY;
    this.#seenCacheSize = options.seenCacheSize ?? 65_536;
    this.#maxBacklogBytes = options.maxBacklogBytes ?? 4 * 1024 * 1024;
    this.#now = options.now ?? Date.now;
    this.scores = options.scores ?? new PeerScores();
  }

  get maxAttempt(): number {
    return this.#rebroadcast.delaysMs.length;
  }

  setMembers(members: Iterable<NodeId>): void {
    this.#members.clear();
    for (const member of members) this.#members.add(nodeIdToString(member));
  }

  isMember(id: NodeId): boolean {
    return this.#members.has(nodeIdToString(id));
  }

  async publish(payload: Uint8Array): Promise<PublishResult> {
    if (this.#stopped) throw new PsycheError(P2P_STOPPED, { what: 'gossip' }, 'gossip is stopped');
    const seq = this.#seq++;
    const envelope = sealEnvelope({ identity: this.#identity, topic: this.topic, seq, timestampMs: this.#now(), payload });
    const bytes = encodeEnvelope(envelope);
    if (bytes.length > this.maxMessageBytes) {
      // Checked before sending: peers would drop it and penalize us.
      decodeEnvelope(bytes, this.maxMessageBytes);
    }
    const id = toHex(envelopeId(envelope));
    this.#remember(id, 0);
    await this.#broadcast(bytes);
    this.#scheduleRebroadcasts(envelope);
    return { id, seq };
  }

  #scheduleRebroadcasts(envelope: Envelope): void {
    this.#rebroadcast.delaysMs.forEach((delayMs, index) => {
      const timer = setTimeout(() => {
        this.#timers.delete(timer);
        if (this.#stopped) return;
        this.#broadcast(encodeEnvelope({ ...envelope, attempt: index + 1 })).catch(() => {
          // A retransmission that cannot be sent now is simply lost; the next one may get through.
        });
      }, delayMs);
      timer.unref();
      this.#timers.add(timer);
    });
  }

  #remember(id: string, attempt: number): void {
    this.#seen.delete(id);
    this.#seen.set(id, attempt);
    if (this.#seen.size > this.#seenCacheSize) {
      const oldest = this.#seen.keys().next();
      if (oldest.done !== true) this.#seen.delete(oldest.value);
    }
  }

  #reject(error: PsycheError, peer: NodeId | undefined, penalize: boolean): ReceiveVerdict {
    if (penalize && peer !== undefined) this.scores.penalize(peer, error.code);
    for (const handler of this.#rejectHandlers) handler({ error, peer });
    return penalize ? 'reject' : 'ignore';
  }

  /** Checks and delivers one received frame. Never throws on bad input. */
  receive(bytes: Uint8Array, from: NodeId | undefined): ReceiveVerdict {
    if (this.#stopped) return 'ignore';
    if (from !== undefined && this.scores.isBanned(from)) {
      const peer = nodeIdToString(from);
      const score = this.scores.score(from);
      return this.#reject(new PsycheError(P2P_PEER_BANNED, { peer, score }, `peer ${peer} is banned`), from, false);
    }
    let envelope: Envelope;
    try {
      envelope = decodeEnvelope(bytes, this.maxMessageBytes);
      if (envelope.topic !== this.topic) {
        throw new PsycheError(
          P2P_TOPIC_MISMATCH,
          { expected: this.topic, received: envelope.topic },
          `envelope for topic ${envelope.topic} on ${this.topic}`,
        );
      }
      if (!this.isMember(envelope.sender)) {
        const sender = nodeIdToString(envelope.sender);
        throw new PsycheError(P2P_SENDER_NOT_MEMBER, { sender, topic: this.topic }, `sender ${sender} is not a member`);
      }
    } catch (e) {
      if (!isPsycheError(e)) throw e;
      return this.#reject(e, from, true);
    }
    const id = toHex(envelopeId(envelope));
    const seenAttempt = this.#seen.get(id);
    if (seenAttempt !== undefined) {
      // A retransmission round not yet seen is forwarded once so it reaches peers that missed the
      // original; the attempt counter is capped so a forger bumping it cannot make us flood.
      if (envelope.attempt > seenAttempt && envelope.attempt <= this.maxAttempt) {
        try {
          verifyEnvelope(envelope);
        } catch (e) {
          if (!isPsycheError(e)) throw e;
          return this.#reject(e, from, true);
        }
        this.#seen.set(id, envelope.attempt);
        return 'forward';
      }
      return this.#reject(new PsycheError(P2P_DUPLICATE_MESSAGE, { messageId: id }, 'duplicate message'), from, false);
    }
    try {
      verifyEnvelope(envelope);
    } catch (e) {
      if (!isPsycheError(e)) throw e;
      return this.#reject(e, from, true);
    }
    this.#remember(id, envelope.attempt);
    if (from !== undefined) this.scores.reward(from);
    const message: GossipMessage = {
      topic: envelope.topic,
      id,
      sender: envelope.sender,
      seq: envelope.seq,
      timestampMs: envelope.timestampMs,
      payload: envelope.payload,
      receivedFrom: from,
    };
    // Behind a backlog not yet handed over, so that handlers see messages in arrival order.
    if (this.#messageHandlers.size === 0 || this.#backlog.length > 0) this.#keep(message);
    else this.#dispatch(message);
    return 'accept';
  }

  #dispatch(message: GossipMessage): void {
    for (const handler of this.#messageHandlers) {
      try {
        handler(message);
      } catch {
        // A throwing application handler must not break delivery to the others or the transport.
      }
    }
  }

  #keep(message: GossipMessage): void {
    this.#backlog.push(message);
    this.#backlogBytes += message.payload.length;
    while (this.#backlogBytes > this.#maxBacklogBytes && this.#backlog.length > 0) {
      this.#backlogBytes -= this.#backlog.shift()!.payload.length;
    }
  }

  onMessage(handler: (message: GossipMessage) => void): () => void {
    this.#messageHandlers.add(handler);
    if (this.#backlog.length > 0 && !this.#flushScheduled) {
      // After onMessage returns, as every other delivery; to whoever listens by then.
      this.#flushScheduled = true;
      queueMicrotask(() => {
        this.#flushScheduled = false;
        if (this.#messageHandlers.size === 0) return;
        const backlog = this.#backlog;
        this.#backlog = [];
        this.#backlogBytes = 0;
        for (const message of backlog) this.#dispatch(message);
      });
    }
    return () => this.#messageHandlers.delete(handler);
  }

  onReject(handler: (rejection: GossipRejection) => void): () => void {
    this.#rejectHandlers.add(handler);
    return () => this.#rejectHandlers.delete(handler);
  }

  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    for (const timer of this.#timers) clearTimeout(timer);
    this.#timers.clear();
    this.#messageHandlers.clear();
    this.#rejectHandlers.clear();
    this.#backlog = [];
    this.#backlogBytes = 0;
    await this.#onStop();
  }
}
