import { MODELING_INVALID_CONFIG, MODELING_SAFETENSORS_LIMIT_EXCEEDED, MODELING_SAFETENSORS_MALFORMED, PsycheError, describeShape, describeValue } from '@psyche/core';

/**
 * safetensors (https://github.com/huggingface/safetensors, format section): an 8-byte little-endian
 * header length N, N bytes of JSON {name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__"?},
 * then the data; offsets are relative to the data start, tensors must tile the data exactly.
 */
export type SafetensorsDType = 'F64' | 'F32' | 'F16' | 'BF16' | 'I64' | 'I32' | 'I16' | 'I8' | 'U8' | 'BOOL';

const DTYPE_SIZE: Readonly<Record<SafetensorsDType, number>> = { F64: 8, F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4, I16: 2, I8: 1, U8: 1, BOOL: 1 };

export interface SafetensorsTensor {
  readonly dtype: SafetensorsDType;
  readonly shape: readonly number[];
  /** Little-endian bytes (a view into the file buffer when read). */
  readonly bytes: Uint8Array;
}

export interface SafetensorsFile {
  readonly tensors: ReadonlyMap<string, SafetensorsTensor>;
  readonly metadata: Readonly<Record<string, string>>;
}

export interface SafetensorsLimits {
  /** Largest header accepted (the reference implementation's limit: 100 MB). */
  readonly maxHeaderBytes?: number;
  readonly maxTensors?: number;
}

function malformed(offset: number, reason: string): never {
  throw new PsycheError(MODELING_SAFETENSORS_MALFORMED, { offset, reason }, `malformed safetensors: ${reason}`);
}

function isDType(x: unknown): x is SafetensorsDType {
  return typeof x === 'string' && Object.hasOwn(DTYPE_SIZE, x);
}

/** Parses a safetensors buffer; every malformation is a MODELING_SAFETENSORS_MALFORMED error, never a crash. */
export function decodeSafetensors(buffer: Uint8Array, limits: SafetensorsLimits = {}): SafetensorsFile {
  const maxHeader = limits.maxHeaderBytes ?? 100_000_000;
  const maxTensors = limits.maxTensors ?? 1_000_000;
  // A NaN limit would compare false and switch the check off (or make BigInt() throw a RangeError).
  for (const [field, value] of [['maxHeaderBytes', maxHeader], ['maxTensors', maxTensors]] as const) {
    if (!Number.isSafeInteger(value) || value < 0) {
      throw new PsycheError(MODELING_INVALID_CONFIG, { field, value: describeValue(value), expected: 'non-negative integer' }, `safetensors limit ${field} must be a non-negative integer, got ${describeValue(value)}`);
    }
  }
  if (buffer.length < 8) malformed(0, `file of ${buffer.length} bytes is shorter than the 8-byte header length`);
  const view = new DataView(buffer.buffer, buffer.byteOffset, buffer.byteLength);
  const headerLen = view.getBigUint64(0, true);
  if (headerLen > BigInt(maxHeader)) {
    throw new PsycheError(MODELING_SAFETENSORS_LIMIT_EXCEEDED, { what: 'header bytes', requested: Number(headerLen), limit: maxHeader }, `safetensors header of ${headerLen} bytes exceeds ${maxHeader}`);
  }
  const n = Number(headerLen);
  if (8 + n > buffer.length) malformed(0, `header length ${n} runs past the end of a ${buffer.length}-byte file`);
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(buffer.subarray(8, 8 + n)));
  } catch {
    malformed(8, 'header is not UTF-8 JSON');
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) malformed(8, 'header is not a JSON object');
  const dataStart = 8 + n;
  const dataLen = buffer.length - dataStart;
  const entries: [string, SafetensorsDType, number[], number, number][] = [];
  let metadata: Record<string, string> = {};
  for (const [name, raw] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (typeof raw !== 'object' || raw === null || Array.isArray(raw) || !Object.values(raw).every((v) => typeof v === 'string')) malformed(8, '__metadata__ must map strings to strings');
      metadata = { ...(raw as Record<string, string>) };
      continue;
    }
    if (entries.length >= maxTensors) {
      throw new PsycheError(MODELING_SAFETENSORS_LIMIT_EXCEEDED, { what: 'tensors', requested: entries.length + 1, limit: maxTensors }, `more than ${maxTensors} tensors`);
    }
    if (typeof raw !== 'object' || raw === null) malformed(8, `entry ${name} is not an object`);
    const { dtype, shape, data_offsets: offsets } = raw as Record<string, unknown>;
    // describeValue, not JSON.stringify: arrays nested a few thousand deep overflow the stack there.
    if (!isDType(dtype)) malformed(8, `entry ${name}: unknown dtype ${describeValue(dtype)}`);
    if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) malformed(8, `entry ${name}: shape must be non-negative integers`);
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o) => Number.isSafeInteger(o) && o >= 0)) malformed(8, `entry ${name}: data_offsets must be two non-negative integers`);
    const [begin, end] = offsets as [number, number];
    if (begin > end || end > dataLen) malformed(dataStart + begin, `entry ${name}: data_offsets [${begin}, ${end}] outside the ${dataLen}-byte data`);
    let elems = 1;
    // A zero dimension anywhere makes an empty tensor, however large the others ([100, 0] is valid).
    if ((shape as number[]).includes(0)) elems = 0;
    else {
      for (const d of shape as number[]) {
        elems *= d; // stops before the product can leave the safe integers
        if (elems > dataLen) malformed(8, `entry ${name}: shape ${describeShape(shape)} is larger than the data`);
      }
    }
    if (elems * DTYPE_SIZE[dtype] !== end - begin) malformed(dataStart + begin, `entry ${name}: ${end - begin} bytes for ${elems} ${dtype} elements`);
    entries.push([name, dtype, shape as number[], begin, end]);
  }
  // Tensors must tile the data exactly: no gaps, no overlaps (as the reference implementation checks).
  const sorted = [...entries].sort((a, b) => a[3] - b[3] || a[4] - b[4]);
  let cursor = 0;
  for (const [name, , , begin, end] of sorted) {
    if (begin !== cursor) malformed(dataStart + begin, `entry ${name} starts at ${begin}, expected ${cursor} (gap or overlap)`);
    cursor = end;
  }
  if (cursor !== dataLen) malformed(dataStart + cursor, `${dataLen - cursor} trailing bytes not covered by any tensor`);
  const tensors = new Map<string, SafetensorsTensor>();
  for (const [name, dtype, shape, begin, end] of entries) tensors.set(name, { dtype, shape, bytes: buffer.subarray(dataStart + begin, dataStart + end) });
  return { tensors, metadata };
}

