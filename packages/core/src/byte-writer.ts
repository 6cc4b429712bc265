import { CORE_ALLOCATION_LIMIT_EXCEEDED, CORE_INTEGER_OUT_OF_RANGE, CORE_INVALID_ARGUMENT } from './codes/core.ts';
import { PsycheError } from './psyche-error.ts';
import { isWellFormedUtf16, utf8Encode } from './bytes.ts';
import { assertBytes, assertInteger } from './checks.ts';
import { describeValue } from './describe-value.ts';

// describeValue, not String(value): a rejected {toString: null} made String() throw a TypeError.
function integerRange(value: unknown, min: number | bigint, max: number | bigint): never {
  throw new PsycheError(
    CORE_INTEGER_OUT_OF_RANGE,
    { value: describeValue(value), min: String(min), max: String(max) },
    `integer ${describeValue(value)} outside [${String(min)}, ${String(max)}]`,
  );
}

/** typeof first: setFloat32 of a symbol or {toString: null} throws a TypeError. NaN and ±Infinity are numbers and are written. */
function assertNumber(argument: string, value: unknown): void {
  if (typeof value !== 'number') {
    throw new PsycheError(CORE_INVALID_ARGUMENT, { argument, expected: 'a number', received: describeValue(value) }, `${argument}: expected a number, got ${describeValue(value)}`);
  }
}

/**
 * Growable little-endian writer. `maxBytes` bounds what it may ever allocate, so encoding a hostile
 * or mistaken structure fails with CORE_ALLOCATION_LIMIT_EXCEEDED instead of exhausting memory.
 */
export class ByteWriter {
  private buffer: Uint8Array;
  private view: DataView;
  private length = 0;
  readonly maxBytes: number;

  constructor(initialCapacity = 256, maxBytes = 2 ** 31) {
    // A NaN limit would make every `needed > maxBytes` false: the writer would grow without bound.
    assertInteger('initialCapacity', initialCapacity);
    this.maxBytes = assertInteger('maxBytes', maxBytes);
    this.buffer = new Uint8Array(Math.min(Math.max(initialCapacity, 16), maxBytes));
    this.view = new DataView(this.buffer.buffer);
  }

  get byteLength(): number {
    return this.length;
  }

  private reserve(extra: number): number {
    const needed = this.length + extra;
    if (needed > this.maxBytes) {
      throw new PsycheError(
        CORE_ALLOCATION_LIMIT_EXCEEDED,
        { requested: needed, limit: this.maxBytes },
        `writer would grow to ${needed} bytes, limit ${this.maxBytes}`,
      );
    }
    if (needed > this.buffer.length) {
      const grown = new Uint8Array(Math.min(this.maxBytes, Math.max(needed, this.buffer.length * 2)));
      grown.set(this.buffer.subarray(0, this.length));
      this.buffer = grown;
      this.view = new DataView(grown.buffer);
    }
    const at = this.length;
    this.length = needed;
    return at;
  }

  u8(value: number): this {
    if (!Number.isInteger(value) || value < 0 || value > 0xff) integerRange(value, 0, 0xff);
    const at = this.reserve(1);
    this.buffer[at] = value;
    return this;
  }

  u16(value: number): this {
    if (!Number.isInteger(value) || value < 0 || value > 0xffff) integerRange(value, 0, 0xffff);
    const at = this.reserve(2);
    this.view.setUint16(at, value, true);
    return this;
  }

  u32(value: number): this {
    if (!Number.isInteger(value) || value < 0 || value > 0xffffffff) integerRange(value, 0, 0xffffffff);
    const at = this.reserve(4);
    this.view.setUint32(at, value, true);
    return this;
  }

  u64(value: bigint): this {
    // typeof first: `value < 0n` on a symbol or {toString: null} throws a TypeError.
    if (typeof value !== 'bigint' || value < 0n || value > 0xffffffffffffffffn) integerRange(value, 0n, 0xffffffffffffffffn);
    const at = this.reserve(8);
    this.view.setBigUint64(at, value, true);
    return this;
  }

  f32(value: number): this {
    assertNumber('f32', value);
    const at = this.reserve(4);
    this.view.setFloat32(at, value, true);
    return this;
  }

  f64(value: number): this {
    assertNumber('f64', value);
    const at = this.reserve(8);
    this.view.setFloat64(at, value, true);
    return this;
  }

  bytes(value: Uint8Array): this {
    assertBytes('bytes', value);
    const at = this.reserve(value.length);
    this.buffer.set(value, at);
    return this;
  }

  /** u32 byte length, then the bytes. */
  lengthPrefixedBytes(value: Uint8Array): this {
    return this.u32(value.length).bytes(value);
  }

  /** u16 byte length, then UTF-8. A lone surrogate is refused: it would decode as U+FFFD, another string. */
  shortString(value: string): this {
    if (typeof value !== 'string') {
      throw new PsycheError(CORE_INVALID_ARGUMENT, { argument: 'shortString', expected: 'a string', received: describeValue(value) }, `shortString: expected a string, got ${describeValue(value)}`);
    }
    if (!isWellFormedUtf16(value)) {
      throw new PsycheError(CORE_INVALID_ARGUMENT, { argument: 'shortString', expected: 'well-formed UTF-16 (no lone surrogate)', received: 'a lone surrogate' }, 'shortString: a lone surrogate cannot be encoded as UTF-8');
    }
    const encoded = utf8Encode(value);
    return this.u16(encoded.length).bytes(encoded);
  }

  /** A copy of what was written, trimmed to length. */
  finish(): Uint8Array {
    return this.buffer.slice(0, this.length);
  }
}
