import bloomFilters from 'bloom-filters';
import {
  assertBytes,
  PsycheError,
  sha256,
  VERIFY_BLOOM_PARAMETER_OUT_OF_RANGE,
  VERIFY_MALFORMED_BLOOM,
  describeValue,
} from '@psyche/core';

// bloom-filters is CommonJS: node exposes it to ESM as one default export.
const { BloomFilter, Hashing } = bloomFilters;
type PackageBloomFilter = InstanceType<typeof BloomFilter>;

/** Encoding version written in byte 0. */
export const BLOOM_ENCODING_VERSION = 1;
/** version u8 ‖ hashCount u8 ‖ bitCount u32 LE ‖ seed u64 LE. */
export const BLOOM_HEADER_LENGTH = 14;
export const BLOOM_MIN_BITS = 8;
/** 2^24 bits = 2 MiB: far above any witness filter (256 members at 1% need 2,454 bits), small enough that index math stays exact in doubles. */
export const BLOOM_MAX_BITS = 2 ** 24;
export const BLOOM_MAX_HASHES = 32;
export const BLOOM_MAX_EXPECTED_ITEMS = 2 ** 20;
export const DEFAULT_BLOOM_FALSE_POSITIVE_RATE = 0.01;

export interface BloomParameters {
  readonly bitCount: number;
  readonly hashCount: number;
}

function parameterError(field: string, value: unknown, expected: string): PsycheError {
  return new PsycheError(
    VERIFY_BLOOM_PARAMETER_OUT_OF_RANGE,
    { field, value: describeValue(value), expected },
    `${field}: expected ${expected}, got ${describeValue(value)}`,
  );
}

function assertU64(field: string, value: bigint): bigint {
  if (typeof value !== 'bigint' || value < 0n || value > 0xffff_ffff_ffff_ffffn) {
    throw parameterError(field, value, 'bigint in [0, 2^64)');
  }
  return value;
}

function assertBloomShape(bitCount: number, hashCount: number): void {
  if (!Number.isInteger(bitCount) || bitCount < BLOOM_MIN_BITS || bitCount > BLOOM_MAX_BITS) {
    throw parameterError('bitCount', bitCount, `integer in [${BLOOM_MIN_BITS}, ${BLOOM_MAX_BITS}]`);
  }
  if (!Number.isInteger(hashCount) || hashCount < 1 || hashCount > BLOOM_MAX_HASHES) {
    throw parameterError('hashCount', hashCount, `integer in [1, ${BLOOM_MAX_HASHES}]`);
  }
}

/**
 * Size and hash count for `expectedItems` members at `falsePositiveRate`, from bloom-filters' own
 * formulas (m = ⌈−n·ln p / ln²2⌉, k = ⌈(m/n)·ln 2⌉): 256 members at 1% → 2,454 bits, 7 hashes.
 */
export function bloomParameters(
  expectedItems: number,
  falsePositiveRate: number = DEFAULT_BLOOM_FALSE_POSITIVE_RATE,
): BloomParameters {
  if (!Number.isInteger(expectedItems) || expectedItems < 1 || expectedItems > BLOOM_MAX_EXPECTED_ITEMS) {
    throw parameterError('expectedItems', expectedItems, `integer in [1, ${BLOOM_MAX_EXPECTED_ITEMS}]`);
  }
  if (typeof falsePositiveRate !== 'number' || !(falsePositiveRate >= 1e-9 && falsePositiveRate <= 0.5)) {
    throw parameterError('falsePositiveRate', falsePositiveRate, 'number in [1e-9, 0.5]');
  }
  const sized = BloomFilter.create(expectedItems, falsePositiveRate);
  const bitCount = Math.max(BLOOM_MIN_BITS, sized.size);
  const hashCount = Math.min(BLOOM_MAX_HASHES, Math.max(1, sized._nbHashes));
  assertBloomShape(bitCount, hashCount);
  return { bitCount, hashCount };
}

function seedBytes(seed: bigint): Uint8Array {
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, seed, true);
  return out;
}

/** (hi·2^32 + lo) mod m, exact in doubles for m ≤ 2^24 (every product stays below 2^53). */
function u64Mod(lo: number, hi: number, m: number): number {
  return ((hi % m) * (4294967296 % m) + lo) % m;
}

