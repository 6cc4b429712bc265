import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { createRng, isPsycheError, VERIFY_BLOOM_PARAMETER_OUT_OF_RANGE, VERIFY_MALFORMED_BLOOM } from '@psyche/core';
import { describe, expect, it } from 'vitest';
import {
  bloomIndices,
  bloomIndicesReference,
  bloomParameters,
  createWitnessBloom,
  encodedBloomContains,
  WitnessBloom,
} from '../index.ts';
import { bloomTestVectors } from '../test-vectors-internal.ts';

function randomItems(label: string, count: number, length = 32): Uint8Array[] {
  const rng = createRng(label);
  return Array.from({ length: count }, () => Uint8Array.from({ length }, () => rng.nextU32() & 0xff));
}

function measuredFalsePositiveRate(filter: WitnessBloom, probes: readonly Uint8Array[]): number {
  return probes.filter((probe) => filter.has(probe)).length / probes.length;
}

describe('witness Bloom filters', () => {
  it('are sized from (n, p) by bloom-filters formulas: 256 members at 1% → 2,454 bits, 7 hashes', () => {
    expect(bloomParameters(256)).toEqual({ bitCount: 2454, hashCount: 7 });
    expect(bloomParameters(106, 0.01).bitCount).toBeLessThan(1024 + 100);
    expect(bloomParameters(1, 0.5)).toEqual({ bitCount: 8, hashCount: 2 });
    for (const [n, p] of [[0, 0.01], [2 ** 21, 0.01], [10, 0], [10, 0.6], [1.5, 0.01], [10, Number.NaN]] as const) {
      expect(() => bloomParameters(n, p)).toThrowError(expect.objectContaining({ code: VERIFY_BLOOM_PARAMETER_OUT_OF_RANGE }));
    }
  });

  it('measured false-positive rate at 256 members stays ≤ 1.5% (target 1%), with no false negatives', () => {
    const members = randomItems('members', 256);
    const probes = randomItems('probes', 50_000);
    const rates: number[] = [];
    for (const seed of [1n, 2n, 3n]) {
      const filter = createWitnessBloom({ expectedItems: 256, seed });
      for (const member of members) filter.add(member);
      for (const member of members) expect(filter.has(member)).toBe(true);
      rates.push(measuredFalsePositiveRate(filter, probes));
    }
    console.log(`false-positive rate at 256 members, 50,000 probes × 3 seeds: ${rates.map((r) => (100 * r).toFixed(3) + '%').join(', ')}`);
    for (const rate of rates) expect(rate).toBeLessThanOrEqual(0.015);
  });

  it("Psyche's fixed 1,024-bit Bloom<16,8> shape at 256 members is far worse (the gap this fixes)", () => {
    const filter = WitnessBloom.withParameters({ bitCount: 1024, hashCount: 8 }, 9n);
    for (const member of randomItems('members', 256)) filter.add(member);
    const rate = measuredFalsePositiveRate(filter, randomItems('probes', 20_000));
    expect(rate).toBeGreaterThan(0.2);
  });

  it('the fast index function equals the BigInt spec transcription (property)', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 64 }),
        fc.integer({ min: 8, max: 2 ** 24 }),
        fc.integer({ min: 1, max: 32 }),
        fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }),
        (item, bitCount, hashCount, seed) => {
          const fast = Array.from(bloomIndices(item, bitCount, hashCount, seed), BigInt);
          expect(fast).toEqual(bloomIndicesReference(item, bitCount, hashCount, seed));
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('encodes canonically and decodes to an equal filter; the byte-level check agrees with has()', () => {
    const filter = createWitnessBloom({ expectedItems: 40, falsePositiveRate: 0.05, seed: 77n });
    const members = randomItems('m', 40, 20);
    for (const member of members) filter.add(member);
    const encoded = filter.encode();
    expect(encoded).toHaveLength(14 + Math.ceil(filter.bitCount / 8));
    const decoded = WitnessBloom.decode(encoded);
    expect(decoded.encode()).toEqual(encoded);
    expect(decoded.setBits).toBe(filter.setBits);
    for (const probe of [...members, ...randomItems('p', 500, 20)]) {
      expect(decoded.has(probe)).toBe(filter.has(probe));
      expect(encodedBloomContains(encoded, probe)).toBe(filter.has(probe));
    }
  });

  it('test-vectors/bloom.json is what this code computes (the on-chain program reads the same file)', () => {
    const file = JSON.parse(readFileSync(new URL('../../test-vectors/bloom.json', import.meta.url), 'utf8'));
    expect(file).toEqual(JSON.parse(JSON.stringify(bloomTestVectors())));
    for (const vector of file.filters) {
      const encoded = Uint8Array.from(Buffer.from(vector.encoded, 'hex'));
      for (const member of vector.members) expect(encodedBloomContains(encoded, Buffer.from(member, 'hex'))).toBe(true);
    }
    for (const vector of file.malformed) {
      expect(() => WitnessBloom.decode(Uint8Array.from(Buffer.from(vector.encoded, 'hex')))).toThrowError(
        expect.objectContaining({ code: VERIFY_MALFORMED_BLOOM }),
      );
    }
    // At least one recorded probe is a false positive, so the C side checks that case too.
    const falsePositives = file.filters.flatMap((f: { members: string[]; probes: { item: string; contains: boolean }[] }) =>
      f.probes.filter((p) => p.contains && !f.members.includes(p.item)),
    );
    expect(falsePositives.length).toBeGreaterThan(0);
  });

  it('decoding hostile bytes gives VERIFY_MALFORMED_BLOOM or a valid filter, never a crash (fuzz)', () => {
    const valid = createWitnessBloom({ expectedItems: 4, seed: 1n }).add(Uint8Array.of(1)).encode();
    const mutated = fc.tuple(fc.integer({ min: 0, max: valid.length - 1 }), fc.integer({ min: 0, max: 255 })).map(([at, value]) => {
      const copy = Uint8Array.from(valid);
      copy[at] = value;
      return copy;
    });
    fc.assert(
      fc.property(fc.oneof(fc.uint8Array({ maxLength: 64 }), mutated, fc.integer({ min: 0, max: valid.length }).map((n) => valid.subarray(0, n))), (bytes) => {
        try {
          const filter = WitnessBloom.decode(bytes);
          expect(filter.encode()).toEqual(bytes);
          // the byte-level check (the on-chain program's steps) answers what the decoded filter answers
          for (const item of [Uint8Array.of(1), Uint8Array.of(2), new Uint8Array(32)]) expect(encodedBloomContains(bytes, item)).toBe(filter.has(item));
        } catch (e) {
          if (!isPsycheError(e, VERIFY_MALFORMED_BLOOM)) throw e;
        }
      }),
      { numRuns: 3000 },
    );
  });
});
