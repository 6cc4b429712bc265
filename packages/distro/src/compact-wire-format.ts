import {
  ByteWriter,
  DISTRO_INDEX_OUT_OF_RANGE,
  DISTRO_NON_FINITE_VALUE,
  DISTRO_RESULT_LAYOUT_MISMATCH,
  DISTRO_WIRE_LAYOUT_MISMATCH,
  DISTRO_WIRE_MALFORMED,
  DISTRO_WIRE_TRUNCATED,
  DISTRO_WIRE_UNSUPPORTED_VERSION,
  PsycheError,
  sha256,
  describeShape,
  describeValue,
  toHex,
  utf8Encode,
  isWellFormedUtf16,
  toWellFormedUtf16,
} from '@psyche/core';
import { fromBf16Bits, toBf16Bits } from './bf16.ts';
import { BitReader, BitWriter } from './bit-stream.ts';
import { type ChunkLayout, computeChunkLayout, indexBits } from './chunk-layout.ts';
import { resolveDistroConfig } from './distro-config.ts';
import type { DistroResult, ParameterSelection, ValueEncoding } from './distro-result.ts';
import { WIRE_MAGIC, WIRE_VERSION, decodeDistroResult, encodedResultSize } from './wire-format.ts';

/**
 * Wire format v2 ("compact") of a DistroResult: the per-parameter headers of v1 are left out
 * because sender and receiver both know the model. Instead an 8-byte digest of the expected layout
 * (names, shapes, chunking, k, value encoding) tells a receiver with a different model apart:
 *
 *   magic "PSDT" | version u8 = 2 | layout digest (8 bytes)
 *   | one LSB-first bit stream, zero-padded to a byte at the very end:
 *     per parameter, in layout order: numChunks·k indices of ceil(log2(chunkElems)) bits
 *     (ascending within each chunk), then numChunks·k values of 1 (sign, set = negative), 16 (bf16)
 *     or 32 (f32) bits
 *
 * No byte padding between fields: top-4 of a 64×64 chunk costs exactly 4·(12+1) = 52 bits.
 * The total length is a function of the layout, so the decoder checks it before allocating.
 */
export const COMPACT_WIRE_VERSION = 2;
/** Bytes of sha256 kept as the layout digest: catches a mismatched model, not an adversary (any peer can send any indices). */
export const LAYOUT_DIGEST_BYTES = 8;
const COMPACT_HEADER_BYTES = WIRE_MAGIC.length + 1 + LAYOUT_DIGEST_BYTES;
const ENCODINGS: readonly ValueEncoding[] = ['f32', 'bf16', 'sign'];
const VALUE_BITS: Record<ValueEncoding, number> = {
  f32: 32,
  bf16: 16,
  sign: 1,
};
const DIGEST_DOMAIN = utf8Encode('psyche/distro/result-layout/v2');

export interface ResultLayoutEntry {
  readonly name: string;
  readonly layout: ChunkLayout;
  readonly k: number;
}

/** What both ends of a compact result agree on: every parameter's chunking and k, the value encoding, and their digest. */
export interface ResultLayout {
  readonly parameters: readonly ResultLayoutEntry[];
  readonly encoding: ValueEncoding;
  readonly digest: Uint8Array;
  /** Exact encoded size of every result with this layout. */
  readonly byteLength: number;
  /** Coefficients a result selects in total (Σ numChunks·k). */
  readonly selected: number;
}

function layoutMismatch(name: string, reason: string): PsycheError {
  return new PsycheError(DISTRO_RESULT_LAYOUT_MISMATCH, { name, reason }, `result does not match the expected layout at ${name === '' ? 'the top level' : name}: ${reason}`);
}

function malformed(offset: number, reason: string): PsycheError {
  return new PsycheError(DISTRO_WIRE_MALFORMED, { offset, reason }, `malformed DisTrO result at byte ${offset}: ${reason}`);
}

/** A layout from explicit entries (e.g. an existing result's). Names must be unique and non-empty. */
export function resultLayout(entries: readonly ResultLayoutEntry[], encoding: ValueEncoding): ResultLayout {
  if (!ENCODINGS.includes(encoding)) throw layoutMismatch('', `unknown value encoding ${describeValue(encoding)}`);
  // The digest covers v1's header fields, length-prefixed, so no two layouts describe the same bytes.
  const descriptor = new ByteWriter();
  descriptor.u8(ENCODINGS.indexOf(encoding)).u32(entries.length);
  const names = new Set<string>();
  let bits = 0;
  let selected = 0;
  for (const { name, layout, k } of entries) {
    if (name === '' || names.has(name)) throw layoutMismatch(name, 'empty or duplicate parameter name');
    // UTF-8 carries a lone surrogate as U+FFFD, so two different names would give one digest.
    if (!isWellFormedUtf16(name)) throw layoutMismatch(toWellFormedUtf16(name), 'parameter name has a lone surrogate');
    names.add(name);
    if (!Number.isInteger(k) || k < 1 || k > layout.chunkElems) throw layoutMismatch(name, `k=${describeValue(k)} outside [1, ${layout.chunkElems}]`);
    descriptor.lengthPrefixedBytes(utf8Encode(name)).u32(layout.shape.length);
    for (const d of layout.shape) descriptor.u32(d);
    descriptor.u32(layout.chunkRows).u32(layout.chunkCols).u32(k);
    const count = layout.numChunks * k;
    selected += count;
    bits += count * (indexBits(layout) + VALUE_BITS[encoding]);
  }
  return {
    parameters: entries.map((e) => ({
      name: e.name,
      layout: e.layout,
      k: e.k,
    })),
    encoding,
    digest: sha256(DIGEST_DOMAIN, descriptor.finish()).slice(0, LAYOUT_DIGEST_BYTES),
    byteLength: COMPACT_HEADER_BYTES + Math.ceil(bits / 8),
    selected,
  };
}