/**
 * The membership function, fully specified so the on-chain C program computes the same bits
 * (docs/verify.md §Bloom): d = SHA-256(seed u64 LE ‖ item); h1 = u64 LE of d[0..8],
 * h2 = u64 LE of d[8..16]; a = h1 mod m; b = 1 + (h2 mod (m − 1)); index_i = (a + i·b) mod m
 * for i = 0..k−1 (Kirsch–Mitzenmacher double hashing; b ≠ 0 so the k probes never all coincide).
 */
export function bloomIndices(item: Uint8Array, bitCount: number, hashCount: number, seed: bigint): Uint32Array {
  assertBytes('item', item);
  assertBloomShape(bitCount, hashCount);
  const digest = sha256(seedBytes(assertU64('seed', seed)), item);
  const view = new DataView(digest.buffer, digest.byteOffset, 16);
  const a = u64Mod(view.getUint32(0, true), view.getUint32(4, true), bitCount);
  const b = 1 + u64Mod(view.getUint32(8, true), view.getUint32(12, true), bitCount - 1);
  const out = new Uint32Array(hashCount);
  for (let i = 0; i < hashCount; i++) out[i] = (a + i * b) % bitCount;
  return out;
}

/** The same function in BigInt u64 arithmetic, line by line the spec: the reference the fast path is tested against. */
export function bloomIndicesReference(item: Uint8Array, bitCount: number, hashCount: number, seed: bigint): bigint[] {
  const digest = sha256(seedBytes(seed), item);
  const view = new DataView(digest.buffer, digest.byteOffset, 16);
  const m = BigInt(bitCount);
  const a = view.getBigUint64(0, true) % m;
  const b = 1n + (view.getBigUint64(8, true) % (m - 1n));
  return Array.from({ length: hashCount }, (_, i) => (a + BigInt(i) * b) % m);
}

/** Plugs the specified SHA-256 index function into bloom-filters in place of its xxhash-based one. */
class Sha256DoubleHashing extends Hashing {
  constructor(private readonly seed: bigint) {
    super();
  }

  override getIndexes(element: unknown, size: number, hashCount: number): number[] {
    return Array.from(bloomIndices(element as Uint8Array, size, hashCount, this.seed));
  }
}

/** Options of {@link createWitnessBloom}. */
export interface WitnessBloomOptions {
  /** How many members the filter is sized for (e.g. the run's client count). */
  readonly expectedItems: number;
  /** Target false-positive rate at `expectedItems` members; 1% by default. */
  readonly falsePositiveRate?: number;
  /** u64 that salts every index (e.g. the first 8 bytes of the round seed, little-endian). */
  readonly seed: bigint;
}

/**
 * A witness's Bloom filter (participants, or data hashes of accepted payloads): bloom-filters'
 * BloomFilter and BitSet hold the bits, sized by its formulas; the index function is ours
 * ({@link bloomIndices}) because the package's xxhash64 → double conversion cannot be reproduced
 * bit-exactly in C. Bit i lives in byte ⌊i/8⌋ under mask 1 << (i mod 8) (LSB-first), exactly
 * bloom-filters' BitSet layout, so the encoding is its byte array as is.
 */
export class WitnessBloom {
  private readonly filter: PackageBloomFilter;

  private constructor(
    readonly bitCount: number,
    readonly hashCount: number,
    readonly seed: bigint,
  ) {
    assertBloomShape(bitCount, hashCount);
    assertU64('seed', seed);
    this.filter = new BloomFilter(bitCount, hashCount);
    this.filter._hashing = new Sha256DoubleHashing(seed);
  }

  static withParameters(parameters: BloomParameters, seed: bigint): WitnessBloom {
    return new WitnessBloom(parameters.bitCount, parameters.hashCount, seed);
  }

  add(item: Uint8Array): this {
    this.filter.add(Buffer.from(item.buffer, item.byteOffset, item.byteLength));
    return this;
  }

  has(item: Uint8Array): boolean {
    return this.filter.has(Buffer.from(item.buffer, item.byteOffset, item.byteLength));
  }

  /** Number of set bits. */
  get setBits(): number {
    return this.filter.length;
  }

  /** The package's estimate (1 − e^(−setBits/m))^k of the current false-positive rate. */
  estimatedFalsePositiveRate(): number {
    return this.filter.rate();
  }

