import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isPsycheError, MODELING_CHECKPOINT_MISMATCH, MODELING_INVALID_CONFIG, MODELING_SAFETENSORS_LIMIT_EXCEEDED, MODELING_SAFETENSORS_MALFORMED, psycheErrorCodeOf } from '@psyche/core';
import { decodeParameters, encodeParameters, loadLlamaCheckpoint, saveLlamaCheckpoint } from '../checkpoint.ts';
import { llamaConfig } from '../llama-config.ts';
import { llamaParameterSpecs } from '../llama-model.ts';
import { initParameters } from '../parameters.ts';
import { decodeSafetensors, encodeSafetensors, float32Safetensor, safetensorToFloat32 } from '../safetensors.ts';
import { HOSTILE_JSON_KEYS, hostileJsonText } from '../../../../scripts/hostile-json.ts';

const FUZZ_RUNS = Number(process.env.FUZZ_RUNS ?? 300);

function header(json: string, data: Uint8Array = new Uint8Array()): Uint8Array {
  const h = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + h.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(h.length), true);
  out.set(h, 8);
  out.set(data, 8 + h.length);
  return out;
}

const codeOf = psycheErrorCodeOf;

describe('safetensors', () => {
  it('round-trips tensors and metadata', () => {
    const a = Float32Array.from([1, 2, 3, 4, 5, 6]);
    const bytes = encodeSafetensors([['a', float32Safetensor(a, [2, 3])], ['b', { dtype: 'I64', shape: [1], bytes: new Uint8Array(8) }]], { format: 'pt' });
    expect((bytes.length - 8 - Number(new DataView(bytes.buffer).getBigUint64(0, true))) % 1).toBe(0);
    const file = decodeSafetensors(bytes);
    expect(file.metadata).toEqual({ format: 'pt' });
    expect(file.tensors.get('a')!.shape).toEqual([2, 3]);
    expect(Array.from(safetensorToFloat32('a', file.tensors.get('a')!))).toEqual(Array.from(a));
  });

  it('reads the byte layout the reference implementation writes (hand-built vector)', () => {
    // {"x":{"dtype":"BF16","shape":[2],"data_offsets":[0,4]}}: bf16 1.0 = 0x3f80, −2.0 = 0xc000
    const file = decodeSafetensors(header('{"x":{"dtype":"BF16","shape":[2],"data_offsets":[0,4]}}', Uint8Array.from([0x80, 0x3f, 0x00, 0xc0])));
    expect(Array.from(safetensorToFloat32('x', file.tensors.get('x')!))).toEqual([1, -2]);
    const f16 = decodeSafetensors(header('{"y":{"dtype":"F16","shape":[1],"data_offsets":[0,2]}}', Uint8Array.from([0x00, 0x3c])));
    expect(safetensorToFloat32('y', f16.tensors.get('y')!)[0]).toBe(1);
  });

  it('rejects malformed files with coded errors', () => {
    const cases: Uint8Array[] = [
      new Uint8Array(3),
      header('not json'),
      header('[1,2]'),
      header('{"x":{"dtype":"F99","shape":[1],"data_offsets":[0,4]}}', new Uint8Array(4)),
      header('{"x":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}}', new Uint8Array(4)),
      header('{"x":{"dtype":"F32","shape":[1],"data_offsets":[0,8]}}', new Uint8Array(4)),
      header('{"x":{"dtype":"F32","shape":[1],"data_offsets":[4,0]}}', new Uint8Array(4)),
      header('{"x":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}', new Uint8Array(8)),
      header('{"x":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"y":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}', new Uint8Array(4)),
      header('{"x":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}', new Uint8Array(4)),
      header('{"__metadata__":{"a":1}}'),
    ];
    for (const c of cases) expect(codeOf(() => decodeSafetensors(c))).toBe(MODELING_SAFETENSORS_MALFORMED);
    const huge = new Uint8Array(16);
    new DataView(huge.buffer).setBigUint64(0, 2n ** 62n, true);
    expect(codeOf(() => decodeSafetensors(huge))).toBe(MODELING_SAFETENSORS_LIMIT_EXCEEDED);
    // limits that are not non-negative integers (a NaN maxTensors switched the limit off, a NaN maxHeaderBytes threw a RangeError)
    const small = header('{"x":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}', new Uint8Array(4));
    for (const limits of [{ maxHeaderBytes: Number.NaN }, { maxTensors: Number.NaN }, { maxHeaderBytes: 1.5 }, { maxTensors: -1 }]) {
      expect(codeOf(() => decodeSafetensors(small, limits))).toBe(MODELING_INVALID_CONFIG);
    }
    expect(codeOf(() => decodeSafetensors(small, { maxTensors: 0 }))).toBe(MODELING_SAFETENSORS_LIMIT_EXCEEDED);
    const long = new Uint8Array(16);
    new DataView(long.buffer).setBigUint64(0, 1000n, true);
    expect(codeOf(() => decodeSafetensors(long))).toBe(MODELING_SAFETENSORS_MALFORMED);
  });

  it('fuzz: random bytes and mutated valid files never crash, only coded errors', () => {
    const valid = encodeSafetensors([['w', float32Safetensor(Float32Array.from([1, 2, 3, 4]), [2, 2])], ['b', float32Safetensor(Float32Array.from([5]), [1])]]);
    const sizes: Record<string, number> = { F64: 8, F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4, I16: 2, I8: 1, U8: 1, BOOL: 1 };
    // An accepted file is what the format says: every tensor's bytes match its shape and dtype, and they tile the data
    // after the header exactly, so re-encoding them in data order gives the same data section back.
    const checkAccepted = (bytes: Uint8Array): void => {
      let file;
      try {
        file = decodeSafetensors(bytes);
      } catch {
        return;
      }
      const dataStart = 8 + Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
      const inOrder = [...file.tensors].sort(([, a], [, b]) => a.bytes.byteOffset - b.bytes.byteOffset);
      let cursor = bytes.byteOffset + dataStart;
      for (const [, t] of inOrder) {
        expect(t.bytes.buffer).toBe(bytes.buffer);
        expect(t.bytes.byteOffset).toBe(cursor);
        expect(t.bytes.length).toBe(t.shape.reduce((a, b) => a * b, 1) * sizes[t.dtype]!);
        cursor += t.bytes.length;
      }
      expect(cursor).toBe(bytes.byteOffset + bytes.length);
      const again = decodeSafetensors(encodeSafetensors(inOrder, file.metadata));
      // Same names; their order is JSON object order, which puts integer-like names ("0") first whatever the file says.
      expect([...again.tensors.keys()].sort()).toEqual(inOrder.map(([name]) => name).sort());
      for (const [name, t] of inOrder) expect(again.tensors.get(name)).toEqual(t);
    };
    const ok = new Set([undefined, MODELING_SAFETENSORS_MALFORMED, MODELING_SAFETENSORS_LIMIT_EXCEEDED]);
    let accepted = 0;
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        checkAccepted(bytes);
        return ok.has(codeOf(() => decodeSafetensors(bytes)));
      }),
      { numRuns: FUZZ_RUNS },
    );
    fc.assert(
      // half the cases keep the whole file (a uniform cut nearly always truncated it, so nothing was ever accepted)
      fc.property(fc.array(fc.tuple(fc.nat(valid.length - 1), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 6 }), fc.oneof(fc.constant(valid.length), fc.nat(valid.length)), (edits, cut) => {
        const m = valid.slice(0, Math.max(cut, 1) === valid.length ? valid.length : cut);
        for (const [i, v] of edits) if (i < m.length) m[i] = v;
        checkAccepted(m);
        if (codeOf(() => decodeSafetensors(m)) === undefined) accepted++;
        return ok.has(codeOf(() => decodeSafetensors(m)));
      }),
      { numRuns: FUZZ_RUNS },
    );
    expect(accepted).toBeGreaterThan(0);
  });

  it('fuzz: structured headers are accepted exactly when a plain reading of the format says they are valid', () => {
    const sizes: Record<string, number> = { F64: 8, F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4, I16: 2, I8: 1, U8: 1, BOOL: 1 };
    const entry = fc.record({
      name: fc.constantFrom('a', 'b', 'c', 'd'),
      dtype: fc.constantFrom('F32', 'F16', 'U8', 'I64', 'BOOL', 'F8', 'f32'),
      shape: fc.array(fc.oneof(fc.nat(6), fc.constant(100)), { maxLength: 3 }),
      offsets: fc.tuple(fc.nat(48), fc.nat(48)),
    });
    // The format's rules, one by one: known dtype, begin ≤ end ≤ data length, end − begin = elements · dtype size,
    // and the tensors, ordered by offsets, cover the data with no gap, overlap or trailing byte.
    const referenceValid = (header: Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }>, dataLength: number): boolean => {
      const spans: [number, number][] = [];
      for (const { dtype, shape, data_offsets: [begin, end] } of Object.values(header)) {
        if (!(dtype in sizes) || begin > end || end > dataLength) return false;
        if (shape.reduce((a, b) => a * b, 1) * sizes[dtype]! !== end - begin) return false;
        spans.push([begin, end]);
      }
      spans.sort((x, y) => x[0] - y[0] || x[1] - y[1]);
      let cursor = 0;
      for (const [begin, end] of spans) {
        if (begin !== cursor) return false;
        cursor = end;
      }
      return cursor === dataLength;
    };
    let accepted = 0;
    fc.assert(
      fc.property(fc.array(entry, { maxLength: 4 }), fc.nat(48), fc.boolean(), fc.constantFrom(0, 0, 0, 1, 4), (entries, dataLength, tile, slack) => {
        if (tile) {
          // rewrite the offsets so the entries tile the data (otherwise nearly every case is a gap);
          // `slack` gives the first one a span that is not its size
          let cursor = 0;
          for (const [i, e] of entries.entries()) {
            const size = e.shape.reduce((a, b) => a * b, 1) * (sizes[e.dtype] ?? 1) + (i === 0 ? slack : 0);
            e.offsets = [cursor, cursor + size];
            cursor += size;
          }
          dataLength = Math.min(cursor, 4096);
        }
        const described: Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }> = {};
        for (const e of entries) described[e.name] = { dtype: e.dtype, shape: e.shape, data_offsets: e.offsets };
        const code = codeOf(() => decodeSafetensors(header(JSON.stringify(described), new Uint8Array(dataLength))));
        const valid = referenceValid(described, dataLength);
        if (valid) accepted++;
        expect(code).toBe(valid ? undefined : MODELING_SAFETENSORS_MALFORMED);
      }),
      { numRuns: 2000 },
    );
    expect(accepted).toBeGreaterThan(100);
  });

  it('a dtype nested 6,000 arrays deep is MODELING_SAFETENSORS_MALFORMED (JSON.stringify of it in the message overflowed the stack)', () => {
    const deep = `${'['.repeat(6000)}${']'.repeat(6000)}`;
    expect(codeOf(() => decodeSafetensors(header(`{"x":{"dtype":${deep},"shape":[1],"data_offsets":[0,4]}}`, new Uint8Array(4))))).toBe(MODELING_SAFETENSORS_MALFORMED);
  });

  it('a tensor named "__proto__" survives decode → encode → decode (the encoder\'s header[name] = … set the prototype and dropped it)', () => {
    const file = decodeSafetensors(header('{"__proto__":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"toString":{"dtype":"U8","shape":[2],"data_offsets":[4,6]}}', Uint8Array.of(0, 0, 0x80, 0x3f, 7, 8)));
    expect([...file.tensors.keys()].sort()).toEqual(['__proto__', 'toString']);
    const metadata = Object.fromEntries([['__proto__', 'x']]) as Record<string, string>;
    const again = decodeSafetensors(encodeSafetensors(file.tensors, metadata));
    expect(again.tensors).toEqual(file.tensors);
    expect(Object.entries(again.metadata)).toEqual([['__proto__', 'x']]);
    // Names the header cannot hold twice, or that it reserves, are refused rather than written into a file that does not decode.
    const one = float32Safetensor(Float32Array.of(1), [1]);
    expect(codeOf(() => encodeSafetensors([['a', one], ['a', one]]))).toBe(MODELING_SAFETENSORS_MALFORMED);
    expect(codeOf(() => encodeSafetensors([['__metadata__', one]]))).toBe(MODELING_SAFETENSORS_MALFORMED);
  });

  it('fuzz: any JSON in any header field, and tensors named like Object.prototype keys, give a coded error or a file that re-encodes to the same tensors', () => {
    const data = Uint8Array.from({ length: 20 }, (_, i) => i);
    const base: [string, Record<string, string>][] = [
      ['w', { dtype: '"F32"', shape: '[2,2]', data_offsets: '[0,16]' }],
      ['b', { dtype: '"F32"', shape: '[1]', data_offsets: '[16,20]' }],
    ];
    const name = fc.oneof(fc.constantFrom('w', 'b', '__metadata__', '0'), fc.constantFrom(...HOSTILE_JSON_KEYS));
    const edit = fc.oneof(
      fc.tuple(fc.constant('field' as const), fc.nat(1), fc.constantFrom('dtype', 'shape', 'data_offsets', ...HOSTILE_JSON_KEYS), hostileJsonText()),
      fc.tuple(fc.constant('rename' as const), fc.nat(1), name, fc.constant('')),
      fc.tuple(fc.constant('top' as const), fc.nat(1), name, hostileJsonText()),
    );
    const ok = new Set([undefined, MODELING_SAFETENSORS_MALFORMED, MODELING_SAFETENSORS_LIMIT_EXCEEDED]);
    let accepted = 0;
    fc.assert(
      fc.property(fc.array(edit, { maxLength: 3 }), (edits) => {
        // Built as text, so a "__proto__" key arrives as JSON.parse makes it (an own key).
        const entries = base.map(([n, fields]) => [n, { ...fields }] as [string, Record<string, string>]);
        const top: [string, string][] = [];
        for (const [kind, at, key, value] of edits) {
          if (kind === 'field') Object.defineProperty(entries[at]![1], key, { value, enumerable: true, configurable: true, writable: true });
          else if (kind === 'rename') entries[at]![0] = key;
          else top.push([key, value]);
        }
        const text = `{${[...entries.map(([n, fields]) => [n, `{${Object.entries(fields).map(([k, v]) => `${JSON.stringify(k)}:${v}`).join(',')}}`]), ...top].map(([k, v]) => `${JSON.stringify(k)}:${v}`).join(',')}}`;
        let file;
        try {
          file = decodeSafetensors(header(text, data));
        } catch (e) {
          expect(ok.has(codeOf(() => { throw e; })), String(e)).toBe(true);
          return;
        }
        accepted++;
        const inOrder = [...file.tensors].sort(([, a], [, b]) => a.bytes.byteOffset - b.bytes.byteOffset);
        const again = decodeSafetensors(encodeSafetensors(inOrder, file.metadata));
        expect(again.tensors).toEqual(file.tensors);
        expect(again.metadata).toEqual(file.metadata);
      }),
      { numRuns: FUZZ_RUNS },
    );
    expect(accepted).toBeGreaterThan(0);
  });

  it('saves and loads a LLaMA checkpoint with HF names and config.json', async () => {
    const config = llamaConfig({ vocab_size: 13, hidden_size: 8, intermediate_size: 16, num_hidden_layers: 2, num_attention_heads: 2, num_key_value_heads: 1 });
    const params = initParameters(llamaParameterSpecs(config), 42);
    const dir = await mkdtemp(join(tmpdir(), 'psyche-ckpt-'));
    try {
      await saveLlamaCheckpoint(dir, config, params);
      const loaded = await loadLlamaCheckpoint(dir);
      expect(loaded.config).toEqual(config);
      for (const [name, v] of params) expect(Array.from(loaded.parameters.get(name)!)).toEqual(Array.from(v));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('a checkpoint for another shape is a coded mismatch', () => {
    const small = llamaConfig({ vocab_size: 13, hidden_size: 8, intermediate_size: 16, num_hidden_layers: 1, num_attention_heads: 2 });
    const big = llamaConfig({ ...small, intermediate_size: 32 });
    const bytes = encodeParameters(llamaParameterSpecs(small), initParameters(llamaParameterSpecs(small), 1));
    expect(codeOf(() => decodeParameters(llamaParameterSpecs(big), bytes))).toBe(MODELING_CHECKPOINT_MISMATCH);
    expect(codeOf(() => decodeParameters(llamaParameterSpecs({ ...small, num_hidden_layers: 2 }), bytes))).toBe(MODELING_CHECKPOINT_MISMATCH);
  });

  it('initialization is seeded and documented (N(0, 0.02²) linears, ones for norms)', () => {
    const config = llamaConfig({ vocab_size: 64, hidden_size: 32, intermediate_size: 64, num_hidden_layers: 1, num_attention_heads: 4 });
    const specs = llamaParameterSpecs(config);
    const a = initParameters(specs, 7);
    const b = initParameters(specs, 7);
    const c = initParameters(specs, 8);
    const q = a.get('model.layers.0.self_attn.q_proj.weight')!;
    expect(Array.from(q)).toEqual(Array.from(b.get('model.layers.0.self_attn.q_proj.weight')!));
    expect(Array.from(q)).not.toEqual(Array.from(c.get('model.layers.0.self_attn.q_proj.weight')!));
    const std = Math.sqrt(q.reduce((s, v) => s + v * v, 0) / q.length);
    expect(std).toBeGreaterThan(0.017);
    expect(std).toBeLessThan(0.023);
    expect(a.get('model.norm.weight')!.every((v) => v === 1)).toBe(true);
  });
});