/** Serializes tensors (in the given order) with an 8-byte-aligned, space-padded header. */
export function encodeSafetensors(tensors: Iterable<[string, SafetensorsTensor]>, metadata: Record<string, string> = {}): Uint8Array {
  // Entries, not `header[name] = …`: that assignment with a tensor named "__proto__" (a name
  // decodeSafetensors accepts) set the object's prototype, so the tensor was left out of the header.
  const entries: [string, unknown][] = [];
  if (Object.keys(metadata).length > 0) entries.push(['__metadata__', metadata]);
  const names = new Set<string>();
  const list = [...tensors];
  let offset = 0;
  for (const [name, t] of list) {
    // Types first, then describeValue/describeShape: a JS caller's name, dtype or shape can be anything, and the
    // template literal or JSON.stringify printing it threw a TypeError (a symbol, [1n]) or a RangeError (an array nested 6,000 deep).
    if (typeof name !== 'string') malformed(0, `tensor name ${describeValue(name)} is not a string`);
    if (!isDType(t.dtype)) malformed(0, `tensor ${name}: unknown dtype ${describeValue(t.dtype)}`);
    if (!Array.isArray(t.shape) || !t.shape.every((d) => Number.isSafeInteger(d) && d >= 0)) malformed(0, `tensor ${name}: shape ${describeShape(t.shape)} is not non-negative integers`);
    // A repeated name (or one named like the metadata) would keep one header entry for two tensors' bytes.
    if (name === '__metadata__' || names.has(name)) malformed(0, `tensor name ${JSON.stringify(name.slice(0, 80))} is ${name === '__metadata__' ? 'reserved' : 'repeated'}`);
    names.add(name);
    const elems = t.shape.reduce((a, b) => a * b, 1);
    if (!(t.bytes instanceof Uint8Array) || elems * DTYPE_SIZE[t.dtype] !== t.bytes.length) {
      malformed(0, `tensor ${name}: ${describeValue((t.bytes as { length?: unknown } | null | undefined)?.length)} bytes for shape ${describeShape(t.shape)} ${t.dtype}`);
    }
    entries.push([name, { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + t.bytes.length] }]);
    offset += t.bytes.length;
  }
  let json = JSON.stringify(Object.fromEntries(entries));
  json += ' '.repeat((8 - (json.length % 8)) % 8);
  const headerBytes = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + headerBytes.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerBytes.length), true);
  out.set(headerBytes, 8);
  let p = 8 + headerBytes.length;
  for (const [, t] of list) {
    out.set(t.bytes, p);
    p += t.bytes.length;
  }
  return out;
}

/** A float tensor as float32 (F32 copied, F64 / F16 / BF16 converted); other dtypes are an error. */
export function safetensorToFloat32(name: string, t: SafetensorsTensor): Float32Array {
  const b = t.bytes;
  const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const n = b.length / DTYPE_SIZE[t.dtype];
  const out = new Float32Array(n);
  switch (t.dtype) {
    case 'F32':
      for (let i = 0; i < n; i++) out[i] = view.getFloat32(i * 4, true);
      return out;
    case 'F64':
      for (let i = 0; i < n; i++) out[i] = view.getFloat64(i * 8, true);
      return out;
    case 'BF16': {
      const u = new Uint32Array(out.buffer);
      for (let i = 0; i < n; i++) u[i] = view.getUint16(i * 2, true) << 16;
      return out;
    }
    case 'F16':
      for (let i = 0; i < n; i++) out[i] = halfToFloat(view.getUint16(i * 2, true));
      return out;
    default:
      return malformed(0, `tensor ${name} has dtype ${t.dtype}, expected a float type`);
  }
}

function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 31) return frac ? NaN : sign * Infinity;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

export function float32Safetensor(data: Float32Array, shape: readonly number[]): SafetensorsTensor {
  return { dtype: 'F32', shape: [...shape], bytes: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) };
}
