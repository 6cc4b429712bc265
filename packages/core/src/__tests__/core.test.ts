import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  ByteReader,
  ByteWriter,
  CORE_ALLOCATION_LIMIT_EXCEEDED,
  CORE_BYTES_OUT_OF_RANGE,
  CORE_INTEGER_OUT_OF_RANGE,
  CORE_INVALID_ARGUMENT,
  CORE_MALFORMED_HEX,
  CORE_MALFORMED_UTF8,
  PsycheError,
  SWAP_OR_NOT_ROUNDS,
  Xoshiro128StarStar,
  bytesEqual,
  createRng,
  fisherYatesShuffle,
  fromHex,
  isPsycheError,
  sha256,
  swapOrNotIndex,
  swapOrNotShuffle,
  toHex,
  utf8Decode,
  utf8Encode, psycheErrorCodeOf } from '../index.ts';

const codeOf = psycheErrorCodeOf;

describe('PsycheError', () => {
  it('carries a stable code and typed context, matched by name', () => {
    const e = new PsycheError(CORE_BYTES_OUT_OF_RANGE, { offset: 3, needed: 4, available: 1 }, 'short');
    expect(e.message).toBe('[1000] short');
    expect(isPsycheError(e, CORE_BYTES_OUT_OF_RANGE)).toBe(true);
    expect(isPsycheError(e, CORE_INVALID_ARGUMENT)).toBe(false);
    expect(isPsycheError({ name: 'PsycheError', code: 1000 }, CORE_BYTES_OUT_OF_RANGE)).toBe(true);
    expect(isPsycheError(new Error('x'))).toBe(false);
    expect(isPsycheError(null)).toBe(false);
  });
});

describe('sha256 and bytes', () => {
  it('matches the FIPS 180-2 "abc" vector', () => {
    expect(toHex(sha256(utf8Encode('abc')))).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    expect(toHex(sha256(utf8Encode('a'), utf8Encode('bc')))).toBe(toHex(sha256(utf8Encode('abc'))));
  });
  it('hex round trip and malformed hex', () => {
    expect(toHex(fromHex('00ff10'))).toBe('00ff10');
    expect(codeOf(() => fromHex('abc'))).toBe(CORE_MALFORMED_HEX);
    expect(codeOf(() => fromHex('zz'))).toBe(CORE_MALFORMED_HEX);
  });
  it('strict utf8', () => {
    expect(utf8Decode(utf8Encode('héllo'))).toBe('héllo');
    expect(codeOf(() => utf8Decode(Uint8Array.of(0xff, 0xfe)))).toBe(CORE_MALFORMED_UTF8);
  });
  it('bytesEqual', () => {
    expect(bytesEqual(Uint8Array.of(1, 2), Uint8Array.of(1, 2))).toBe(true);
    expect(bytesEqual(Uint8Array.of(1, 2), Uint8Array.of(1, 3))).toBe(false);
    expect(bytesEqual(Uint8Array.of(1), Uint8Array.of(1, 3))).toBe(false);
  });
});