/** The layout a DistroOptimizer with this chunk and top-k produces for these parameters (k clamped to small chunks, as the optimizer does). */
export function resultLayoutOf(
  params: readonly {
    readonly name: string;
    readonly shape: readonly number[];
  }[],
  config: { readonly chunk?: number; readonly topk?: number },
  encoding: ValueEncoding
): ResultLayout {
  const { chunk, topk } = resolveDistroConfig(config);
  return resultLayout(
    params.map((p) => {
      const layout = computeChunkLayout(p.shape, chunk);
      return { name: p.name, layout, k: Math.min(topk, layout.chunkElems) };
    }),
    encoding
  );
}

function sameShape(a: ChunkLayout, b: ChunkLayout): boolean {
  // Array.isArray first: a JS caller's result can hold any shape, and .every on a non-array threw a TypeError.
  return Array.isArray(a.shape) && a.shape.length === b.shape.length && a.shape.every((d, i) => d === b.shape[i]) && a.chunkRows === b.chunkRows && a.chunkCols === b.chunkCols;
}

/** Throws DISTRO_RESULT_LAYOUT_MISMATCH unless the result has exactly the layout's parameters, chunking and k, in order. */
export function checkResultLayout(result: DistroResult, layout: ResultLayout): void {
  if (result.parameters.length !== layout.parameters.length) throw layoutMismatch('', `${result.parameters.length} parameters, expected ${layout.parameters.length}`);
  layout.parameters.forEach((expected, i) => {
    const p = result.parameters[i]!;
    if (p.name !== expected.name) throw layoutMismatch(expected.name, `parameter ${i} is named ${describeValue(p.name)}`);
    if (!sameShape(p.layout, expected.layout))
      throw layoutMismatch(
        p.name,
        `shape ${describeShape(p.layout.shape)} chunk ${describeValue(p.layout.chunkRows)}×${describeValue(p.layout.chunkCols)}, expected ${describeShape(expected.layout.shape)} chunk ${
          expected.layout.chunkRows
        }×${expected.layout.chunkCols}`
      );
    if (p.k !== expected.k) throw layoutMismatch(p.name, `k=${describeValue(p.k)}, expected ${expected.k}`);
    const n = expected.layout.numChunks * expected.k;
    if (p.indices.length !== n || p.values.length !== n) throw layoutMismatch(p.name, `${describeValue(p.indices.length)} indices and ${describeValue(p.values.length)} values, expected ${n}`);
  });
}

const f32Scratch = new Float32Array(1);
const u32Scratch = new Uint32Array(f32Scratch.buffer);

export function encodeCompactResult(result: DistroResult, layout: ResultLayout): Uint8Array {
  checkResultLayout(result, layout);
  const out = new BitWriter(layout.byteLength);
  for (let i = 0; i < WIRE_MAGIC.length; i++) out.write(WIRE_MAGIC[i]!, 8);
  out.write(COMPACT_WIRE_VERSION, 8);
  for (const b of layout.digest) out.write(b, 8);
  const valueBits = VALUE_BITS[layout.encoding];
  for (const [i, { name, layout: chunks }] of layout.parameters.entries()) {
    const { indices, values } = result.parameters[i]!;
    const bits = indexBits(chunks);
    for (const index of indices) {
      if (index >= chunks.chunkElems) throw new PsycheError(DISTRO_INDEX_OUT_OF_RANGE, { name, index, limit: chunks.chunkElems }, `${name}: index ${index} ≥ ${chunks.chunkElems}`);
      out.write(index, bits);
    }
    for (const v of values) {
      if (layout.encoding === 'sign') out.write(v < 0 ? 1 : 0, 1);
      else if (layout.encoding === 'bf16') out.write(toBf16Bits(v), 16);
      else {
        f32Scratch[0] = v;
        out.write(u32Scratch[0]!, 32);
      }
    }
  }
  return out.finish();
}

