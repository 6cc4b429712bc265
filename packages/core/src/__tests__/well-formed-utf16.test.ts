import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ByteReader, ByteWriter, CORE_INVALID_ARGUMENT, isWellFormedUtf16, psycheErrorCodeOf, toWellFormedUtf16, utf8Decode, utf8Encode } from '../index.ts';

// Any UTF-16 code unit, lone surrogates included (fc.string's default units never give one).
const anyUtf16 = fc.string({ unit: fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c)), maxLength: 40 });

describe('well-formed UTF-16', () => {
  it('names the strings that survive a UTF-8 round trip; TextEncoder is the reference (fuzz)', () => {
    fc.assert(
      fc.property(anyUtf16, (text) => {
        const roundTrip = utf8Decode(utf8Encode(text), 0, true);
        expect(isWellFormedUtf16(text)).toBe(roundTrip === text);
        expect(toWellFormedUtf16(text)).toBe(roundTrip);
        expect(isWellFormedUtf16(toWellFormedUtf16(text))).toBe(true);
      }),
      { numRuns: Number(process.env.FUZZ_RUNS ?? 2000) },
    );
    expect(isWellFormedUtf16('a\uD83D\uDE00b')).toBe(true);
    for (const lone of ['\uD800', 'a\uDC00', '\uDBFFx', '\uDE00\uD83D']) expect(isWellFormedUtf16(lone)).toBe(false);
  });

  it('ByteWriter.shortString refuses a lone surrogate with CORE_INVALID_ARGUMENT, and every other string reads back as itself (fuzz)', () => {
    // Before, "\uD800" went out as U+FFFD and a reader got another string than the one written.
    expect(psycheErrorCodeOf(() => new ByteWriter().shortString('w\uD800'))).toBe(CORE_INVALID_ARGUMENT);
    fc.assert(
      fc.property(anyUtf16, (text) => {
        if (!isWellFormedUtf16(text)) return void expect(psycheErrorCodeOf(() => new ByteWriter().shortString(text))).toBe(CORE_INVALID_ARGUMENT);
        expect(new ByteReader(new ByteWriter().shortString(text).finish()).shortString()).toBe(text);
      }),
      { numRuns: Number(process.env.FUZZ_RUNS ?? 2000) },
    );
  });
});
