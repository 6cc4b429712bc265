import {
  DISTRO_INDEX_OUT_OF_RANGE,
  DISTRO_NON_FINITE_VALUE,
  DISTRO_RESULT_LAYOUT_MISMATCH,
  DISTRO_WIRE_LAYOUT_MISMATCH,
  DISTRO_WIRE_LIMIT_EXCEEDED,
  DISTRO_WIRE_MALFORMED,
  DISTRO_WIRE_TRUNCATED,
  DISTRO_WIRE_UNSUPPORTED_VERSION,
  createRng,
  psycheErrorCodeOf,
  toHex,
} from '@psyche/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  BitReader,
  BitWriter,
  COMPACT_WIRE_VERSION,
  decodeCompactResult,
  decodeDistroResult,
  decodeResultWithLayout,
  resultPayloadSizes,
  encodeCompactResult,
  encodeDistroResult,
  packBits,
  resultLayout,
  resultLayoutOf,
  type DistroResult,
  type ResultLayout,
} from '../index.ts';
import { sampleResult, selectionOf } from './wire-fixtures.ts';

const FUZZ_RUNS = Number(process.env.FUZZ_RUNS ?? 10_000);

const sample = sampleResult;
const layoutOfSample = (encoding: 'f32' | 'bf16' | 'sign'): ResultLayout => resultLayout(sample.parameters, encoding);

describe('bit stream', () => {
  it('one width throughout gives exactly packBits bytes; mixed widths read back', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 0, max: 32 }), fc.nat()), {
          maxLength: 60,
        }),
        fc.integer({ min: 0, max: 32 }),
        (fields, single) => {
          const norm = fields.map(([bits, v]) => [bits, bits === 0 ? 0 : v % 2 ** bits] as const);
          const totalBits = norm.reduce((s, [bits]) => s + bits, 0);
          const w = new BitWriter(Math.ceil(totalBits / 8));
          for (const [bits, v] of norm) w.write(v, bits);
          const r = new BitReader(w.finish());
          for (const [bits, v] of norm) expect(r.read(bits)).toBe(v);
          expect(r.pendingBits).toBe(0);
          const values = Uint32Array.from(norm, ([, v]) => (single === 0 ? 0 : v % 2 ** single));
          const one = new BitWriter(Math.ceil((values.length * single) / 8));
          for (const v of values) one.write(v, single);
          expect([...one.finish()]).toEqual([...packBits(values, single)]);
        }
      )
    );
  });
});

