import {
  P2P_BLOB_HASH_MISMATCH,
  P2P_BLOB_NOT_FOUND,
  P2P_BLOB_SIZE_MISMATCH,
  P2P_BLOB_STALLED,
  P2P_MALFORMED_BLOB_FRAME,
  P2P_MALFORMED_ENVELOPE,
  P2P_MESSAGE_TOO_LARGE,
  P2P_PROVIDER_UNREACHABLE,
  P2P_SENDER_NOT_MEMBER,
  P2P_SIGNATURE_INVALID,
  P2P_TOPIC_MISMATCH,
  P2P_INVALID_CONFIG,
  PsycheError,
  describeValue,
} from '@psyche/core';
import type { PsycheErrorCode } from '@psyche/core';
import { nodeIdToString } from './node-id.ts';
import type { NodeId } from './node-id.ts';

/**
 * Penalty per error code. Provable misbehaviour (a bad signature, bytes that do not hash to what
 * was asked) costs most; what an honest but slow or departed peer can cause costs little.
 */
export const DEFAULT_PENALTIES: Readonly<Partial<Record<PsycheErrorCode, number>>> = {
  [P2P_MALFORMED_ENVELOPE]: 20,
  [P2P_MESSAGE_TOO_LARGE]: 20,
  [P2P_SIGNATURE_INVALID]: 50,
  [P2P_SENDER_NOT_MEMBER]: 5,
  [P2P_TOPIC_MISMATCH]: 10,
  [P2P_MALFORMED_BLOB_FRAME]: 20,
  [P2P_BLOB_HASH_MISMATCH]: 50,
  [P2P_BLOB_SIZE_MISMATCH]: 50,
  [P2P_BLOB_STALLED]: 10,
  [P2P_BLOB_NOT_FOUND]: 2,
  [P2P_PROVIDER_UNREACHABLE]: 2,
};

/**
 * Failures an honest peer causes by leaving, restarting or not having a blob yet. They lower the
 * score (the peer is tried after others) but never to a ban on their own: a node killed and
 * restarted with the same key must be fetchable again (a permanent ban once left a restarted peer's
 * results unfetchable for the rest of a run).
 */
export const BENIGN_FAILURES: ReadonlySet<PsycheErrorCode> = new Set<PsycheErrorCode>([P2P_PROVIDER_UNREACHABLE, P2P_BLOB_NOT_FOUND]);

export interface PeerScoresOptions {
  /** A peer at or below this score is banned: its messages are dropped and it is tried last. */
  banThreshold?: number;
  /** Score never rises above this through good behaviour (so credit cannot be banked). */
  maxScore?: number;
  penalties?: Partial<Record<PsycheErrorCode, number>>;
  /** Lowest score that BENIGN_FAILURES alone can lead to (default: half the ban threshold). */
  benignFloor?: number;
}

/** Scores of remote peers, keyed by node id. Starts at 0; penalties subtract, good deliveries add 1. */
/**
 * Score options from a JS caller: a symbol or {toString: null} threshold threw a TypeError at the first
 * comparison (`score <= banThreshold`), and a NaN one banned no one.
 */
function checkScoreOptions(options: PeerScoresOptions): void {
  const invalid = (field: string, value: unknown, expected: string): never => {
    throw new PsycheError(P2P_INVALID_CONFIG, { field, value: describeValue(value), expected }, `peer score option ${field}: expected ${expected}, got ${describeValue(value)}`);
  };
  if (typeof options !== 'object' || options === null) invalid('options', options, 'an object');
  for (const field of ['banThreshold', 'maxScore', 'benignFloor'] as const) {
    const value: unknown = options[field];
    if (value !== undefined && !(typeof value === 'number' && Number.isFinite(value))) invalid(field, value, 'a finite number');
  }
  const { penalties } = options;
  if (penalties !== undefined) {
    if (typeof penalties !== 'object' || penalties === null) invalid('penalties', penalties, 'an object of code → penalty');
    for (const [code, penalty] of Object.entries(penalties)) {
      if (!(typeof penalty === 'number' && Number.isFinite(penalty))) invalid(`penalties.${code}`, penalty, 'a finite number');
    }
  }
}

export class PeerScores {
  readonly banThreshold: number;
  readonly maxScore: number;
  readonly benignFloor: number;
  readonly #penalties: Partial<Record<PsycheErrorCode, number>>;
  readonly #scores = new Map<string, number>();

  constructor(options: PeerScoresOptions = {}) {
    checkScoreOptions(options);
    this.banThreshold = options.banThreshold ?? -100;
    this.maxScore = options.maxScore ?? 20;
    this.benignFloor = options.benignFloor ?? this.banThreshold / 2;
    this.#penalties = { ...DEFAULT_PENALTIES, ...options.penalties };
  }

  score(peer: NodeId): number {
    return this.#scores.get(nodeIdToString(peer)) ?? 0;
  }

  isBanned(peer: NodeId): boolean {
    return this.score(peer) <= this.banThreshold;
  }

  /** Subtracts the penalty of `code` (1 for codes without one; benign failures stop at benignFloor) and returns the new score. */
  penalize(peer: NodeId, code: PsycheErrorCode): number {
    const key = nodeIdToString(peer);
    const current = this.#scores.get(key) ?? 0;
    const lowered = current - (this.#penalties[code] ?? 1);
    const next = BENIGN_FAILURES.has(code) ? Math.min(current, Math.max(lowered, this.benignFloor)) : lowered;
    this.#scores.set(key, next);
    return next;
  }

  reward(peer: NodeId): void {
    const key = nodeIdToString(peer);
    this.#scores.set(key, Math.min(this.maxScore, (this.#scores.get(key) ?? 0) + 1));
  }

  /** Snapshot: node id text → score. */
  entries(): Map<string, number> {
    return new Map(this.#scores);
  }
}
