/**
 * One continuous LSB-first bit stream (the convention of `packBits`, without a byte boundary between
 * fields): field j of width w occupies the next w bits, bit b of the stream being bit (b mod 8) of
 * byte ⌊b/8⌋. Fields are 0 to 32 bits wide. The pending accumulator stays below 2^40, so plain
 * float64 arithmetic is exact.
 */
export class BitWriter {
  private readonly out: Uint8Array;
  private offset = 0;
  private acc = 0;
  private accBits = 0;

  constructor(byteLength: number) {
    this.out = new Uint8Array(byteLength);
  }

  write(value: number, bits: number): void {
    if (bits === 0) return;
    this.acc += value * 2 ** this.accBits;
    this.accBits += bits;
    while (this.accBits >= 8) {
      this.out[this.offset++] = this.acc % 256;
      this.acc = Math.floor(this.acc / 256);
      this.accBits -= 8;
    }
  }

  /** The bytes, the last one zero-padded. */
  finish(): Uint8Array {
    if (this.accBits > 0) {
      this.out[this.offset++] = this.acc;
      this.acc = 0;
      this.accBits = 0;
    }
    return this.out;
  }
}

/** Reads what `BitWriter` wrote; the caller checks the length up front (reads past the end give 0 bits). */
export class BitReader {
  private offset = 0;
  private acc = 0;
  private accBits = 0;

  constructor(private readonly bytes: Uint8Array) {}

  read(bits: number): number {
    if (bits === 0) return 0;
    while (this.accBits < bits) {
      this.acc += (this.bytes[this.offset++] ?? 0) * 2 ** this.accBits;
      this.accBits += 8;
    }
    const mask = 2 ** bits;
    const value = this.acc % mask;
    this.acc = Math.floor(this.acc / mask);
    this.accBits -= bits;
    return value;
  }

  /** The unread bits of the current byte (the padding after the last field): must be zero in a canonical stream. */
  get pendingBits(): number {
    return this.acc;
  }
}
