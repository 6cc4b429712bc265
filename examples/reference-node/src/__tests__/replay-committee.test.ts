import { NODE_INVALID_ARGUMENT, NODE_INVALID_CONFIG, psycheErrorCodeOf, sha256, utf8Encode } from '@psyche/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { committeeOutcome, committeeRejects, replayCommittee, type Verdict } from '../replay-committee.ts';

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

  it('members or replicas of the wrong type from a JS caller are coded errors, not the TypeError new Set() or a template literal threw', () => {
    for (const bad of [{ toString: null }, Symbol('s')] as unknown[]) {
      expect(psycheErrorCodeOf(() => replayCommittee(membersOf(3), seedOf(1), bad as number))).toBe(NODE_INVALID_CONFIG);
      expect(psycheErrorCodeOf(() => replayCommittee(bad as string[], seedOf(1), 1))).toBe(NODE_INVALID_ARGUMENT);
      expect(psycheErrorCodeOf(() => replayCommittee(['a', bad as string], seedOf(1), 1))).toBe(NODE_INVALID_ARGUMENT);
    }
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

  it('a witness counts a member only when the verdicts still awaited cannot make a rejecting majority; a lone withheld verdict ejects no one when k ≥ 2', () => {
    const members = membersOf(6);
    const target = members[0]!;
    const v = (entries: [string, Verdict][]) => new Map(entries);
    const one = replayCommittee(members, seedOf(1), 1);
    const only = one.verifiersOf.get(target)![0]!;
    // k = 1: the one verdict not in yet withholds the vote (the node before counted it as an acceptance).
    expect(committeeOutcome(one, target, undefined, () => true)).toBe('undecided');
    expect(committeeOutcome(one, target, undefined, () => false)).toBe('counted'); // a verifier that delivered nothing is not awaited
    expect(committeeOutcome(one, target, v([[only, 'accepted']]), () => true)).toBe('counted');
    expect(committeeOutcome(one, target, v([[only, 'abstained']]), () => true)).toBe('counted');
    expect(committeeOutcome(one, target, v([[only, 'rejected']]), () => true)).toBe('excluded');
    const three = replayCommittee(members, seedOf(1), 3);
    const [a, b] = three.verifiersOf.get(target)!;
    expect(committeeOutcome(three, target, undefined, (x) => x === a)).toBe('counted');
    expect(committeeOutcome(three, target, v([[a!, 'rejected']]), (x) => x === b)).toBe('undecided');
    expect(committeeOutcome(three, target, v([[a!, 'rejected'], [b!, 'rejected']]), () => true)).toBe('excluded');
    const two = replayCommittee(members, seedOf(1), 2);
    expect(committeeOutcome(two, target, undefined, (x) => x === two.verifiersOf.get(target)![0])).toBe('counted');
  });

  it('committeeOutcome: excluded exactly when committeeRejects; counted never turns into excluded whatever the awaited verdicts say; undecided can', () => {
    const verdictArb = fc.constantFrom<Verdict | 'missing'>('accepted', 'rejected', 'abstained', 'missing');
    fc.assert(
      fc.property(fc.integer({ min: 2, max: 12 }), fc.integer({ min: 1, max: 6 }), fc.nat(1000), fc.array(verdictArb, { minLength: 12, maxLength: 12 }), fc.array(fc.boolean(), { minLength: 12, maxLength: 12 }), (n, replicas, seed, said, awaitedFlags) => {
        const members = membersOf(n);
        const c = replayCommittee(members, seedOf(seed), replicas);
        const target = members[0]!;
        const assigned = c.verifiersOf.get(target)!;
        const verdicts = new Map<string, Verdict>();
        assigned.forEach((m, i) => said[i] !== 'missing' && verdicts.set(m, said[i] as Verdict));
        const awaited = (m: string) => awaitedFlags[assigned.indexOf(m)] === true;
        const outcome = committeeOutcome(c, target, verdicts, awaited);
        expect(outcome === 'excluded').toBe(committeeRejects(c, target, verdicts));
        // The worst case: every awaited verdict arrives as a rejection.
        const worst = new Map(verdicts);
        for (const m of assigned) if (!verdicts.has(m) && awaited(m)) worst.set(m, 'rejected');
        if (outcome === 'counted') expect(committeeRejects(c, target, worst)).toBe(false);
        if (outcome === 'undecided') expect(committeeRejects(c, target, worst)).toBe(true);
      }),
      { numRuns: 100 },
    );
  });

  it('a lone member has no ring; replicas below 1 is NODE_INVALID_CONFIG; a member listed twice is NODE_INVALID_ARGUMENT', () => {
    expect(replayCommittee(['solo'], seedOf(1), 2).targetsOf.get('solo')).toEqual([]);
    expect(() => replayCommittee(membersOf(3), seedOf(1), 0)).toThrow(expect.objectContaining({ code: NODE_INVALID_CONFIG }));
    expect(() => replayCommittee([...membersOf(3), membersOf(3)[0]!], seedOf(1), 1)).toThrow(expect.objectContaining({ code: NODE_INVALID_ARGUMENT }));
  });
});
