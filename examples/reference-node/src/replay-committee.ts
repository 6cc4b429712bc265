import { NODE_INVALID_ARGUMENT, NODE_INVALID_CONFIG, PsycheError, describeValue, sha256, swapOrNotShuffle, utf8Encode } from '@psyche/core';

const COMMITTEE_LABEL = utf8Encode('psyche replay committee');

/** A verifier's judgement of one member's result, as gossiped (announcement kind 'verdict'). */
export type Verdict = 'accepted' | 'rejected' | 'abstained';

/**
 * Who replays whom for one epoch when not every member replays every other (`[verify] replicas = k`).
 * The epoch's members sit in a ring ordered by a swap-or-not shuffle seeded by the epoch's first
 * round seed; each member replays the k members after it. So every member is checked by exactly k
 * others and checks exactly k, and every node computes the same ring from chain state alone.
 * A ring rather than @psyche/verify's selectVerifiers: there, verifiers are never targets, so in a
 * small run the verifiers of an epoch would go unchecked for the whole epoch (a replay cannot
 * change hands mid-epoch: it needs the member's momentum from the epoch's first step).
 */
export interface ReplayCommittee {
  readonly replicas: number;
  /** member → the members it replays. */
  readonly targetsOf: ReadonlyMap<string, readonly string[]>;
  /** member → the members that replay it. */
  readonly verifiersOf: ReadonlyMap<string, readonly string[]>;
}

/** The ring for `members` (the epoch's first round's client list) and that round's 32-byte seed; replicas is clamped to [1, n−1]. */
export function replayCommittee(members: readonly string[], roundSeed: Uint8Array, replicas: number): ReplayCommittee {
  // Types first: new Set() of a non-iterable, or a template literal on a symbol replicas, threw a TypeError.
  if (!Array.isArray(members) || !members.every((m) => typeof m === 'string')) {
    throw new PsycheError(NODE_INVALID_ARGUMENT, { what: 'replay committee members', reason: `expected an array of strings, got ${describeValue(members)}` }, 'replay committee: members must be an array of strings');
  }
  const n = members.length;
  if (new Set(members).size !== n) throw new PsycheError(NODE_INVALID_ARGUMENT, { what: 'replay committee members', reason: 'listed twice' }, 'replay committee: members must be distinct');
  if (!Number.isInteger(replicas) || replicas < 1) {
    throw new PsycheError(NODE_INVALID_CONFIG, { path: '[verify]', field: 'replicas', reason: `must be an integer ≥ 1, got ${describeValue(replicas)}` }, `[verify] replicas must be an integer ≥ 1, got ${describeValue(replicas)}`);
  }
  const k = Math.min(replicas, Math.max(0, n - 1));
  const targetsOf = new Map<string, string[]>(members.map((m) => [m, []]));
  const verifiersOf = new Map<string, string[]>(members.map((m) => [m, []]));
  if (n >= 2) {
    const positions = swapOrNotShuffle(n, sha256(roundSeed, COMMITTEE_LABEL)); // positions[member index]
    const ring = new Array<string>(n);
    positions.forEach((position, i) => (ring[position] = members[i]!));
    for (let p = 0; p < n; p++) {
      for (let j = 1; j <= k; j++) {
        const target = ring[(p + j) % n]!;
        targetsOf.get(ring[p]!)!.push(target);
        verifiersOf.get(target)!.push(ring[p]!);
      }
    }
  }
  return { replicas: k, targetsOf, verifiersOf };
}

/**
 * Whether a member's result is left out of a witness vote: a strict majority of its k assigned
 * verifiers rejected it. Verdicts from anyone not assigned to the member are ignored, so a node can
 * only speak for the members the ring gave it; abstentions (a verifier without an exact replay)
 * count as not rejecting. With k = 1 the one verifier decides; with k ≥ 2 no lone verifier can
 * eject a member.
 */
export function committeeRejects(committee: ReplayCommittee, target: string, verdicts: ReadonlyMap<string, Verdict> | undefined): boolean {
  return committeeOutcome(committee, target, verdicts, () => false) === 'excluded';
}

/**
 * What a witness may do with `target`'s result now: 'excluded' when a strict majority of its
 * verifiers rejected it, 'undecided' when the verdicts still awaited (`awaited(verifier)`: assigned,
 * no verdict heard, and still expected) could make such a majority, else 'counted'. A witness votes
 * only for 'counted': a verdict that has not arrived yet must not count as an acceptance, or a
 * cheater's result is attested whenever the round moves on before its verifier's rejection is in.
 * Counting a missing verdict as a possible rejection only when it could tip the majority keeps the
 * k ≥ 2 guarantee: a lone verifier that withholds its verdict cannot eject anyone.
 */
export function committeeOutcome(committee: ReplayCommittee, target: string, verdicts: ReadonlyMap<string, Verdict> | undefined, awaited: (verifier: string) => boolean): 'excluded' | 'undecided' | 'counted' {
  const assigned = committee.verifiersOf.get(target) ?? [];
  const rejections = assigned.filter((v) => verdicts?.get(v) === 'rejected').length;
  if (2 * rejections > committee.replicas) return 'excluded';
  const missing = assigned.filter((v) => !verdicts?.has(v) && awaited(v)).length;
  return 2 * (rejections + missing) > committee.replicas ? 'undecided' : 'counted';
}
