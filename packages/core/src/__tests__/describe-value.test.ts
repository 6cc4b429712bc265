import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MAX_DESCRIBED_VALUE_CHARS, assertFiniteNumber, assertInteger, describeShape, describeValue, psycheErrorCodeOf, CORE_INVALID_ARGUMENT } from '../index.ts';

describe('describeValue', () => {
  it('describes primitives the way a reader expects', () => {
    expect(describeValue(3)).toBe('3');
    expect(describeValue(Number.NaN)).toBe('NaN');
    expect(describeValue(-Infinity)).toBe('-Infinity');
    expect(describeValue('1e-6')).toBe('"1e-6"');
    expect(describeValue(true)).toBe('true');
    expect(describeValue(undefined)).toBe('undefined');
    expect(describeValue(null)).toBe('null');
    expect(describeValue(12n)).toBe('12n');
    expect(describeValue(Symbol('s'))).toBe('a symbol');
    expect(describeValue(() => 1)).toBe('a function');
    expect(describeValue([1e-6])).toBe('an array');
    expect(describeValue(new Uint8Array(2))).toBe('a typed array');
    expect(describeValue({ a: 1 })).toBe('an object');
  });

  it("never calls into the value: parsed {toString: null}, null-prototype objects, throwing and revoked proxies", () => {
    const hostile: unknown[] = [
      JSON.parse('{"toString": null}'),
      JSON.parse('[{"toString": null}]'),
      Object.create(null),
      { [Symbol.toPrimitive]: () => { throw new Error('called'); } },
      new Proxy({}, { get: () => { throw new Error('called'); }, getPrototypeOf: () => { throw new Error('called'); } }),
    ];
    const { proxy, revoke } = Proxy.revocable([], {});
    revoke();
    hostile.push(proxy);
    for (const value of hostile) expect(() => describeValue(value)).not.toThrow();
    // The bug this guards against: String() on the parsed value throws a TypeError, not a coded error.
    expect(() => String(JSON.parse('[{"toString": null}]'))).toThrow(TypeError);
    expect(psycheErrorCodeOf(() => assertInteger('n', JSON.parse('[{"toString": null}]')))).toBe(CORE_INVALID_ARGUMENT);
    expect(psycheErrorCodeOf(() => assertFiniteNumber('x', Object.create(null)))).toBe(CORE_INVALID_ARGUMENT);
  });

  it('is bounded: a long string or bigint gives at most MAX_DESCRIBED_VALUE_CHARS characters', () => {
    expect(describeValue('x'.repeat(1_000_000)).length).toBeLessThanOrEqual(MAX_DESCRIBED_VALUE_CHARS);
    expect(describeValue(10n ** 500n).length).toBe(MAX_DESCRIBED_VALUE_CHARS);
  });

  it('fuzz: any value, JSON-parsed or not, gives a short string and never throws', () => {
    fc.assert(
      fc.property(fc.oneof(fc.anything({ withBigInt: true, withNullPrototype: true, withTypedArray: true, withMap: true, withSet: true }), fc.json().map((t) => JSON.parse(t) as unknown)), (value) => {
        const text = describeValue(value);
        expect(typeof text).toBe('string');
        expect(text.length).toBeGreaterThan(0);
        expect(text.length).toBeLessThanOrEqual(MAX_DESCRIBED_VALUE_CHARS);
      }),
      { numRuns: Number(process.env.FUZZ_RUNS ?? 2000) },
    );
  });
});

describe('describeShape', () => {
  it('lists the dimensions of a shape and describes anything else like describeValue', () => {
    expect(describeShape([64, 128])).toBe('[64, 128]');
    expect(describeShape([])).toBe('[]');
    expect(describeShape([2, -1.5, '3', null])).toBe('[2, -1.5, "3", null]');
    expect(describeShape(Array.from({ length: 1000 }, (_, i) => i))).toBe('[0, 1, 2, 3, 4, 5, 6, 7, …]');
    expect(describeShape(Symbol('s'))).toBe('a symbol');
    expect(describeShape(JSON.parse('{"toString": null}'))).toBe('an object');
  });

  it('never throws where JSON.stringify or String did: deep nesting, bigints, {toString: null}, throwing proxies', () => {
    const deep = JSON.parse(`${'['.repeat(6000)}${']'.repeat(6000)}`) as unknown;
    expect(() => JSON.stringify(deep)).toThrow(RangeError);
    expect(describeShape(deep)).toBe('[an array]');
    expect(() => JSON.stringify([1n])).toThrow(TypeError);
    expect(describeShape([1n, 2])).toBe('[1n, 2]');
    expect(describeShape([JSON.parse('{"toString": null}')])).toBe('[an object]');
    const throwing = new Proxy([1, 2], { get: () => { throw new Error('called'); } });
    expect(describeShape(throwing)).toBe('an array');
    const { proxy, revoke } = Proxy.revocable([], {});
    revoke();
    expect(describeShape(proxy)).toBe('an object');
  });

  it('fuzz: any value gives a short string and never throws', () => {
    fc.assert(
      fc.property(fc.anything({ withBigInt: true, withNullPrototype: true, withTypedArray: true }), (value) => {
        const text = describeShape(value);
        expect(text.length).toBeGreaterThan(0);
        expect(text.length).toBeLessThanOrEqual(MAX_DESCRIBED_VALUE_CHARS);
      }),
      { numRuns: Number(process.env.FUZZ_RUNS ?? 500) },
    );
  });
});