describe('wire format v2 (compact, layout known to both ends)', () => {
  it('round trips to the same DistroResult as v1 for f32, bf16 and sign, and is canonical', () => {
    for (const encoding of ['f32', 'bf16', 'sign'] as const) {
      const layout = layoutOfSample(encoding);
      const bytes = encodeCompactResult(sample, layout);
      expect(bytes.length).toBe(layout.byteLength);
      expect(bytes[4]).toBe(COMPACT_WIRE_VERSION);
      const viaV2 = decodeCompactResult(bytes, layout);
      const viaV1 = decodeDistroResult(encodeDistroResult(sample, encoding));
      expect(viaV2).toEqual(viaV1);
      expect(encodeCompactResult(viaV2, layout)).toEqual(bytes);
      expect(bytes.length).toBeLessThan(encodeDistroResult(sample, encoding).length);
    }
  });

  it('decodeResultWithLayout reads v1 of the same layout and v2 alike, and refuses v1 of another layout or encoding', () => {
    const layout = layoutOfSample('sign');
    const v1 = encodeDistroResult(sample, 'sign');
    expect(decodeResultWithLayout(v1, layout)).toEqual(decodeResultWithLayout(encodeCompactResult(sample, layout), layout));
    expect(psycheErrorCodeOf(() => decodeResultWithLayout(encodeDistroResult(sample, 'bf16'), layout))).toBe(DISTRO_RESULT_LAYOUT_MISMATCH);
    const other: DistroResult = { parameters: [sample.parameters[0]!] };
    expect(psycheErrorCodeOf(() => decodeResultWithLayout(encodeDistroResult(other, 'sign'), layout))).toBe(DISTRO_RESULT_LAYOUT_MISMATCH);
    // v1 limits come from the layout: a v1 message selecting more than the model can is refused before allocating
    const bigger: DistroResult = {
      parameters: [selectionOf('model.layers.0.mlp.up_proj.weight', [256, 96], 4, 1), ...sample.parameters.slice(1)],
    };
    expect(psycheErrorCodeOf(() => decodeResultWithLayout(encodeDistroResult(bigger, 'sign'), layout))).toBe(DISTRO_WIRE_LIMIT_EXCEEDED);
  });

  it('resultPayloadSizes are the exact lengths of the v2 and v1 encodings of a result with the layout, for every encoding', () => {
    for (const encoding of ['f32', 'bf16', 'sign'] as const) {
      const layout = layoutOfSample(encoding);
      expect(resultPayloadSizes(layout)).toEqual({ compact: encodeCompactResult(sample, layout).length, v1: encodeDistroResult(sample, encoding).length });
    }
  });

  it('golden bytes: the digest and the bit layout are stable (peers of other builds must agree)', () => {
    const layout = resultLayoutOf([{ name: 'w', shape: [64, 64] }, { name: 'b', shape: [64] }], { topk: 2 }, 'sign');
    const [w, b] = layout.parameters;
    const bytes = encodeCompactResult(
      {
        parameters: [
          { name: 'w', layout: w!.layout, k: 2, indices: Uint32Array.of(0, 4095), values: Float32Array.of(-1, 1) },
          { name: 'b', layout: b!.layout, k: 2, indices: Uint32Array.of(1, 63), values: Float32Array.of(1, -1) },
        ],
      },
      layout,
    );
    expect(toHex(layout.digest)).toBe('b990b8776fba66d7');
    // "PSDT" 02 digest | 0 (12 bits) 4095 (12) signs 1 0 | 1 (6 bits) 63 (6) signs 0 1 = 40 bits
    expect(toHex(bytes)).toBe('5053445402' + 'b990b8776fba66d7' + '00f0ff05bf');
  });

  it('a 4096×4096 matrix at chunk 64, top-4, 1-bit: 13 bytes of header, 1,259× smaller than dense bf16', () => {
    const layout = resultLayoutOf([{ name: 'w', shape: [4096, 4096] }], { chunk: 64, topk: 4 }, 'sign');
    expect(layout.byteLength).toBe(13 + (4096 * 4 * 13) / 8);
    expect((4096 * 4096 * 2) / layout.byteLength).toBeGreaterThan(1259);
  });

  it('a LLaMA of hidden 128 whose matrices tile into 64×64 chunks is ≥ 1,000× smaller than dense bf16 per step', () => {
    const shapes: [string, number[]][] = [
      ['embed', [320, 128]],
      ['norm', [128]],
    ];
    for (let l = 0; l < 2; l++) {
      shapes.push([`l${l}.q`, [128, 128]], [`l${l}.k`, [64, 128]], [`l${l}.v`, [64, 128]], [`l${l}.o`, [128, 128]]);
      shapes.push([`l${l}.gate`, [384, 128]], [`l${l}.up`, [384, 128]], [`l${l}.down`, [128, 384]], [`l${l}.n1`, [128]], [`l${l}.n2`, [128]]);
    }
    const layout = resultLayoutOf(
      shapes.map(([name, shape]) => ({ name, shape })),
      { chunk: 64, topk: 4 },
      'sign'
    );
    const dense = 2 * shapes.reduce((s, [, shape]) => s + shape.reduce((a, b) => a * b, 1), 0);
    // 106 chunks of 64×64 at 52 bits + 10 chunks of 64 at 28 bits + 13 bytes
    expect(layout.byteLength).toBe(13 + Math.ceil((106 * 52 + 10 * 28) / 8));
    expect(dense / layout.byteLength).toBeGreaterThan(1000);
  });

  it('a parameter name with a lone surrogate is DISTRO_RESULT_LAYOUT_MISMATCH: as UTF-8 it would share its digest with U+FFFD', () => {
    const layout = (name: string) => () => resultLayoutOf([{ name, shape: [64, 128] }], { chunk: 64, topk: 4 }, 'sign');
    expect(psycheErrorCodeOf(layout('a\uD800'))).toBe(DISTRO_RESULT_LAYOUT_MISMATCH);
    expect(layout('a\uFFFD')).not.toThrow();
  });

  it('the digest separates layouts: other names, shapes, chunking, k or encoding → DISTRO_WIRE_LAYOUT_MISMATCH', () => {
    const params = [
      { name: 'a', shape: [64, 128] },
      { name: 'b', shape: [128] },
    ];
    const base = resultLayoutOf(params, { chunk: 64, topk: 4 }, 'sign');
    const variants = [
      resultLayoutOf(
        [
          { name: 'a', shape: [64, 128] },
          { name: 'c', shape: [128] },
        ],
        { chunk: 64, topk: 4 },
        'sign'
      ),
      resultLayoutOf(
        [
          { name: 'a', shape: [128, 64] },
          { name: 'b', shape: [128] },
        ],
        { chunk: 64, topk: 4 },
        'sign'
      ),
      resultLayoutOf(params, { chunk: 32, topk: 4 }, 'sign'),
      resultLayoutOf(params, { chunk: 64, topk: 3 }, 'sign'),
      resultLayoutOf(params, { chunk: 64, topk: 4 }, 'bf16'),
      resultLayoutOf([...params].reverse(), { chunk: 64, topk: 4 }, 'sign'),
    ];
    const result: DistroResult = {
      parameters: [selectionOf('a', [64, 128], 4, 7), selectionOf('b', [128], 4, 8)],
    };
    const bytes = encodeCompactResult(result, base);
    for (const v of variants) {
      expect(v.digest).not.toEqual(base.digest);
      expect(psycheErrorCodeOf(() => decodeCompactResult(bytes, v))).toBe(DISTRO_WIRE_LAYOUT_MISMATCH);
      if (v.encoding === base.encoding) expect(psycheErrorCodeOf(() => encodeCompactResult(result, v))).toBe(DISTRO_RESULT_LAYOUT_MISMATCH);
    }
    expect(resultLayoutOf(params, { chunk: 64, topk: 4 }, 'sign').digest).toEqual(base.digest);
  });

  it('rejects bad magic, v1 bytes, truncation, trailing bytes, padding bits, unordered or out-of-range indices and non-finite values with stable codes', () => {
    const layout = layoutOfSample('sign');
    const good = encodeCompactResult(sample, layout);
    const edit = (at: number, value: number) => {
      const copy = good.slice();
      copy[at] = value;
      return copy;
    };
    expect(psycheErrorCodeOf(() => decodeCompactResult(edit(0, 0), layout))).toBe(DISTRO_WIRE_MALFORMED);
    expect(psycheErrorCodeOf(() => decodeCompactResult(encodeDistroResult(sample, 'sign'), layout))).toBe(DISTRO_WIRE_UNSUPPORTED_VERSION);
    expect(psycheErrorCodeOf(() => decodeCompactResult(good.subarray(0, good.length - 1), layout))).toBe(DISTRO_WIRE_TRUNCATED);
    expect(psycheErrorCodeOf(() => decodeCompactResult(good.subarray(0, 7), layout))).toBe(DISTRO_WIRE_TRUNCATED);
    expect(psycheErrorCodeOf(() => decodeCompactResult(Uint8Array.of(...good, 0), layout))).toBe(DISTRO_WIRE_MALFORMED);
    const bodyBits = (layout.byteLength - 13) * 8;
    const usedBits = layout.parameters.reduce((s, p) => s + p.layout.numChunks * p.k * (Math.ceil(Math.log2(p.layout.chunkElems)) + 1), 0);
    expect(bodyBits - usedBits).toBeGreaterThan(0); // this sample has padding to corrupt
    expect(psycheErrorCodeOf(() => decodeCompactResult(edit(good.length - 1, good[good.length - 1]! | 0x80), layout))).toBe(DISTRO_WIRE_MALFORMED);
    // the first chunk's first two indices swapped → not ascending
    const first = sample.parameters[0]!;
    const swapped = first.indices.slice();
    [swapped[0], swapped[1]] = [swapped[1]!, swapped[0]!];
    const unordered = encodeCompactResult(
      {
        parameters: [{ ...first, indices: swapped }, ...sample.parameters.slice(1)],
      },
      layout
    );
    expect(psycheErrorCodeOf(() => decodeCompactResult(unordered, layout))).toBe(DISTRO_WIRE_MALFORMED);
    // 'bias' [100] has chunks of 50 coefficients addressed with 6 bits: 63 is representable but out of range
    const only = resultLayoutOf([{ name: 'bias', shape: [100] }], { topk: 1 }, 'sign');
    const outOfRange = encodeCompactResult(
      {
        parameters: [
          {
            name: 'bias',
            layout: only.parameters[0]!.layout,
            k: 1,
            indices: Uint32Array.of(3, 5),
            values: Float32Array.of(1, -1),
          },
        ],
      },
      only
    );
    outOfRange[13] = 63;
    expect(psycheErrorCodeOf(() => decodeCompactResult(outOfRange, only))).toBe(DISTRO_INDEX_OUT_OF_RANGE);
    const f32 = resultLayoutOf([{ name: 'bias', shape: [100] }], { topk: 1 }, 'f32');
    const nonFinite = encodeCompactResult(
      {
        parameters: [
          {
            name: 'bias',
            layout: f32.parameters[0]!.layout,
            k: 1,
            indices: Uint32Array.of(3, 5),
            values: Float32Array.of(Number.NaN, 1),
          },
        ],
      },
      f32
    );
    expect(psycheErrorCodeOf(() => decodeCompactResult(nonFinite, f32))).toBe(DISTRO_NON_FINITE_VALUE);
    expect(
      psycheErrorCodeOf(() =>
        encodeCompactResult(
          {
            parameters: [
              {
                name: 'bias',
                layout: only.parameters[0]!.layout,
                k: 1,
                indices: Uint32Array.of(50, 5),
                values: Float32Array.of(1, 1),
              },
            ],
          },
          only
        )
      )
    ).toBe(DISTRO_INDEX_OUT_OF_RANGE);
  });

  it(`fuzz: ${FUZZ_RUNS} hostile inputs (random bytes behind a valid header, mutated and truncated valid results) give a result or a DisTrO error; accepted ones are canonical`, () => {
    const layouts = (['f32', 'bf16', 'sign'] as const).map(layoutOfSample);
    const seeds = layouts.map((l) => encodeCompactResult(sample, l));
    const v1Seeds = layouts.map((l) => encodeDistroResult(sample, l.encoding));
    const header = (l: ResultLayout) => [0x50, 0x53, 0x44, 0x54, 2, ...l.digest];
    const hostile = fc.tuple(
      fc.nat({ max: 2 }),
      fc.oneof(
        fc.uint8Array({ maxLength: 200 }),
        fc
          .tuple(
            fc.nat({ max: 2 }),
            fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), {
              minLength: 1,
              maxLength: 8,
            })
          )
          .map(([s, edits]) => {
            const copy = seeds[s]!.slice();
            for (const [at, value] of edits) copy[at % copy.length] = value;
            return copy;
          }),
        fc
          .tuple(fc.nat({ max: 2 }), fc.nat(), fc.uint8Array({ maxLength: 16 }))
          .map(([s, cut, tail]) => Uint8Array.of(...seeds[s]!.subarray(0, cut % (seeds[s]!.length + 1)), ...tail)),
        // v1 encodings of the sample, mutated: decodeResultWithLayout reads v1 too
        fc
          .tuple(
            fc.nat({ max: 2 }),
            fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 4 }),
          )
          .map(([s, edits]) => {
            const copy = v1Seeds[s]!.slice();
            for (const [at, value] of edits) copy[at % copy.length] = value;
            return copy;
          }),
        // valid header, then a random body of the right length or close to it
        fc.tuple(fc.nat({ max: 2 }), fc.integer({ min: -2, max: 2 }), fc.nat()).map(([s, delta, seed]) => {
          const l = layouts[s]!;
          const body = new Uint8Array(Math.max(0, l.byteLength - 13 + delta));
          const rng = createRng(seed);
          for (let i = 0; i < body.length; i++) body[i] = rng.nextU32() & 255;
          return Uint8Array.of(...header(l), ...body);
        })
      )
    );
    let accepted = 0;
    fc.assert(
      fc.property(hostile, ([which, bytes]) => {
        const layout = layouts[which]!;
        let decoded: DistroResult | undefined;
        const code = psycheErrorCodeOf(() => {
          decoded = decodeResultWithLayout(bytes, layout);
        });
        if (decoded !== undefined) {
          accepted++;
          // A node gates blob tickets on these sizes before fetching: nothing else may decode.
          const sizes = resultPayloadSizes(layout);
          expect([sizes.compact, sizes.v1]).toContain(bytes.length);
          if (bytes[4] === COMPACT_WIRE_VERSION) expect(encodeCompactResult(decoded, layout)).toEqual(bytes);
          else expect(encodeDistroResult(decoded, layout.encoding)).toEqual(bytes); // v1 read through the layout is canonical too
        } else expect(code !== undefined && code >= 2000 && code < 3000).toBe(true);
      }),
      { numRuns: FUZZ_RUNS }
    );
    console.log(`compact wire fuzz: ${FUZZ_RUNS} cases, ${accepted} decoded as valid, the rest rejected with DisTrO codes`);
  });
});
