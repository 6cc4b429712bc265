import { isPsycheError, psycheErrorCodeOf, DISTRO_INVALID_CONFIG, DISTRO_WIRE_LIMIT_EXCEEDED, DISTRO_WIRE_MALFORMED, DISTRO_WIRE_TRUNCATED, DISTRO_WIRE_UNSUPPORTED_VERSION } from '@psyche/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  computeChunkLayout,
  decodeDistroResult,
  encodeDistroResult,
  encodedResultSize,
  fromBf16Bits,
  packBits,
  packSigns,
  toBf16Bits,
  unpackBits,
  unpackSigns,
  type DistroResult,
} from '../index.ts';
import { sampleResult, selectionOf } from './wire-fixtures.ts';

const FUZZ_RUNS = Number(process.env.FUZZ_RUNS ?? 10_000);


const sample = sampleResult;

describe('bit packing', () => {
  it('round trips any width from 0 to 32 bits, LSB first', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 32 }), fc.array(fc.nat(), { maxLength: 50 }), (bits, raw) => {
        const values = Uint32Array.from(raw, (v) => (bits === 0 ? 0 : v % 2 ** bits));
        const packed = packBits(values, bits);
        expect(packed.length).toBe(Math.ceil((values.length * bits) / 8));
        expect([...unpackBits(packed, bits, values.length)]).toEqual([...values]);
      }),
    );
    expect([...packBits(Uint32Array.of(0xabc, 0x123), 12)]).toEqual([0xbc, 0x3a, 0x12]);
  });
  it('packs signs as bits set for negatives; zero reads back as +1', () => {
    const packed = packSigns(Float32Array.of(1, -2, 0, -0.5, 3, -1, 1, 1, -7));
    expect([...packed]).toEqual([0b00101010, 0b1]);
    expect([...unpackSigns(packed, 9)]).toEqual([1, -1, 1, -1, 1, -1, 1, 1, -1]);
  });
  it('bf16 rounds to nearest even', () => {
    expect(fromBf16Bits(toBf16Bits(1))).toBe(1);
    expect(fromBf16Bits(toBf16Bits(1 + 2 ** -8))).toBe(1); // tie → even
    expect(fromBf16Bits(toBf16Bits(1 + 3 * 2 ** -8))).toBe(1 + 2 ** -6);
    expect(Number.isNaN(fromBf16Bits(toBf16Bits(Number.NaN)))).toBe(true);
    expect(fromBf16Bits(toBf16Bits(-Infinity))).toBe(-Infinity);
  });
});

