import { describe, expect, it } from 'vitest';
import { ByteWriter, CORE_INTEGER_OUT_OF_RANGE, CORE_INVALID_ARGUMENT, psycheErrorCodeOf } from '../index.ts';

// {toString: null} (as JSON.parse makes it) and a symbol: String(), a template literal, `<` or
// setFloat32 on either throws a TypeError; every encoder built on ByteWriter passed that on.
const hostile = [{ toString: null }, Symbol('s')] as unknown[];

describe('ByteWriter with values of the wrong type from a JS caller', () => {
  it('integers are CORE_INTEGER_OUT_OF_RANGE, other fields CORE_INVALID_ARGUMENT, never a TypeError', () => {
    for (const bad of hostile) {
      const w = new ByteWriter();
      for (const write of [() => w.u8(bad as number), () => w.u16(bad as number), () => w.u32(bad as number), () => w.u64(bad as bigint)]) {
        expect(psycheErrorCodeOf(write)).toBe(CORE_INTEGER_OUT_OF_RANGE);
      }
      for (const write of [() => w.f32(bad as number), () => w.f64(bad as number), () => w.bytes(bad as Uint8Array), () => w.bytes({ length: bad } as unknown as Uint8Array), () => w.shortString(bad as string)]) {
        expect(psycheErrorCodeOf(write)).toBe(CORE_INVALID_ARGUMENT);
      }
      expect(w.byteLength).toBe(0); // nothing written by a rejected call
    }
    // A number where a bigint belongs passed `5 < 0n` and then threw a TypeError in setBigUint64.
    expect(psycheErrorCodeOf(() => new ByteWriter().u64(5 as unknown as bigint))).toBe(CORE_INTEGER_OUT_OF_RANGE);
  });

  it('still writes what it always wrote, NaN and infinities included', () => {
    const bytes = new ByteWriter().u8(1).u64(2n).f32(Number.NaN).f64(-Infinity).bytes(Uint8Array.of(9)).shortString('hi').finish();
    expect(bytes.length).toBe(1 + 8 + 4 + 8 + 1 + 2 + 2);
  });
});
