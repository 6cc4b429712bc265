import {
  ByteReader,
  ByteWriter,
  CORE_BYTES_OUT_OF_RANGE,
  DISTRO_INDEX_OUT_OF_RANGE,
  DISTRO_INVALID_CONFIG,
  DISTRO_NON_FINITE_VALUE,
  DISTRO_WIRE_LIMIT_EXCEEDED,
  DISTRO_WIRE_MALFORMED,
  DISTRO_WIRE_TRUNCATED,
  DISTRO_WIRE_UNSUPPORTED_VERSION,
  PsycheError,
  isPsycheError,
  utf8Encode,
  describeValue,
  isWellFormedUtf16,
} from '@psyche/core';
import { fromBf16Bits, toBf16Bits } from './bf16.ts';
import { packBits, packSigns, packedByteLength, unpackBits, unpackSigns } from './bit-packing.ts';
import { type ChunkLayout, indexBits, layoutWithChunks } from './chunk-layout.ts';
import type { DistroResult, ParameterSelection, ValueEncoding } from './distro-result.ts';

/**
 * Wire format v1 of a DistroResult (all integers little-endian):
 *
 *   magic "PSDT" | version u8 = 1 | value encoding u8 (0 f32, 1 bf16, 2 sign) | parameter count u16
 *   per parameter header: name (u16 length + UTF-8, ≤ 1024 bytes) | rank u8 (≤ 8) | dims u32 × rank
 *                         | chunkRows u16 | chunkCols u16 | k u32 (1 ≤ k ≤ chunkRows·chunkCols)
 *   per parameter body:   indices, numChunks·k values of ceil(log2(chunkElems)) bits, LSB-first,
 *                         ascending within each chunk, zero-padded to a byte
 *                         | values: f32 (4 bytes), bf16 (2 bytes) or 1 sign bit each (zero-padded to a byte)
 *
 * The body must end exactly at the end of the buffer. Decoding reads every header first, checks
 * the sizes they imply against the buffer length and the caller's limits, and only then allocates.
 */
export const WIRE_MAGIC = Uint8Array.of(0x50, 0x53, 0x44, 0x54); // "PSDT"
export const WIRE_VERSION = 1;
const ENCODINGS: readonly ValueEncoding[] = ['f32', 'bf16', 'sign'];
const MAX_RANK = 8;
const MAX_NAME_BYTES = 1024;
const MAX_CHUNK = 65535;

export interface WireDecodeLimits {
  /** Most parameters accepted (default 65535). */
  readonly maxParameters?: number;
  /** Most selected coefficients over all parameters (default 2^27: ~1 GiB of decoded arrays). */
  readonly maxSelected?: number;
}

function valueBytes(encoding: ValueEncoding, count: number): number {
  return encoding === 'f32' ? 4 * count : encoding === 'bf16' ? 2 * count : packedByteLength(count, 1);
}

function bodyBytes(layout: ChunkLayout, k: number, encoding: ValueEncoding): number {
  const count = layout.numChunks * k;
  return packedByteLength(count, indexBits(layout)) + valueBytes(encoding, count);
}

/** Exact encoded size, without encoding (only names, layouts and k are read, so a ResultLayout's parameters do too). */
export function encodedResultSize(result: { readonly parameters: readonly Pick<DistroResult['parameters'][number], 'name' | 'layout' | 'k'>[] }, encoding: ValueEncoding): number {
  let size = 8;
  for (const p of result.parameters) {
    size += 2 + utf8Encode(p.name).length + 1 + 4 * p.layout.shape.length + 2 + 2 + 4 + bodyBytes(p.layout, p.k, encoding);
  }
  return size;
}

function malformed(offset: number, reason: string): PsycheError {
  return new PsycheError(DISTRO_WIRE_MALFORMED, { offset, reason }, `malformed DisTrO result at byte ${offset}: ${reason}`);
}

