import { sha256, swapOrNotIndex, utf8Encode, VERIFY_INVALID_PARAMETER } from '@psyche/core';
import { describe, expect, it } from 'vitest';
import { isVerificationAssignment, selectVerifiers, verifierPosition, verifierSeed } from '../index.ts';

const roundSeed = (n: number) => sha256(Uint8Array.of(n));

describe('verifier committee', () => {
  it('positions come from swap-or-not seeded with sha256(roundSeed ‖ "verifier")', () => {
    const seed = roundSeed(1);
    expect(verifierSeed(seed)).toEqual(sha256(seed, utf8Encode('verifier')));
    expect(verifierPosition(3, 10, seed)).toBe(swapOrNotIndex(3, 10, sha256(seed, utf8Encode('verifier'))));
  });

  it('is deterministic, never self-assigns, checks each node at most once, and agrees with the two-call on-chain check', () => {
    for (const [nodeCount, verifierCount, targetsPerVerifier] of [[2, 1, 1], [10, 3, 2], [64, 8, 1], [33, 5, 10]] as const) {
      const options = { roundSeed: roundSeed(nodeCount), nodeCount, verifierCount, targetsPerVerifier };
      const assignments = selectVerifiers(options);
      expect(selectVerifiers(options)).toEqual(assignments);
      expect(assignments).toHaveLength(verifierCount);
      const verifiers = new Set(assignments.map((a) => a.verifier));
      expect(verifiers.size).toBe(verifierCount);
      const targets = assignments.flatMap((a) => a.targets);
      expect(new Set(targets).size).toBe(targets.length);
      for (const target of targets) expect(verifiers.has(target)).toBe(false);
      expect(targets.length).toBe(Math.min(nodeCount - verifierCount, verifierCount * targetsPerVerifier));
      const pairs = new Set(assignments.flatMap((a) => a.targets.map((t) => `${a.verifier}>${t}`)));
      // All pairs for small committees (each check costs two 90-round shuffles); assigned pairs always.
      const candidates = nodeCount <= 33 ? Array.from({ length: nodeCount }, (_, i) => i) : [...verifiers, ...targets.slice(0, 4)];
      for (const v of candidates) {
        for (const t of candidates) expect(isVerificationAssignment(v, t, options)).toBe(pairs.has(`${v}>${t}`));
      }
      for (const a of assignments) for (const t of a.targets) expect(isVerificationAssignment(a.verifier, t, options)).toBe(true);
    }
  });

  it('spreads the verifier role evenly over rounds', () => {
    const counts = new Array<number>(8).fill(0);
    for (let round = 0; round < 200; round++) {
      for (const a of selectVerifiers({ roundSeed: roundSeed(round), nodeCount: 8, verifierCount: 2, targetsPerVerifier: 1 })) counts[a.verifier]!++;
    }
    for (const count of counts) expect(count).toBeGreaterThan(25); // expected 50 each
  });

  it('rejects impossible committees', () => {
    const base = { roundSeed: roundSeed(0), nodeCount: 4, verifierCount: 1, targetsPerVerifier: 1 };
    for (const bad of [{ nodeCount: 1 }, { verifierCount: 4 }, { verifierCount: 0 }, { targetsPerVerifier: 0 }, { roundSeed: new Uint8Array(31) }]) {
      expect(() => selectVerifiers({ ...base, ...bad })).toThrowError(expect.objectContaining({ code: bad.roundSeed ? 1001 : VERIFY_INVALID_PARAMETER }));
    }
    expect(isVerificationAssignment(-1, 2, base)).toBe(false);
    expect(isVerificationAssignment(0, 2 ** 40, base)).toBe(false);
  });
});