  /** The bit array, ⌈m/8⌉ bytes, LSB-first (a view: do not mutate). */
  get bits(): Uint8Array {
    return this.filter._filter.array.subarray(0, bitBytes(this.bitCount));
  }

  /** Canonical bytes: version u8 = 1 ‖ hashCount u8 ‖ bitCount u32 LE ‖ seed u64 LE ‖ bits. */
  encode(): Uint8Array {
    const bits = this.bits;
    const out = new Uint8Array(BLOOM_HEADER_LENGTH + bits.length);
    const view = new DataView(out.buffer);
    view.setUint8(0, BLOOM_ENCODING_VERSION);
    view.setUint8(1, this.hashCount);
    view.setUint32(2, this.bitCount, true);
    view.setBigUint64(6, this.seed, true);
    out.set(bits, BLOOM_HEADER_LENGTH);
    return out;
  }

  /** Decodes {@link WitnessBloom.encode}'s bytes; anything else throws VERIFY_MALFORMED_BLOOM. */
  static decode(bytes: Uint8Array): WitnessBloom {
    const header = readBloomHeader(bytes);
    const filter = new WitnessBloom(header.bitCount, header.hashCount, header.seed);
    filter.filter._filter.array.set(header.bits);
    return filter;
  }
}

export function createWitnessBloom(options: WitnessBloomOptions): WitnessBloom {
  return WitnessBloom.withParameters(bloomParameters(options.expectedItems, options.falsePositiveRate), options.seed);
}

function bitBytes(bitCount: number): number {
  return Math.ceil(bitCount / 8);
}

interface BloomHeader extends BloomParameters {
  readonly seed: bigint;
  readonly bits: Uint8Array;
}

function malformed(offset: number, reason: string): PsycheError {
  return new PsycheError(VERIFY_MALFORMED_BLOOM, { offset, reason }, `malformed Bloom filter at byte ${offset}: ${reason}`);
}

function readBloomHeader(bytes: Uint8Array): BloomHeader {
  if (!(bytes instanceof Uint8Array)) throw malformed(0, 'not a Uint8Array');
  if (bytes.length < BLOOM_HEADER_LENGTH) throw malformed(bytes.length, `truncated header (${bytes.length} of ${BLOOM_HEADER_LENGTH} bytes)`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const version = view.getUint8(0);
  if (version !== BLOOM_ENCODING_VERSION) throw malformed(0, `unsupported version ${version}`);
  const hashCount = view.getUint8(1);
  if (hashCount < 1 || hashCount > BLOOM_MAX_HASHES) throw malformed(1, `hash count ${hashCount} outside [1, ${BLOOM_MAX_HASHES}]`);
  const bitCount = view.getUint32(2, true);
  if (bitCount < BLOOM_MIN_BITS || bitCount > BLOOM_MAX_BITS) {
    throw malformed(2, `bit count ${bitCount} outside [${BLOOM_MIN_BITS}, ${BLOOM_MAX_BITS}]`);
  }
  const seed = view.getBigUint64(6, true);
  const expectedLength = BLOOM_HEADER_LENGTH + bitBytes(bitCount);
  if (bytes.length !== expectedLength) {
    throw malformed(Math.min(bytes.length, expectedLength), `length ${bytes.length}, expected ${expectedLength} for ${bitCount} bits`);
  }
  const bits = bytes.subarray(BLOOM_HEADER_LENGTH);
  const padding = bitCount % 8;
  if (padding !== 0 && bits[bits.length - 1]! >> padding !== 0) {
    throw malformed(expectedLength - 1, 'padding bits above bitCount are set');
  }
  return { bitCount, hashCount, seed, bits };
}

/**
 * Membership straight from the canonical bytes, without building a filter: exactly the steps the
 * on-chain program takes. Malformed bytes throw VERIFY_MALFORMED_BLOOM.
 */
export function encodedBloomContains(encoded: Uint8Array, item: Uint8Array): boolean {
  const { bitCount, hashCount, seed, bits } = readBloomHeader(encoded);
  for (const index of bloomIndices(item, bitCount, hashCount, seed)) {
    if ((bits[index >>> 3]! & (1 << (index & 7))) === 0) return false;
  }
  return true;
}