describe('xoshiro128**', () => {
  it('matches the reference C for state {1, 2, 3, 4}', () => {
    const state = new Uint8Array(16);
    const view = new DataView(state.buffer);
    [1, 2, 3, 4].forEach((v, i) => view.setUint32(4 * i, v, true));
    const rng = new Xoshiro128StarStar(state);
    expect([rng.nextU32(), rng.nextU32(), rng.nextU32()]).toEqual([11520, 0, 5927040]);
  });
  it('is deterministic per seed and differs across seeds', () => {
    const a = createRng(42);
    const b = createRng(42);
    const c = createRng(43);
    const xs = Array.from({ length: 8 }, () => a.nextU32());
    expect(Array.from({ length: 8 }, () => b.nextU32())).toEqual(xs);
    expect(Array.from({ length: 8 }, () => c.nextU32())).not.toEqual(xs);
    expect(createRng('run-1').nextU32()).toBe(createRng('run-1').nextU32());
    expect(createRng(42n).nextU32()).toBe(createRng(42).nextU32());
  });
  it('nextInt is unbiased and in range; nextFloat in [0, 1); gaussian moments', () => {
    const rng = createRng(7);
    const counts = new Array<number>(6).fill(0);
    const n = 60_000;
    for (let i = 0; i < n; i++) counts[rng.nextInt(6)]!++;
    const chi2 = counts.reduce((s, c) => s + (c - n / 6) ** 2 / (n / 6), 0);
    expect(chi2).toBeLessThan(20.5); // p ≈ 0.001 for 5 degrees of freedom
    let sum = 0;
    let sumSq = 0;
    for (let i = 0; i < n; i++) {
      const f = rng.nextFloat();
      expect(f >= 0 && f < 1).toBe(true);
      const g = rng.nextGaussian();
      sum += g;
      sumSq += g * g;
    }
    expect(Math.abs(sum / n)).toBeLessThan(0.02);
    expect(Math.abs(sumSq / n - 1)).toBeLessThan(0.03);
    expect(codeOf(() => rng.nextInt(0))).toBe(CORE_INVALID_ARGUMENT);
  });
  it('fork is deterministic and independent of later draws', () => {
    const a = createRng(1);
    const forkA = a.fork('x').nextU32();
    expect(createRng(1).fork('x').nextU32()).toBe(forkA);
    expect(createRng(1).fork('y').nextU32()).not.toBe(forkA);
  });
});

describe('shuffles', () => {
  it('Fisher–Yates gives all 6 permutations of 3 uniformly', () => {
    const rng = createRng('fy');
    const counts = new Map<string, number>();
    const n = 60_000;
    for (let i = 0; i < n; i++) {
      const key = fisherYatesShuffle([0, 1, 2], rng).join('');
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
    expect(counts.size).toBe(6);
    const chi2 = [...counts.values()].reduce((s, c) => s + (c - n / 6) ** 2 / (n / 6), 0);
    expect(chi2).toBeLessThan(20.5);
  });
  it('swap-or-not is a permutation, index-wise equal to the whole shuffle, seed dependent', () => {
    const seed = sha256(utf8Encode('seed'));
    for (const count of [1, 2, 3, 10, 256, 300]) {
      const perm = swapOrNotShuffle(count, seed);
      expect([...perm].sort((a, b) => a - b)).toEqual(Array.from({ length: count }, (_, i) => i));
      for (let i = 0; i < count; i += Math.max(1, Math.floor(count / 7))) expect(swapOrNotIndex(i, count, seed)).toBe(perm[i]);
    }
    expect(swapOrNotShuffle(50, seed)).not.toEqual(swapOrNotShuffle(50, sha256(utf8Encode('other'))));
    expect(codeOf(() => swapOrNotIndex(5, 5, seed))).toBe(CORE_INVALID_ARGUMENT);
    expect(codeOf(() => swapOrNotIndex(0, 5, new Uint8Array(31)))).toBe(CORE_INVALID_ARGUMENT);
  });
  it('swap-or-not equals a line-by-line transcription of the consensus spec (BigInt, node:crypto) for counts up to 2^32 − 1 (fuzz)', () => {
    const hash = (...parts: Uint8Array[]): Buffer => createHash('sha256').update(Buffer.concat(parts)).digest();
    // compute_shuffled_index from the Ethereum consensus specs (phase0 beacon chain), uint64 arithmetic in BigInt
    const specShuffledIndex = (index: bigint, indexCount: bigint, seed: Uint8Array, rounds: number): bigint => {
      for (let currentRound = 0; currentRound < rounds; currentRound++) {
        const roundByte = Uint8Array.of(currentRound);
        const pivot = hash(seed, roundByte).readBigUInt64LE(0) % indexCount;
        const flip = (pivot + indexCount - index) % indexCount;
        const position = index > flip ? index : flip;
        const positionBlock = Buffer.alloc(4);
        positionBlock.writeUInt32LE(Number(position / 256n));
        const source = hash(seed, roundByte, positionBlock);
        const byte = source[Number((position % 256n) / 8n)]!;
        const bit = (byte >> Number(position % 8n)) % 2;
        index = bit ? flip : index;
      }
      return index;
    };
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 2 ** 32 - 1 }).chain((count) => fc.tuple(fc.constant(count), fc.integer({ min: 0, max: count - 1 }))),
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        fc.integer({ min: 0, max: 12 }),
        ([count, index], seed, rounds) => {
          expect(swapOrNotIndex(index, count, seed, rounds)).toBe(Number(specShuffledIndex(BigInt(index), BigInt(count), seed, rounds)));
        },
      ),
      { numRuns: 300 },
    );
    const seed = sha256(utf8Encode('spec'));
    const whole = swapOrNotShuffle(100, seed);
    for (let i = 0; i < 100; i++) expect(whole[i]).toBe(Number(specShuffledIndex(BigInt(i), 100n, seed, SWAP_OR_NOT_ROUNDS)));
    for (const [index, count] of [[0, 2 ** 32 - 1], [2 ** 32 - 2, 2 ** 32 - 1], [123_456_789, 1_000_000_007]] as const) {
      expect(swapOrNotIndex(index, count, seed)).toBe(Number(specShuffledIndex(BigInt(index), BigInt(count), seed, SWAP_OR_NOT_ROUNDS)));
    }
  });
  it('swap-or-not with zero rounds is the identity', () => {
    expect(swapOrNotShuffle(9, new Uint8Array(32), 0)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8]);
  });
});