/** Decodes v2 bytes from the network against the receiver's expected layout. Every failure is a PsycheError with a DisTrO code. */
export function decodeCompactResult(bytes: Uint8Array, layout: ResultLayout): DistroResult {
  if (bytes.length < COMPACT_HEADER_BYTES) {
    throw new PsycheError(DISTRO_WIRE_TRUNCATED, { offset: 0, needed: COMPACT_HEADER_BYTES, available: bytes.length }, `truncated DisTrO result: ${bytes.length} bytes`);
  }
  if (WIRE_MAGIC.some((b, i) => bytes[i] !== b)) throw malformed(0, 'bad magic');
  const version = bytes[WIRE_MAGIC.length]!;
  if (version !== COMPACT_WIRE_VERSION) {
    throw new PsycheError(
      DISTRO_WIRE_UNSUPPORTED_VERSION,
      { version, supported: COMPACT_WIRE_VERSION },
      `wire version ${version} is not the compact version ${COMPACT_WIRE_VERSION}`
    );
  }
  const digest = bytes.subarray(WIRE_MAGIC.length + 1, COMPACT_HEADER_BYTES);
  if (digest.some((b, i) => b !== layout.digest[i])) {
    const expected = toHex(layout.digest);
    const received = toHex(digest);
    throw new PsycheError(
      DISTRO_WIRE_LAYOUT_MISMATCH,
      { expected, received },
      `result layout digest ${received} differs from this model's ${expected} (names, shapes, chunking, k or value encoding)`
    );
  }
  if (bytes.length !== layout.byteLength) {
    if (bytes.length < layout.byteLength) {
      throw new PsycheError(
        DISTRO_WIRE_TRUNCATED,
        {
          offset: bytes.length,
          needed: layout.byteLength,
          available: bytes.length,
        },
        `compact result needs ${layout.byteLength} bytes, ${bytes.length} present`
      );
    }
    throw malformed(layout.byteLength, `${bytes.length - layout.byteLength} trailing bytes`);
  }
  const r = new BitReader(bytes.subarray(COMPACT_HEADER_BYTES));
  const parameters: ParameterSelection[] = layout.parameters.map(({ name, layout: chunks, k }) => {
    const n = chunks.numChunks * k;
    const bits = indexBits(chunks);
    const indices = new Uint32Array(n);
    for (let j = 0; j < n; j++) {
      const index = r.read(bits);
      if (index >= chunks.chunkElems) throw new PsycheError(DISTRO_INDEX_OUT_OF_RANGE, { name, index, limit: chunks.chunkElems }, `${name}: index ${index} ≥ ${chunks.chunkElems}`);
      if (j % k > 0 && index <= indices[j - 1]!) throw malformed(COMPACT_HEADER_BYTES, `${name}: indices of chunk ${Math.floor(j / k)} not strictly ascending`);
      indices[j] = index;
    }
    const values = new Float32Array(n);
    for (let j = 0; j < n; j++) {
      let v: number;
      if (layout.encoding === 'sign') v = r.read(1) === 1 ? -1 : 1;
      else if (layout.encoding === 'bf16') v = fromBf16Bits(r.read(16));
      else {
        u32Scratch[0] = r.read(32);
        v = f32Scratch[0]!;
      }
      if (!Number.isFinite(v)) throw new PsycheError(DISTRO_NON_FINITE_VALUE, { name, index: j }, `${name}: value ${j} is not finite`);
      values[j] = v;
    }
    return { name, layout: chunks, k, indices, values };
  });
  if (r.pendingBits !== 0) throw malformed(bytes.length - 1, 'non-zero padding bits');
  return { parameters };
}

/**
 * The only byte lengths decodeResultWithLayout can accept for `layout`: its compact v2 size and the
 * v1 size of the same layout. A node checks a peer's blob ticket against them before fetching, so a
 * hostile announcement cannot make it download (and store) more than a valid result.
 */
export function resultPayloadSizes(layout: ResultLayout): { readonly compact: number; readonly v1: number } {
  return { compact: layout.byteLength, v1: encodedResultSize(layout, layout.encoding) };
}

/**
 * What a node accepts from a peer: compact v2 bytes with this layout's digest, or v1 bytes whose
 * headers and value encoding describe exactly this layout (v1 stays readable). Limits for v1 come
 * from the layout, so no peer can make the decoder allocate more than a valid result needs.
 */
export function decodeResultWithLayout(bytes: Uint8Array, layout: ResultLayout): DistroResult {
  if (bytes.length > WIRE_MAGIC.length && bytes[WIRE_MAGIC.length] === WIRE_VERSION && WIRE_MAGIC.every((b, i) => bytes[i] === b)) {
    const result = decodeDistroResult(bytes, {
      maxParameters: layout.parameters.length,
      maxSelected: layout.selected,
    });
    const encoding = ENCODINGS[bytes[WIRE_MAGIC.length + 1]!];
    if (encoding !== layout.encoding) throw layoutMismatch('', `v1 values are ${String(encoding)}, expected ${layout.encoding}`);
    checkResultLayout(result, layout);
    return result;
  }
  return decodeCompactResult(bytes, layout);
}
