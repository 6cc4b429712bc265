import {
  assertBytes,
  PsycheError,
  sha256,
  swapOrNotIndex,
  swapOrNotShuffle,
  utf8Encode,
  VERIFY_INVALID_PARAMETER,
  describeValue,
} from '@psyche/core';

const VERIFIER_LABEL = utf8Encode('verifier');

/** Options of the per-round verifier draw; every node computes the same thing from the round seed. */
export interface VerifierCommitteeOptions {
  /** The round's 32-byte seed. */
  readonly roundSeed: Uint8Array;
  /** Nodes training this round, identified by their index 0..nodeCount−1 in the coordinator's client list. */
  readonly nodeCount: number;
  /** How many nodes recompute someone else's work this round. */
  readonly verifierCount: number;
  /** How many other nodes' batches each verifier recomputes (≥ 1). */
  readonly targetsPerVerifier: number;
}

/** One verifier and the nodes (hence batches: each node trains one batch interval per step) it recomputes. */
export interface VerificationAssignment {
  readonly verifier: number;
  readonly targets: readonly number[];
}

function invalid(field: string, value: unknown, expected: string): PsycheError {
  return new PsycheError(VERIFY_INVALID_PARAMETER, { field, value: describeValue(value), expected }, `${field}: expected ${expected}, got ${describeValue(value)}`);
}

function assertOptions(options: VerifierCommitteeOptions): void {
  assertBytes('roundSeed', options.roundSeed, 32);
  const { nodeCount, verifierCount, targetsPerVerifier } = options;
  if (!Number.isInteger(nodeCount) || nodeCount < 2 || nodeCount > 2 ** 16) throw invalid('nodeCount', nodeCount, 'integer in [2, 65536]');
  if (!Number.isInteger(verifierCount) || verifierCount < 1 || verifierCount >= nodeCount) {
    throw invalid('verifierCount', verifierCount, `integer in [1, ${nodeCount - 1}]`);
  }
  if (!Number.isInteger(targetsPerVerifier) || targetsPerVerifier < 1 || targetsPerVerifier > nodeCount) {
    throw invalid('targetsPerVerifier', targetsPerVerifier, `integer in [1, ${nodeCount}]`);
  }
}

/** sha256(roundSeed ‖ "verifier"): a seed of its own so the verifier draw is independent of the witness draw. */
export function verifierSeed(roundSeed: Uint8Array): Uint8Array {
  assertBytes('roundSeed', roundSeed, 32);
  return sha256(roundSeed, VERIFIER_LABEL);
}

/** A node's position in this round's verifier permutation: swapOrNotIndex(node, nodeCount, verifierSeed). */
export function verifierPosition(node: number, nodeCount: number, roundSeed: Uint8Array): number {
  return swapOrNotIndex(node, nodeCount, verifierSeed(roundSeed));
}

/**
 * The check a coordinator program can make with two swap-or-not evaluations and no list (the SDK's
 * program does not make it; the reference node replays with its own ring): is `target` one of
 * `verifier`'s assignments? Positions p = position(verifier), q = position(target):
 * p < V, q ≥ V, (q − V) mod V = p and (q − V − p)/V < targetsPerVerifier.
 */
export function isVerificationAssignment(verifier: number, target: number, options: VerifierCommitteeOptions): boolean {
  assertOptions(options);
  const { nodeCount, verifierCount: v, targetsPerVerifier, roundSeed } = options;
  if (!Number.isInteger(verifier) || !Number.isInteger(target) || verifier < 0 || target < 0 || verifier >= nodeCount || target >= nodeCount) {
    return false;
  }
  const p = verifierPosition(verifier, nodeCount, roundSeed);
  const q = verifierPosition(target, nodeCount, roundSeed);
  return p < v && q >= v && (q - v) % v === p && (q - v - p) / v < targetsPerVerifier;
}

/**
 * This round's verifiers and their targets. Positions come from the swap-or-not permutation seeded
 * by {@link verifierSeed}; nodes at positions 0..V−1 verify; the verifier at position p recomputes
 * the nodes at positions V + p, 2V + p, … (at most targetsPerVerifier of them, all < nodeCount).
 * Verifiers are never their own targets, and no node is checked twice in a round.
 */
export function selectVerifiers(options: VerifierCommitteeOptions): VerificationAssignment[] {
  assertOptions(options);
  const { nodeCount, verifierCount: v, targetsPerVerifier } = options;
  const positions = swapOrNotShuffle(nodeCount, verifierSeed(options.roundSeed)); // positions[node]
  const nodeAt = new Array<number>(nodeCount);
  positions.forEach((position, node) => (nodeAt[position] = node));
  const assignments: VerificationAssignment[] = [];
  for (let p = 0; p < v; p++) {
    const targets: number[] = [];
    for (let j = 0; j < targetsPerVerifier && v + p + j * v < nodeCount; j++) targets.push(nodeAt[v + p + j * v]!);
    assignments.push({ verifier: nodeAt[p]!, targets });
  }
  return assignments;
}
