import { assertInteger } from './checks.ts';
import { utf8Encode } from './bytes.ts';
import { sha256 } from './sha256.ts';

/** A seeded, deterministic source of randomness. Never Math.random in protocol code. */
export interface Rng {
  /** Uniform integer in [0, 2^32). */
  nextU32(): number;
  /** Uniform float in [0, 1) with 53 random bits. */
  nextFloat(): number;
  /** Uniform integer in [0, bound), unbiased (rejection sampling); 1 ≤ bound ≤ 2^32. */
  nextInt(bound: number): number;
  /** Standard normal N(0, 1) by the Box–Muller transform. */
  nextGaussian(): number;
  /** An independent generator derived from this one's state and a label (does not advance this one). */
  fork(label: string): Rng;
  /** The 16-byte internal state, for checkpoints. */
  state(): Uint8Array;
}

export type RngSeed = number | bigint | string | Uint8Array;

function seedBytes(seed: RngSeed): Uint8Array {
  if (seed instanceof Uint8Array) return seed;
  if (typeof seed === 'string') return utf8Encode(seed);
  const value = typeof seed === 'number' ? BigInt(assertInteger('seed', seed, Number.MIN_SAFE_INTEGER)) : seed;
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, BigInt.asUintN(64, value), true);
  return out;
}

/**
 * xoshiro128** 1.1 (D. Blackman, S. Vigna, "Scrambled Linear Pseudorandom Number Generators",
 * ACM TOMS 2021; reference C at prng.di.unimi.it/xoshiro128starstar.c): 128-bit state, period 2^128−1,
 * all 32-bit arithmetic so JS computes it exactly. The state is seeded from SHA-256 of the seed's
 * bytes (numbers and bigints as u64 little-endian, strings as UTF-8), which never yields the
 * forbidden all-zero state in practice; it is replaced by a fixed non-zero word if it ever does.
 */
export class Xoshiro128StarStar implements Rng {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;
  private spareGaussian: number | undefined;

  constructor(seed: RngSeed) {
    const digest = seed instanceof Uint8Array && seed.length === 16 ? seed : sha256(seedBytes(seed)).subarray(0, 16);
    const view = new DataView(digest.buffer, digest.byteOffset, 16);
    this.s0 = view.getUint32(0, true);
    this.s1 = view.getUint32(4, true);
    this.s2 = view.getUint32(8, true);
    this.s3 = view.getUint32(12, true);
    if ((this.s0 | this.s1 | this.s2 | this.s3) === 0) this.s0 = 0x9e3779b9;
  }

  nextU32(): number {
    const s0 = this.s0;
    const s1 = this.s1;
    const s2 = this.s2;
    const s3 = this.s3;
    const rotated = Math.imul(s1, 5);
    const result = Math.imul((rotated << 7) | (rotated >>> 25), 9) >>> 0;
    const t = s1 << 9;
    const n2 = s2 ^ s0;
    const n3 = s3 ^ s1;
    this.s1 = s1 ^ n2;
    this.s0 = s0 ^ n3;
    this.s2 = n2 ^ t;
    this.s3 = (n3 << 11) | (n3 >>> 21);
    return result;
  }

  nextFloat(): number {
    const high = this.nextU32() >>> 5; // 27 bits
    const low = this.nextU32() >>> 6; // 26 bits
    return (high * 67108864 + low) / 9007199254740992;
  }

  nextInt(bound: number): number {
    assertInteger('bound', bound, 1, 2 ** 32);
    // Reject the lowest (2^32 mod bound) values so every residue is equally likely.
    const threshold = (2 ** 32 - bound) % bound;
    for (;;) {
      const r = this.nextU32();
      if (r >= threshold) return r % bound;
    }
  }

  nextGaussian(): number {
    if (this.spareGaussian !== undefined) {
      const spare = this.spareGaussian;
      this.spareGaussian = undefined;
      return spare;
    }
    const u1 = 1 - this.nextFloat(); // (0, 1]: log stays finite
    const u2 = this.nextFloat();
    const radius = Math.sqrt(-2 * Math.log(u1));
    this.spareGaussian = radius * Math.sin(2 * Math.PI * u2);
    return radius * Math.cos(2 * Math.PI * u2);
  }

  fork(label: string): Rng {
    return new Xoshiro128StarStar(sha256(this.state(), utf8Encode(label)).subarray(0, 16));
  }

  state(): Uint8Array {
    const out = new Uint8Array(16);
    const view = new DataView(out.buffer);
    view.setUint32(0, this.s0 >>> 0, true);
    view.setUint32(4, this.s1 >>> 0, true);
    view.setUint32(8, this.s2 >>> 0, true);
    view.setUint32(12, this.s3 >>> 0, true);
    return out;
  }
}

/** The SDK's default seeded RNG (xoshiro128**). */
export function createRng(seed: RngSeed): Rng {
  return new Xoshiro128StarStar(seed);
}

/** Fills `out` with N(mean, std²) samples (float32). */
export function fillGaussian(rng: Rng, out: Float32Array, std = 1, mean = 0): Float32Array {
  for (let i = 0; i < out.length; i++) out[i] = mean + std * rng.nextGaussian();
  return out;
}
