import { NODE_INVALID_ARGUMENT, NODE_INVALID_CONFIG, sha256, utf8Encode } from '@psyche/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { committeeRejects, replayCommittee, type Verdict } from '../replay-committee.ts';

const seedOf = (n: number) => sha256(utf8Encode(`round ${n}`));
const membersOf = (n: number) => Array.from({ length: n }, (_, i) => `member-${i}`);

describe('replay committee (the seeded ring)', () => {
  it('every member replays exactly k others and is replayed by exactly k others, never itself; all nodes compute the same ring', () => {
    fc.assert(
      fc.property(fc.integer({ min: 2, max: 40 }), fc.integer({ min: 1, max: 50 }), fc.nat(1000), (n, replicas, seed) => {
        const members = membersOf(n);
        const c = replayCommittee(members, seedOf(seed), replicas);
        const k = Math.min(replicas, n - 1);
        expect(c.replicas).toBe(k);
        for (const m of members) {
          const targets = c.targetsOf.get(m)!;
          expect(targets.length).toBe(k);
          expect(new Set(targets).size).toBe(k);
          expect(targets).not.toContain(m);
          expect(c.verifiersOf.get(m)!.length).toBe(k);
          for (const t of targets) expect(c.verifiersOf.get(t)).toContain(m);
        }
        expect(replayCommittee([...members], seedOf(seed), replicas)).toEqual(c);
      }),
      { numRuns: 200 },
    );
  });

  it('the ring depends on the seed (different rounds give different pairings)', () => {
    const members = membersOf(8);
    const rings = new Set([1, 2, 3, 4, 5, 6].map((s) => JSON.stringify([...replayCommittee(members, seedOf(s), 1).targetsOf])));
    expect(rings.size).toBeGreaterThan(1);
  });

  it('a strict majority of the assigned verifiers must reject; verdicts from anyone else are ignored; abstentions do not reject', () => {
    const members = membersOf(6);
    const c = replayCommittee(members, seedOf(1), 3);
    const target = members[0]!;
    const [a, b, third] = c.verifiersOf.get(target)!;
    const outsider = members.find((m) => m !== target && !c.verifiersOf.get(target)!.includes(m))!;
    const v = (entries: [string, Verdict][]) => new Map(entries);
    expect(committeeRejects(c, target, undefined)).toBe(false);
    expect(committeeRejects(c, target, v([[a!, 'rejected']]))).toBe(false);
    expect(committeeRejects(c, target, v([[a!, 'rejected'], [b!, 'abstained'], [third!, 'accepted']]))).toBe(false);
    expect(committeeRejects(c, target, v([[a!, 'rejected'], [b!, 'rejected']]))).toBe(true);
    expect(committeeRejects(c, target, v([[a!, 'rejected'], [outsider, 'rejected'], [target, 'rejected']]))).toBe(false);
    const one = replayCommittee(members, seedOf(1), 1);
    const only = one.verifiersOf.get(target)![0]!;
    expect(committeeRejects(one, target, v([[only, 'rejected']]))).toBe(true);
    expect(committeeRejects(one, target, v([[only, 'abstained']]))).toBe(false);
  });

  it('a lone member has no ring; replicas below 1 is NODE_INVALID_CONFIG; a member listed twice is NODE_INVALID_ARGUMENT', () => {
    expect(replayCommittee(['solo'], seedOf(1), 2).targetsOf.get('solo')).toEqual([]);
    expect(() => replayCommittee(membersOf(3), seedOf(1), 0)).toThrow(expect.objectContaining({ code: NODE_INVALID_CONFIG }));
    expect(() => replayCommittee([...membersOf(3), membersOf(3)[0]!], seedOf(1), 1)).toThrow(expect.objectContaining({ code: NODE_INVALID_ARGUMENT }));
  });
});
