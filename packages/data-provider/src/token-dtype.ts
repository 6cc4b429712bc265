import { DATA_INVALID_CONFIG, PsycheError, describeValue } from '@psyche/core';
import { maxTokenSimd } from './simd-token-scan.ts';

/** Token element type of a shard: raw little-endian, no header (Psyche's `.bin` / `.ds` files). */
export type TokenDtype = 'u16' | 'u32';

/** One typed array per dtype; rows of seq_len + 1 tokens laid end to end. */
export type TokenArray = Uint16Array | Uint32Array;

export function bytesPerToken(dtype: TokenDtype): 2 | 4 {
  return dtype === 'u16' ? 2 : 4;
}

export function assertTokenDtype(value: unknown, field = 'dtype'): TokenDtype {
  if (value === 'u16' || value === 'u32') return value;
  throw new PsycheError(
    DATA_INVALID_CONFIG,
    { field, value: describeValue(value), expected: "'u16' or 'u32'" },
    `${field}: expected 'u16' or 'u32', got ${describeValue(value)}`,
  );
}

/** The smallest dtype that holds every token id below `vocabSize`. */
export function dtypeForVocabSize(vocabSize: number): TokenDtype {
  return vocabSize <= 65_536 ? 'u16' : 'u32';
}

export function allocateTokens(dtype: TokenDtype, length: number): TokenArray {
  return dtype === 'u16' ? new Uint16Array(length) : new Uint32Array(length);
}

/**
 * Like allocateTokens without zero-filling (Buffer.allocUnsafeSlow: its own ArrayBuffer at offset 0),
 * for outputs whose every element is written before anyone reads them.
 */
export function allocateTokensUninitialized(dtype: TokenDtype, length: number): TokenArray {
  const width = bytesPerToken(dtype);
  const bytes = Buffer.allocUnsafeSlow(length * width);
  return dtype === 'u16' ? new Uint16Array(bytes.buffer, bytes.byteOffset, length) : new Uint32Array(bytes.buffer, bytes.byteOffset, length);
}

/**
 * Views little-endian token bytes as a typed array without copying when the bytes are aligned,
 * copying otherwise (typed arrays need an offset that is a multiple of the element size).
 */
export function tokensFromBytes(dtype: TokenDtype, bytes: Uint8Array): TokenArray {
  const width = bytesPerToken(dtype);
  const length = Math.floor(bytes.byteLength / width);
  // Uint8Array.prototype.slice copies even for a Buffer (whose own slice is a view).
  const aligned = bytes.byteOffset % width === 0 ? bytes : Uint8Array.prototype.slice.call(bytes, 0, length * width);
  return dtype === 'u16'
    ? new Uint16Array(aligned.buffer, aligned.byteOffset, length)
    : new Uint32Array(aligned.buffer, aligned.byteOffset, length);
}

export function bytesOfTokens(tokens: TokenArray): Uint8Array {
  return new Uint8Array(tokens.buffer, tokens.byteOffset, tokens.byteLength);
}

/** Index of the first token ≥ vocabSize, or −1: the readable reference the fast check is tested against. */
export function findTokenOutOfRangeReference(tokens: TokenArray, vocabSize: number): number {
  for (let i = 0; i < tokens.length; i++) if (tokens[i]! >= vocabSize) return i;
  return -1;
}

/** Below this many tokens the plain loop is as fast as copying into WebAssembly memory. */
const SIMD_MIN_TOKENS = 256;

/**
 * Index of the first token ≥ vocabSize, or −1. Long arrays first take their maximum with
 * WebAssembly SIMD (≈0.2 ns/token including the copy, against ≈0.8–1.8 ns/token for the plain loop
 * here) and run the plain loop only to locate a bad token; without SIMD the plain loop does it all.
 */
export function findTokenOutOfRange(tokens: TokenArray, vocabSize: number): number {
  if (tokens instanceof Uint16Array && vocabSize >= 65_536) return -1;
  if (tokens.length >= SIMD_MIN_TOKENS) {
    const max = maxTokenSimd(tokens);
    if (max !== undefined && max < vocabSize) return -1;
  }
  return findTokenOutOfRangeReference(tokens, vocabSize);
}