export function encodeDistroResult(result: DistroResult, encoding: ValueEncoding): Uint8Array {
  if (!ENCODINGS.includes(encoding)) throw malformed(0, `unknown value encoding ${describeValue(encoding)}`);
  if (result.parameters.length > 0xffff) throw malformed(0, 'more than 65535 parameters');
  const size = encodedResultSize(result, encoding);
  const w = new ByteWriter(size, size);
  w.bytes(WIRE_MAGIC).u8(WIRE_VERSION).u8(ENCODINGS.indexOf(encoding)).u16(result.parameters.length);
  for (const p of result.parameters) {
    const { layout } = p;
    if (utf8Encode(p.name).length > MAX_NAME_BYTES) throw malformed(w.byteLength, `name longer than ${MAX_NAME_BYTES} bytes`);
    // UTF-8 would carry a lone surrogate as U+FFFD: the receiver would see another parameter's name.
    if (!isWellFormedUtf16(p.name)) throw malformed(w.byteLength, 'name has a lone surrogate');
    if (layout.shape.length > MAX_RANK) throw malformed(w.byteLength, `rank above ${MAX_RANK}`);
    w.shortString(p.name).u8(layout.shape.length);
    for (const d of layout.shape) w.u32(d);
    w.u16(layout.chunkRows).u16(layout.chunkCols).u32(p.k);
  }
  for (const p of result.parameters) {
    w.bytes(packBits(p.indices, indexBits(p.layout)));
    if (encoding === 'sign') w.bytes(packSigns(p.values));
    else if (encoding === 'bf16') for (const v of p.values) w.u16(toBf16Bits(v));
    else for (const v of p.values) w.f32(v);
  }
  return w.finish();
}

/** The bits after the last field of a packed stream must be zero, so every result has exactly one encoding (as in v2). */
function assertZeroPadding(packed: Uint8Array, usedBits: number, at: number, what: string): void {
  const tailBits = usedBits % 8;
  if (tailBits !== 0 && packed[packed.length - 1]! >> tailBits !== 0) throw malformed(at + packed.length - 1, `${what} padding bits are not zero`);
}

interface ParsedHeader {
  name: string;
  layout: ChunkLayout;
  k: number;
}