describe('byte codecs', () => {
  it('round trips every field type', () => {
    const w = new ByteWriter(1);
    w.u8(255).u16(65535).u32(0xdeadbeef).u64(2n ** 64n - 1n).f32(1.5).f64(Math.PI).shortString('ψ').lengthPrefixedBytes(Uint8Array.of(9, 8));
    const r = new ByteReader(w.finish());
    expect([r.u8(), r.u16(), r.u32(), r.u64(), r.f32(), r.f64(), r.shortString()]).toEqual([
      255, 65535, 0xdeadbeef, 2n ** 64n - 1n, 1.5, Math.PI, 'ψ',
    ]);
    expect([...r.lengthPrefixedBytes()]).toEqual([9, 8]);
    r.expectEnd();
  });
  it('a string starting with U+FEFF (a byte order mark) reads back with it, not as the string without it', () => {
    for (const text of ['\uFEFFw', '\uFEFF', '\uFEFF\uFEFFx', 'w']) {
      const r = new ByteReader(new ByteWriter().shortString(text).finish());
      expect(r.shortString()).toBe(text);
      r.expectEnd();
    }
    expect(utf8Decode(utf8Encode('\uFEFFtext'))).toBe('text'); // text files keep their BOM stripped
    expect(utf8Decode(utf8Encode('\uFEFFtext'), 0, true)).toBe('\uFEFFtext');
  });
  it('rejects out-of-range integers and over-limit growth', () => {
    expect(codeOf(() => new ByteWriter().u8(256))).toBe(CORE_INTEGER_OUT_OF_RANGE);
    expect(codeOf(() => new ByteWriter().u32(-1))).toBe(CORE_INTEGER_OUT_OF_RANGE);
    expect(codeOf(() => new ByteWriter(16, 20).bytes(new Uint8Array(21)))).toBe(CORE_ALLOCATION_LIMIT_EXCEEDED);
    // a limit that is not a non-negative integer (NaN compared false and switched the limit off)
    for (const [capacity, limit] of [[16, Number.NaN], [16, -1], [16, 1.5], [Number.NaN, 64], [-1, 64]]) {
      expect(codeOf(() => new ByteWriter(capacity, limit))).toBe(CORE_INVALID_ARGUMENT);
    }
    expect(new ByteWriter(0, 0).finish()).toHaveLength(0);
    expect(codeOf(() => new ByteWriter(0, 0).u8(1))).toBe(CORE_ALLOCATION_LIMIT_EXCEEDED);
  });
  it('truncated input and hostile length prefixes give coded errors', () => {
    expect(codeOf(() => new ByteReader(Uint8Array.of(1, 2, 3)).u32())).toBe(CORE_BYTES_OUT_OF_RANGE);
    expect(codeOf(() => new ByteReader(Uint8Array.of(255, 255, 255, 255)).lengthPrefixedBytes(10))).toBe(CORE_ALLOCATION_LIMIT_EXCEEDED);
    expect(codeOf(() => new ByteReader(Uint8Array.of(1)).expectEnd())).toBe(CORE_BYTES_OUT_OF_RANGE);
  });
  it('fuzz: any bytes and any read sequence give values or PsycheErrors, never other exceptions', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), fc.array(fc.integer({ min: 0, max: 8 }), { maxLength: 20 }), (bytes, ops) => {
        const r = new ByteReader(bytes);
        try {
          for (const op of ops) {
            [() => r.u8(), () => r.u16(), () => r.u32(), () => r.u64(), () => r.f32(), () => r.f64(), () => r.shortString(), () => r.lengthPrefixedBytes(32), () => r.bytes(3)][op]!();
          }
        } catch (e) {
          expect(isPsycheError(e)).toBe(true);
        }
      }),
      { numRuns: 2000 },
    );
  });
  it('fuzz: every read returns what node:buffer decodes at that offset, or the documented code exactly when the bytes run out', () => {
    type Op = { size: number; read: (r: ByteReader) => unknown; expected: (b: Buffer, at: number) => unknown };
    const fixed: Op[] = [
      { size: 1, read: (r) => r.u8(), expected: (b, at) => b.readUInt8(at) },
      { size: 2, read: (r) => r.u16(), expected: (b, at) => b.readUInt16LE(at) },
      { size: 4, read: (r) => r.u32(), expected: (b, at) => b.readUInt32LE(at) },
      { size: 8, read: (r) => r.u64(), expected: (b, at) => b.readBigUInt64LE(at) },
      { size: 4, read: (r) => r.f32(), expected: (b, at) => b.readFloatLE(at) },
      { size: 8, read: (r) => r.f64(), expected: (b, at) => b.readDoubleLE(at) },
      { size: 3, read: (r) => [...r.bytes(3)], expected: (b, at) => [...b.subarray(at, at + 3)] },
    ];
    const limit = 32;
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), fc.array(fc.integer({ min: 0, max: 8 }), { maxLength: 20 }), (bytes, ops) => {
        const buffer = Buffer.from(bytes);
        const r = new ByteReader(bytes);
        let at = 0;
        for (const op of ops) {
          const left = bytes.length - at;
          if (op < fixed.length) {
            const { size, read, expected } = fixed[op]!;
            if (size > left) {
              expect(codeOf(() => read(r))).toBe(CORE_BYTES_OUT_OF_RANGE);
              expect(r.offset).toBe(at); // a failed read consumes nothing
              return;
            }
            expect(read(r)).toEqual(expected(buffer, at));
            at += size;
          } else if (left < (op === 7 ? 2 : 4)) {
            expect(codeOf(() => (op === 7 ? r.shortString() : r.lengthPrefixedBytes(limit)))).toBe(CORE_BYTES_OUT_OF_RANGE);
            return;
          } else if (op === 7) {
            const length = buffer.readUInt16LE(at);
            if (length > left - 2) return void expect(codeOf(() => r.shortString())).toBe(CORE_BYTES_OUT_OF_RANGE);
            const body = buffer.subarray(at + 2, at + 2 + length);
            const valid = Buffer.from(body.toString('utf8'), 'utf8').equals(body); // node's decoder replaces bad sequences
            if (!valid) return void expect(codeOf(() => r.shortString())).toBe(CORE_MALFORMED_UTF8);
            expect(r.shortString()).toBe(body.toString('utf8'));
            at += 2 + length;
          } else {
            const length = buffer.readUInt32LE(at);
            if (length > limit) {
              expect(codeOf(() => r.lengthPrefixedBytes(limit))).toBe(CORE_ALLOCATION_LIMIT_EXCEEDED);
              expect(r.offset).toBe(at); // the prefix is not consumed either
              return;
            }
            if (length > left - 4) return void expect(codeOf(() => r.lengthPrefixedBytes(limit))).toBe(CORE_BYTES_OUT_OF_RANGE);
            expect([...r.lengthPrefixedBytes(limit)]).toEqual([...buffer.subarray(at + 4, at + 4 + length)]);
            at += 4 + length;
          }
          expect([r.offset, r.remaining]).toEqual([at, bytes.length - at]);
        }
        expect(codeOf(() => r.expectEnd())).toBe(at === bytes.length ? undefined : CORE_BYTES_OUT_OF_RANGE);
      }),
      { numRuns: 2000 },
    );
  });
});
