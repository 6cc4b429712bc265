import { CORE_ALLOCATION_LIMIT_EXCEEDED, CORE_BYTES_OUT_OF_RANGE } from './codes/core.ts';
import { PsycheError } from './psyche-error.ts';
import { utf8Decode } from './bytes.ts';

/**
 * Bounds-checked little-endian reader over untrusted bytes. Every read past the end throws
 * CORE_BYTES_OUT_OF_RANGE with the offset; `bytes()` returns views (no copies, no allocation).
 */
export class ByteReader {
  private readonly source: Uint8Array;
  private readonly view: DataView;
  private position = 0;

  constructor(source: Uint8Array) {
    this.source = source;
    this.view = new DataView(source.buffer, source.byteOffset, source.byteLength);
  }

  get offset(): number {
    return this.position;
  }

  get remaining(): number {
    return this.source.length - this.position;
  }

  private take(count: number): number {
    if (!Number.isInteger(count) || count < 0 || count > this.remaining) {
      throw new PsycheError(
        CORE_BYTES_OUT_OF_RANGE,
        { offset: this.position, needed: count, available: this.remaining },
        `need ${count} bytes at offset ${this.position}, ${this.remaining} left`,
      );
    }
    const at = this.position;
    this.position += count;
    return at;
  }

  u8(): number {
    return this.view.getUint8(this.take(1));
  }

  u16(): number {
    return this.view.getUint16(this.take(2), true);
  }

  u32(): number {
    return this.view.getUint32(this.take(4), true);
  }

  u64(): bigint {
    return this.view.getBigUint64(this.take(8), true);
  }

  f32(): number {
    return this.view.getFloat32(this.take(4), true);
  }

  f64(): number {
    return this.view.getFloat64(this.take(8), true);
  }

  bytes(count: number): Uint8Array {
    const at = this.take(count);
    return this.source.subarray(at, at + count);
  }

  /** Reads a u32 length then that many bytes; a length above `maxLength` throws before anything is read. */
  lengthPrefixedBytes(maxLength = this.remaining): Uint8Array {
    const start = this.position;
    const length = this.u32();
    if (length > maxLength) {
      this.position = start;
      throw new PsycheError(
        CORE_ALLOCATION_LIMIT_EXCEEDED,
        { requested: length, limit: maxLength },
        `length prefix ${length} exceeds limit ${maxLength}`,
      );
    }
    return this.bytes(length);
  }

  shortString(): string {
    const length = this.u16();
    const at = this.position;
    return utf8Decode(this.bytes(length), at, true);
  }

  /** Throws CORE_BYTES_OUT_OF_RANGE when unread bytes remain (trailing garbage). */
  expectEnd(): void {
    if (this.remaining !== 0) {
      throw new PsycheError(
        CORE_BYTES_OUT_OF_RANGE,
        { offset: this.position, needed: 0, available: this.remaining },
        `${this.remaining} trailing bytes at offset ${this.position}`,
      );
    }
  }
}