/** Decodes and fully validates bytes from the network. Every failure is a PsycheError (DISTRO_WIRE_*). */
export function decodeDistroResult(bytes: Uint8Array, limits: WireDecodeLimits = {}): DistroResult {
  const maxParameters = limits.maxParameters ?? 0xffff;
  const maxSelected = limits.maxSelected ?? 2 ** 27;
  // A NaN limit would compare false and switch the check off.
  for (const [field, value] of [['maxParameters', maxParameters], ['maxSelected', maxSelected]] as const) {
    if (!Number.isSafeInteger(value) || value < 0) {
      throw new PsycheError(DISTRO_INVALID_CONFIG, { field, value: describeValue(value), expected: 'non-negative integer' }, `decode limit ${field} must be a non-negative integer, got ${describeValue(value)}`);
    }
  }
  const r = new ByteReader(bytes);
  try {
    const magic = r.bytes(4);
    if (magic.some((b, i) => b !== WIRE_MAGIC[i])) throw malformed(0, 'bad magic');
    const version = r.u8();
    if (version !== WIRE_VERSION) {
      throw new PsycheError(DISTRO_WIRE_UNSUPPORTED_VERSION, { version, supported: WIRE_VERSION }, `wire version ${version} unsupported (this build reads ${WIRE_VERSION})`);
    }
    const encodingByte = r.u8();
    const encoding = ENCODINGS[encodingByte];
    if (encoding === undefined) throw malformed(5, `unknown value encoding ${encodingByte}`);
    const count = r.u16();
    if (count > maxParameters) {
      throw new PsycheError(DISTRO_WIRE_LIMIT_EXCEEDED, { what: 'parameters', requested: count, limit: maxParameters }, `${count} parameters exceed the limit ${maxParameters}`);
    }
    const headers: ParsedHeader[] = [];
    const names = new Set<string>();
    let selected = 0;
    let body = 0;
    for (let i = 0; i < count; i++) {
      const at = r.offset;
      const name = r.shortString();
      if (name.length === 0 || names.has(name)) throw malformed(at, `empty or duplicate parameter name`);
      names.add(name);
      const rank = r.u8();
      if (rank > MAX_RANK) throw malformed(at, `rank ${rank} above ${MAX_RANK}`);
      const shape: number[] = [];
      let elements = 1;
      for (let d = 0; d < rank; d++) {
        const dim = r.u32();
        if (dim === 0) throw malformed(r.offset - 4, 'zero dimension');
        shape.push(dim);
        elements *= dim;
      }
      if (elements > 2 ** 31) throw malformed(at, `tensor of ${elements} elements`);
      const chunkRows = r.u16();
      const chunkCols = r.u16();
      if (chunkRows === 0 || chunkCols === 0 || chunkRows > MAX_CHUNK || chunkCols > MAX_CHUNK) throw malformed(r.offset - 4, 'zero chunk');
      let layout: ChunkLayout;
      try {
        layout = layoutWithChunks(shape, chunkRows, chunkCols);
      } catch {
        throw malformed(r.offset - 4, `chunk ${chunkRows}×${chunkCols} does not tile shape ${JSON.stringify(shape)}`);
      }
      const k = r.u32();
      if (k < 1 || k > layout.chunkElems) throw malformed(r.offset - 4, `k=${k} outside [1, ${layout.chunkElems}]`);
      selected += layout.numChunks * k;
      if (selected > maxSelected) {
        throw new PsycheError(DISTRO_WIRE_LIMIT_EXCEEDED, { what: 'selected coefficients', requested: selected, limit: maxSelected }, `result selects ${selected} coefficients, limit ${maxSelected}`);
      }
      body += bodyBytes(layout, k, encoding);
      headers.push({ name, layout, k });
    }
    if (body !== r.remaining) {
      if (body > r.remaining) {
        throw new PsycheError(DISTRO_WIRE_TRUNCATED, { offset: r.offset, needed: body, available: r.remaining }, `body needs ${body} bytes, ${r.remaining} present`);
      }
      throw malformed(r.offset + body, `${r.remaining - body} trailing bytes`);
    }
    const parameters: ParameterSelection[] = headers.map(({ name, layout, k }) => {
      const n = layout.numChunks * k;
      const bits = indexBits(layout);
      const indicesAt = r.offset;
      const indexBytes = r.bytes(packedByteLength(n, bits));
      assertZeroPadding(indexBytes, n * bits, indicesAt, `${name}: index`);
      const indices = unpackBits(indexBytes, bits, n);
      for (let c = 0; c < layout.numChunks; c++) {
        for (let j = 0; j < k; j++) {
          const index = indices[c * k + j]!;
          if (index >= layout.chunkElems) {
            throw new PsycheError(DISTRO_INDEX_OUT_OF_RANGE, { name, index, limit: layout.chunkElems }, `${name}: index ${index} ≥ ${layout.chunkElems}`);
          }
          if (j > 0 && index <= indices[c * k + j - 1]!) throw malformed(indicesAt, `${name}: indices of chunk ${c} not strictly ascending`);
        }
      }
      let values: Float32Array;
      if (encoding === 'sign') {
        const signsAt = r.offset;
        const signBytes = r.bytes(packedByteLength(n, 1));
        assertZeroPadding(signBytes, n, signsAt, `${name}: sign`);
        values = unpackSigns(signBytes, n);
      } else {
        values = new Float32Array(n);
        for (let j = 0; j < n; j++) {
          const v = encoding === 'bf16' ? fromBf16Bits(r.u16()) : r.f32();
          if (!Number.isFinite(v)) throw new PsycheError(DISTRO_NON_FINITE_VALUE, { name, index: j }, `${name}: value ${j} is not finite`);
          values[j] = v;
        }
      }
      return { name, layout, k, indices, values };
    });
    r.expectEnd();
    return { parameters };
  } catch (e) {
    if (isPsycheError(e) && e.code >= 2000 && e.code < 3000) throw e;
    if (isPsycheError(e, CORE_BYTES_OUT_OF_RANGE)) {
      throw new PsycheError(DISTRO_WIRE_TRUNCATED, e.context, `truncated DisTrO result: ${e.message}`);
    }
    if (isPsycheError(e)) throw malformed(r.offset, e.message); // e.g. malformed UTF-8 in a name
    throw e;
  }
}
