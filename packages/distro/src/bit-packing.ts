/**
 * LSB-first bit packing: value j occupies bits [j·bits, (j+1)·bits) of the stream, bit b of the
 * stream being bit (b mod 8) of byte ⌊b/8⌋, least significant bits of each value first. The last
 * byte is zero-padded. 12-bit indices of a 64×64 tile cost 1.5 bytes instead of u16's 2.
 */
export function packedByteLength(count: number, bits: number): number {
  return Math.ceil((count * bits) / 8);
}

export function packBits(values: Uint32Array, bits: number, out: Uint8Array = new Uint8Array(packedByteLength(values.length, bits))): Uint8Array {
  out.fill(0, 0, packedByteLength(values.length, bits));
  if (bits === 0) return out;
  let acc = 0; // pending bits, < 2^(bits+7) ≤ 2^39: exact in a float64
  let accBits = 0;
  let o = 0;
  for (let j = 0; j < values.length; j++) {
    acc += values[j]! * 2 ** accBits;
    accBits += bits;
    while (accBits >= 8) {
      out[o++] = acc % 256;
      acc = Math.floor(acc / 256);
      accBits -= 8;
    }
  }
  if (accBits > 0) out[o] = acc;
  return out;
}

export function unpackBits(bytes: Uint8Array, bits: number, count: number, out: Uint32Array = new Uint32Array(count)): Uint32Array {
  if (bits === 0) return out.fill(0, 0, count);
  const mask = 2 ** bits;
  let acc = 0;
  let accBits = 0;
  let i = 0;
  for (let j = 0; j < count; j++) {
    while (accBits < bits) {
      acc += bytes[i++]! * 2 ** accBits;
      accBits += 8;
    }
    out[j] = acc % mask;
    acc = Math.floor(acc / mask);
    accBits -= bits;
  }
  return out;
}

/** 1 bit per value, bit set when the value is negative (the IEEE sign convention); +0 and −0 read back as +1. */
export function packSigns(values: Float32Array, out: Uint8Array = new Uint8Array(packedByteLength(values.length, 1))): Uint8Array {
  out.fill(0, 0, packedByteLength(values.length, 1));
  for (let j = 0; j < values.length; j++) if (values[j]! < 0) out[j >> 3] = out[j >> 3]! | (1 << (j & 7));
  return out;
}

export function unpackSigns(bytes: Uint8Array, count: number, out: Float32Array = new Float32Array(count)): Float32Array {
  for (let j = 0; j < count; j++) out[j] = (bytes[j >> 3]! >> (j & 7)) & 1 ? -1 : 1;
  return out;
}
