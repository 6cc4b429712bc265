import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DATA_HTTP_SHORT_READ, DATA_MANIFEST_MISMATCH, isPsycheError } from '@psyche/core';
import {
  MultipartByterangesParser,
  byterangesBoundary,
  byterangesClosing,
  byterangesParts,
  multiRangeHeader,
  parseRangesHeader,
  type ByteRangeTarget,
} from '../index.ts';

const file = Uint8Array.from({ length: 5000 }, (_, i) => (i * 31 + 7) & 0xff);
const boundary = 'test-boundary';

/** The body the static server sends for `ranges` of `file` (same helpers), as one byte string. */
function body(ranges: { start: number; end: number }[], size = file.length): Uint8Array {
  const pieces: Uint8Array[] = [];
  for (const part of byterangesParts(boundary, ranges, size)) pieces.push(Buffer.from(part.head, 'latin1'), file.subarray(part.start, part.end + 1));
  pieces.push(Buffer.from(byterangesClosing(boundary), 'latin1'));
  return Buffer.concat(pieces);
}

function targetsFor(ranges: { start: number; end: number }[]): ByteRangeTarget[] {
  return ranges.map(({ start, end }) => ({ start, target: new Uint8Array(end - start + 1) }));
}

/** Feeds `bytes` cut at `cuts`; returns the error code (undefined when the parse completed). */
function parse(bytes: Uint8Array, targets: ByteRangeTarget[], cuts: number[] = [], expectedTotal: number | undefined = file.length): number | undefined {
  const parser = new MultipartByterangesParser(boundary, targets, 'http://x/f', expectedTotal);
  const points = [...new Set(cuts.map((cut) => cut % (bytes.length + 1)))].sort((a, b) => a - b);
  try {
    let last = 0;
    for (const point of [...points, bytes.length]) {
      parser.push(bytes.subarray(last, point));
      last = point;
    }
    parser.finish();
  } catch (error) {
    if (!isPsycheError(error)) throw error;
    return error.code;
  }
  return undefined;
}

describe('multipart/byteranges', () => {
  it('parses the Content-Type boundary, quoted or not, and refuses other types', () => {
    expect(byterangesBoundary('multipart/byteranges; boundary=abc123')).toBe('abc123');
    expect(byterangesBoundary('Multipart/Byteranges; charset=x; boundary="a b"')).toBe('a b');
    expect(byterangesBoundary('multipart/mixed; boundary=abc')).toBeUndefined();
    expect(byterangesBoundary('application/octet-stream')).toBeUndefined();
    expect(byterangesBoundary(undefined)).toBeUndefined();
    expect(multiRangeHeader([{ start: 0, target: new Uint8Array(10) }, { start: 100, target: new Uint8Array(1) }])).toBe('bytes=0-9,100-100');
  });

  it('parseRangesHeader keeps request order and satisfiable parts, refuses malformed ones and too many', () => {
    expect(parseRangesHeader('bytes=0-9,20-29, 5-5', 100)).toEqual([{ start: 0, end: 9 }, { start: 20, end: 29 }, { start: 5, end: 5 }]);
    expect(parseRangesHeader('bytes=0-9,200-300', 100)).toEqual([{ start: 0, end: 9 }]);
    expect(parseRangesHeader('bytes=-5,90-', 100)).toEqual([{ start: 95, end: 99 }, { start: 90, end: 99 }]);
    for (const bad of ['bytes=200-300', 'bytes=0-9,x', 'items=0-1,2-3', 'bytes=0-1;2-3']) expect(parseRangesHeader(bad, 100)).toBeUndefined();
    expect(parseRangesHeader(`bytes=${Array.from({ length: 5 }, (_, i) => `${i}-${i}`).join(',')}`, 100, 4)).toBeUndefined();
  });

  it('fills every target from any cut of a well-formed body, parts in any order (fuzz)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat(4999), fc.integer({ min: 1, max: 700 })), { minLength: 1, maxLength: 12 }),
        fc.array(fc.nat(), { maxLength: 10 }),
        fc.boolean(),
        (spans, cuts, reversed) => {
          // Distinct starts (the parser matches parts by start); ends clipped to the file.
          const byStart = new Map(spans.map(([start, length]) => [start, { start, end: Math.min(file.length - 1, start + length - 1) }]));
          const ranges = [...byStart.values()];
          const targets = targetsFor(ranges);
          expect(parse(body(reversed ? [...ranges].reverse() : ranges), targets, cuts)).toBeUndefined();
          for (const { start, target } of targets) expect(target).toEqual(file.subarray(start, start + target.length));
        },
      ),
      { numRuns: 200 },
    );
  });

  it('refuses, with a coded error, every way a body can disagree with the request', () => {
    const ranges = [{ start: 10, end: 19 }, { start: 100, end: 149 }];
    const good = body(ranges);
    const text = (bytes: Uint8Array): string => Buffer.from(bytes).toString('latin1');
    const bytes = (value: string): Uint8Array => Buffer.from(value, 'latin1');
    const cases: [string, Uint8Array, number][] = [
      ['a part nobody asked for', body([{ start: 10, end: 19 }, { start: 101, end: 149 }]), DATA_HTTP_SHORT_READ],
      ['a part twice', body([{ start: 10, end: 19 }, { start: 10, end: 19 }]), DATA_HTTP_SHORT_READ],
      ['a missing part', body([{ start: 10, end: 19 }]), DATA_HTTP_SHORT_READ],
      ['no closing delimiter', good.subarray(0, good.length - byterangesClosing(boundary).length), DATA_HTTP_SHORT_READ],
      ['a truncated body', good.subarray(0, 80), DATA_HTTP_SHORT_READ],
      ['another file size', body(ranges, 4999), DATA_MANIFEST_MISMATCH],
      ['a wrong boundary', bytes(text(good).replaceAll(boundary, 'other')), DATA_HTTP_SHORT_READ],
      ['a part without Content-Range', bytes(text(good).replace(/Content-Range: [^\r]*/, 'X-Other: 1')), DATA_HTTP_SHORT_READ],
      ['a line of 2 KiB', bytes(`--${boundary}\r\nX: ${'a'.repeat(2048)}\r\n`), DATA_HTTP_SHORT_READ],
      ['5 KiB of part headers', bytes(`--${boundary}\r\n${'X: 1234567890\r\n'.repeat(400)}`), DATA_HTTP_SHORT_READ],
      ['a flood of blank lines', bytes('\r\n'.repeat(2000)), DATA_HTTP_SHORT_READ],
      ['a flood after the end', Buffer.concat([good, new Uint8Array(4096)]), DATA_HTTP_SHORT_READ],
    ];
    for (const [label, input, code] of cases) expect([label, parse(input, targetsFor(ranges))]).toEqual([label, code]);
    // A short epilogue and a preamble are allowed (RFC 2046).
    expect(parse(Buffer.concat([bytes('\r\n'), good, bytes('bye\r\n')]), targetsFor(ranges))).toBeUndefined();
  });

  it('arbitrary bytes never crash the parser: coded errors only (fuzz)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 3000 }), fc.array(fc.nat(), { maxLength: 6 }), (noise, cuts) => {
        const code = parse(Buffer.concat([Buffer.from(`--${boundary}\r\n`), noise]), targetsFor([{ start: 0, end: 9 }]), cuts);
        expect([DATA_HTTP_SHORT_READ, DATA_MANIFEST_MISMATCH]).toContain(code);
      }),
      { numRuns: 200 },
    );
  });
});