describe('wire format v1', () => {
  it('round trips f32 exactly, bf16 to bf16 precision, sign to ±1', () => {
    for (const encoding of ['f32', 'bf16', 'sign'] as const) {
      const bytes = encodeDistroResult(sample, encoding);
      expect(bytes.length).toBe(encodedResultSize(sample, encoding));
      const back = decodeDistroResult(bytes);
      expect(back.parameters.map((p) => p.name)).toEqual(sample.parameters.map((p) => p.name));
      back.parameters.forEach((p, i) => {
        const original = sample.parameters[i]!;
        expect(p.layout).toEqual(original.layout);
        expect([...p.indices]).toEqual([...original.indices]);
        original.values.forEach((v, j) => {
          const got = p.values[j]!;
          if (encoding === 'f32') expect(got).toBe(v);
          else if (encoding === 'bf16') expect(Math.abs(got - v)).toBeLessThanOrEqual(Math.abs(v) * 2 ** -8);
          else expect(got).toBe(v < 0 ? -1 : 1);
        });
      });
      expect(encodeDistroResult(back, encoding)).toEqual(bytes); // canonical
    }
  });
  it('a 4096×4096 matrix at chunk 64, top-4, 1-bit is ≥ 1,250× smaller than dense bf16, headers included', () => {
    const layout = computeChunkLayout([4096, 4096]);
    const n = layout.numChunks * 4;
    const result: DistroResult = {
      parameters: [{ name: 'model.layers.0.mlp.down_proj.weight', layout, k: 4, indices: Uint32Array.from({ length: n }, (_, i) => (i % 4) * 1000 + 7), values: new Float32Array(n).fill(-1) }],
    };
    const bytes = encodeDistroResult(result, 'sign');
    const ratio = (4096 * 4096 * 2) / bytes.length;
    console.log(`4096×4096 top-4 1-bit: ${bytes.length} bytes (${bytes.length - 26624} of header), ${ratio.toFixed(1)}× smaller than dense bf16`);
    expect(bytes.length).toBe(26624 + 8 + 2 + 35 + 1 + 8 + 8);
    expect(ratio).toBeGreaterThanOrEqual(1250);
  });

  function codeOf(bytes: Uint8Array, limits = {}): number | 'ok' {
    try {
      decodeDistroResult(bytes, limits);
      return 'ok';
    } catch (e) {
      if (!isPsycheError(e)) throw e;
      return e.code;
    }
  }

  it('refuses to encode a parameter name with a lone surrogate: UTF-8 would carry it as U+FFFD, another name', () => {
    const named = (name: string): DistroResult => ({ ...sample, parameters: sample.parameters.map((p, i) => (i === 0 ? { ...p, name } : p)) });
    expect(psycheErrorCodeOf(() => encodeDistroResult(named('w\uD800'), 'sign'))).toBe(DISTRO_WIRE_MALFORMED);
    const emoji = decodeDistroResult(encodeDistroResult(named('w\uD83D\uDE00'), 'sign'));
    expect(emoji.parameters[0]!.name).toBe('w\uD83D\uDE00');
  });

  it('rejects bad magic, unknown versions, truncation, trailing bytes and limits with stable codes', () => {
    const good = encodeDistroResult(sample, 'sign');
    const badMagic = good.slice();
    badMagic[0] = 0;
    expect(codeOf(badMagic)).toBe(DISTRO_WIRE_MALFORMED);
    const v2 = good.slice();
    v2[4] = 2;
    expect(codeOf(v2)).toBe(DISTRO_WIRE_UNSUPPORTED_VERSION);
    expect(codeOf(good.subarray(0, good.length - 1))).toBe(DISTRO_WIRE_TRUNCATED);
    expect(codeOf(good.subarray(0, 10))).toBe(DISTRO_WIRE_TRUNCATED);
    expect(codeOf(Uint8Array.of(...good, 0))).toBe(DISTRO_WIRE_MALFORMED);
    expect(codeOf(good, { maxParameters: 3 })).toBe(DISTRO_WIRE_LIMIT_EXCEEDED);
    expect(codeOf(good, { maxSelected: 10 })).toBe(DISTRO_WIRE_LIMIT_EXCEEDED);
    // limits that are not non-negative integers (NaN compared false and switched the limit off)
    for (const limits of [{ maxParameters: Number.NaN }, { maxSelected: Number.NaN }, { maxSelected: -1 }, { maxParameters: 1.5 }]) expect(codeOf(good, limits)).toBe(DISTRO_INVALID_CONFIG);
  });

  it('non-zero padding bits after the packed indices or signs are DISTRO_WIRE_MALFORMED (one encoding per result)', () => {
    // 'bias' [100] at chunk 50, k = 3: 2·3 indices of 6 bits = 36 bits (4 padding bits), 6 signs (2 padding bits)
    const bias = { parameters: [selectionOf('bias', [100], 3, 2)] };
    const good = encodeDistroResult(bias, 'sign');
    expect(decodeDistroResult(good)).toEqual(decodeDistroResult(encodeDistroResult(bias, 'sign')));
    const signByte = good.length - 1;
    const lastIndexByte = good.length - 2;
    for (const [at, bit] of [[lastIndexByte, 0x10], [lastIndexByte, 0x80], [signByte, 0x40], [signByte, 0x80]] as const) {
      const bad = good.slice();
      bad[at] = bad[at]! | bit;
      expect(codeOf(bad)).toBe(DISTRO_WIRE_MALFORMED);
    }
  });

  it('a header claiming a huge tensor is refused before any allocation', () => {
    // one parameter [65536, 65536]… would select 2^20·k coefficients from a 40-byte message
    const bytes = encodeDistroResult({ parameters: [{ ...selectionOf('w', [64, 64], 4, 5) }] }, 'sign');
    const view = new DataView(bytes.buffer);
    // name "w": header at 8: u16 len(1) 'w' rank(2) dims at 12 and 16
    view.setUint32(12, 65536, true);
    view.setUint32(16, 32768, true);
    expect([DISTRO_WIRE_TRUNCATED, DISTRO_WIRE_LIMIT_EXCEEDED]).toContain(codeOf(bytes));
  });

  it(`fuzz: ${FUZZ_RUNS} hostile inputs (random bytes, mutated and truncated valid results) give a result or a DisTrO error, never anything else`, () => {
    const seeds = (['f32', 'bf16', 'sign'] as const).map((e) => encodeDistroResult(sample, e));
    const hostile = fc.oneof(
      fc.uint8Array({ maxLength: 200 }),
      fc.tuple(fc.constantFrom(...seeds), fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 8 })).map(([seed, edits]) => {
        const copy = seed.slice();
        for (const [at, value] of edits) copy[at % copy.length] = value;
        return copy;
      }),
      fc.tuple(fc.constantFrom(...seeds), fc.nat(), fc.uint8Array({ maxLength: 16 })).map(([seed, cut, tail]) => Uint8Array.of(...seed.subarray(0, cut % (seed.length + 1)), ...tail)),
      // valid prefix (magic, version) then random header
      fc.uint8Array({ maxLength: 120 }).map((rest) => Uint8Array.of(0x50, 0x53, 0x44, 0x54, 1, (rest[0] ?? 0) % 3, ...rest)),
    );
    let accepted = 0;
    fc.assert(
      fc.property(hostile, (bytes) => {
        const code = codeOf(bytes, { maxSelected: 1 << 20 });
        if (code === 'ok') {
          accepted++;
          // accepted bytes are the one encoding of what they decode to (no ignored padding or fields)
          const encoding = (['f32', 'bf16', 'sign'] as const)[bytes[5]!]!;
          expect(encodeDistroResult(decodeDistroResult(bytes), encoding)).toEqual(bytes);
        } else expect(code >= 2000 && code < 3000).toBe(true);
      }),
      { numRuns: FUZZ_RUNS },
    );
    console.log(`wire fuzz: ${FUZZ_RUNS} cases, ${accepted} decoded as valid, the rest rejected with DisTrO codes`);
  });
});
