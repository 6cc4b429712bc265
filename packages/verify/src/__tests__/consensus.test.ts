import { sha256, VERIFY_INVALID_PARAMETER, VERIFY_WITNESS_INDEX_OUT_OF_RANGE } from '@psyche/core';
import { describe, expect, it } from 'vitest';
import { batchConsensus, createWitnessBloom, votesFromBlooms, witnessQuorum, type WitnessVote } from '../index.ts';

const hash = (label: number) => sha256(Uint8Array.of(label));
const votes = (entries: [number, number][]): WitnessVote[] => entries.map(([witnessIndex, h]) => ({ witnessIndex, commitmentHash: hash(h) }));

describe('witness consensus', () => {
  it("uses Psyche's quorum: 1→1, 2→2, 3→2, else ⌊2n/3⌋", () => {
    expect([1, 2, 3, 4, 5, 6, 9, 32].map(witnessQuorum)).toEqual([1, 2, 2, 2, 3, 4, 6, 21]);
    for (const bad of [0, -1, 1.5, Number.NaN]) {
      expect(() => witnessQuorum(bad)).toThrowError(expect.objectContaining({ code: VERIFY_INVALID_PARAMETER }));
    }
  });

  it('picks the commitment with most votes at or above quorum, none below', () => {
    const result = batchConsensus(votes([[0, 1], [1, 1], [2, 1], [3, 2], [4, 1], [5, 3]]), 6);
    expect(result.quorum).toBe(4);
    expect(result.winner).toEqual(hash(1));
    expect(result.tally.map((t) => t.votes)).toEqual([4, 1, 1]);
    expect(batchConsensus(votes([[0, 1], [1, 1], [2, 1], [3, 2]]), 6).winner).toBeUndefined();
    expect(batchConsensus([], 3).winner).toBeUndefined();
  });

  it('breaks ties deterministically: smallest SHA-256(seed ‖ hash), or smallest hash without a seed', () => {
    const tied = votes([[0, 1], [1, 1], [2, 2], [3, 2]]);
    const [h1, h2] = [hash(1), hash(2)];
    const bySeed = (seed: Uint8Array) =>
      Buffer.compare(Buffer.from(sha256(seed, h1)), Buffer.from(sha256(seed, h2))) < 0 ? h1 : h2;
    const seedA = Uint8Array.of(1);
    expect(batchConsensus(tied, 4, seedA).winner).toEqual(bySeed(seedA));
    expect(batchConsensus([...tied].reverse(), 4, seedA).winner).toEqual(bySeed(seedA));
    expect(batchConsensus(tied, 4).winner).toEqual(Buffer.compare(Buffer.from(h1), Buffer.from(h2)) < 0 ? h1 : h2);
    const winners = new Set(Array.from({ length: 16 }, (_, s) => Buffer.from(batchConsensus(tied, 4, Uint8Array.of(s)).winner!).toString('hex')));
    expect(winners.size).toBe(2); // the seed, not the hash, decides who wins a tie
  });

  it('counts a repeated vote once and discards an equivocating witness entirely', () => {
    const result = batchConsensus(votes([[0, 1], [0, 1], [0, 1], [1, 2], [1, 1], [2, 1]]), 3);
    expect(result.equivocators).toEqual([1]);
    expect(result.tally[0]).toEqual({ commitmentHash: hash(1), votes: 2 });
    expect(result.winner).toEqual(hash(1));
  });

  it('rejects out-of-range witness indices (Psyche accepted u64::MAX and panicked later)', () => {
    for (const index of [3, -1, 2 ** 64, Number.MAX_SAFE_INTEGER, 0.5, Number.NaN]) {
      expect(() => batchConsensus([{ witnessIndex: index, commitmentHash: hash(1) }], 3)).toThrowError(
        expect.objectContaining({ code: VERIFY_WITNESS_INDEX_OUT_OF_RANGE }),
      );
    }
  });

  it('reads votes from broadcast Bloom filters: first candidate (bytewise) each filter contains', () => {
    const candidates = [hash(1), hash(2)];
    const blooms = [0, 1, 2, 3].map((w) => createWitnessBloom({ expectedItems: 8, seed: BigInt(w) }));
    blooms[0]!.add(candidates[0]!);
    blooms[1]!.add(candidates[0]!);
    blooms[2]!.add(candidates[1]!);
    const result = batchConsensus(votesFromBlooms(candidates, [...blooms, undefined]), 5);
    expect(result.tally.find((t) => Buffer.from(t.commitmentHash).equals(Buffer.from(candidates[0]!)))!.votes).toBe(2);
    expect(result.winner).toBeUndefined(); // quorum of 5 is 3
  });
});
