import {
  assertBytes,
  PsycheError,
  sha256,
  VERIFY_INVALID_PARAMETER,
  VERIFY_WITNESS_INDEX_OUT_OF_RANGE,
  describeValue,
} from '@psyche/core';
import type { WitnessBloom } from './bloom-filter.ts';

/** Psyche's witness quorum: n=1→1, 2→2, 3→2, otherwise ⌊2n/3⌋. */
export function witnessQuorum(witnessCount: number): number {
  if (!Number.isInteger(witnessCount) || witnessCount < 1 || witnessCount > 2 ** 16) {
    throw new PsycheError(
      VERIFY_INVALID_PARAMETER,
      { field: 'witnessCount', value: describeValue(witnessCount), expected: 'integer in [1, 65536]' },
      `witnessCount must be an integer in [1, 65536], got ${describeValue(witnessCount)}`,
    );
  }
  if (witnessCount === 1) return 1;
  if (witnessCount === 2) return 2;
  if (witnessCount === 3) return 2;
  return Math.floor((2 * witnessCount) / 3);
}

/** One witness's vote for one commitment (by its 32-byte data hash) of a batch. */
export interface WitnessVote {
  readonly witnessIndex: number;
  readonly commitmentHash: Uint8Array;
}

export interface CommitmentTally {
  readonly commitmentHash: Uint8Array;
  readonly votes: number;
}

export interface BatchConsensus {
  /** The accepted commitment, or undefined when none reached quorum. */
  readonly winner: Uint8Array | undefined;
  readonly quorum: number;
  /** Every candidate with its votes, in ranking order (most votes first, then the tie rule). */
  readonly tally: readonly CommitmentTally[];
  /** Witnesses that voted for two different commitments of the batch: all their votes are discarded. */
  readonly equivocators: readonly number[];
}

function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}

export function assertWitnessIndex(witnessIndex: unknown, witnessCount: number): number {
  // Checked first: every `index >= NaN` is false, so a NaN or missing count would let any index through.
  witnessQuorum(witnessCount);
  if (typeof witnessIndex !== 'number' || !Number.isInteger(witnessIndex) || witnessIndex < 0 || witnessIndex >= witnessCount) {
    throw new PsycheError(
      VERIFY_WITNESS_INDEX_OUT_OF_RANGE,
      { index: describeValue(witnessIndex), witnessCount },
      `witness index ${describeValue(witnessIndex)} outside [0, ${witnessCount})`,
    );
  }
  return witnessIndex;
}

/**
 * Consensus for one batch: the commitment with the most votes wins if it has at least the quorum.
 * Each witness counts once: repeated identical votes are one vote; a witness voting for two
 * different commitments is an equivocator and none of its votes count. Tie rule: among
 * commitments with equal votes the one with the smallest SHA-256(tieBreakSeed ‖ commitmentHash)
 * (bytewise) ranks first, so a trainer cannot grind its payload toward winning ties without knowing
 * the seed; pass the next round's seed. Without a seed, the smallest commitment hash.
 * Every index is checked against `witnessCount` first (Psyche accepted any, then panicked).
 */
export function batchConsensus(
  votes: readonly WitnessVote[],
  witnessCount: number,
  tieBreakSeed?: Uint8Array,
): BatchConsensus {
  const quorum = witnessQuorum(witnessCount);
  if (tieBreakSeed !== undefined) assertBytes('tieBreakSeed', tieBreakSeed);
  const choice = new Map<number, string>();
  const equivocators = new Set<number>();
  const hashes = new Map<string, Uint8Array>();
  for (const vote of votes) {
    const witness = assertWitnessIndex(vote.witnessIndex, witnessCount);
    assertBytes('commitmentHash', vote.commitmentHash, 32);
    const key = hex(vote.commitmentHash);
    hashes.set(key, vote.commitmentHash);
    const previous = choice.get(witness);
    if (previous === undefined) choice.set(witness, key);
    else if (previous !== key) equivocators.add(witness);
  }
  const counts = new Map<string, number>([...hashes.keys()].map((key) => [key, 0]));
  for (const [witness, key] of choice) if (!equivocators.has(witness)) counts.set(key, counts.get(key)! + 1);
  const rankKey = (hash: Uint8Array): Uint8Array => (tieBreakSeed === undefined ? hash : sha256(tieBreakSeed, hash));
  const tally = [...counts].map(([key, count]) => ({ commitmentHash: hashes.get(key)!, votes: count, rank: rankKey(hashes.get(key)!) }));
  tally.sort((a, b) => b.votes - a.votes || compareBytes(a.rank, b.rank));
  const best = tally[0];
  return {
    winner: best !== undefined && best.votes >= quorum ? best.commitmentHash : undefined,
    quorum,
    tally: tally.map(({ commitmentHash, votes: count }) => ({ commitmentHash, votes: count })),
    equivocators: [...equivocators].sort((a, b) => a - b),
  };
}

/**
 * Votes read from witnesses' broadcast Bloom filters (Psyche's rule): witness w votes for the first
 * candidate, in bytewise order of data hash, that its filter contains. `blooms[w]` is witness w's
 * filter; undefined for a witness that sent none.
 */
export function votesFromBlooms(candidates: readonly Uint8Array[], blooms: readonly (WitnessBloom | undefined)[]): WitnessVote[] {
  const ordered = [...candidates].sort(compareBytes);
  const votes: WitnessVote[] = [];
  blooms.forEach((bloom, witnessIndex) => {
    if (bloom === undefined) return;
    const chosen = ordered.find((candidate) => bloom.has(candidate));
    if (chosen !== undefined) votes.push({ witnessIndex, commitmentHash: chosen });
  });
  return votes;
}
