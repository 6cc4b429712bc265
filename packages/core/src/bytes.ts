import { CORE_MALFORMED_HEX, CORE_MALFORMED_UTF8 } from './codes/core.ts';
import { PsycheError } from './psyche-error.ts';

const utf8Decoder = new TextDecoder('utf-8', { fatal: true });
// ignoreBOM: true keeps a leading U+FEFF in the string instead of dropping it.
const bomKeepingUtf8Decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const utf8Encoder = new TextEncoder();
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const LONE_SURROGATES = new RegExp(LONE_SURROGATE.source, 'g');

/**
 * Whether `text` has no lone surrogate. UTF-8 cannot carry one: TextEncoder writes U+FFFD instead,
 * so a string that is not well formed does not decode back to itself.
 */
export function isWellFormedUtf16(text: string): boolean {
  return !LONE_SURROGATE.test(text);
}

/** `text` with each lone surrogate replaced by U+FFFD, what UTF-8 carries anyway: for free-form messages. */
export function toWellFormedUtf16(text: string): string {
  return text.replace(LONE_SURROGATES, '\uFFFD');
}

export function utf8Encode(text: string): Uint8Array {
  return utf8Encoder.encode(text);
}

/**
 * Strict UTF-8 decoding: malformed sequences throw CORE_MALFORMED_UTF8 instead of becoming U+FFFD.
 * A leading byte order mark is dropped (text files), unless `keepByteOrderMark`: wire fields set it
 * so that every string decodes back to exactly the one that was encoded ("\uFEFFw" stays apart from "w").
 */
export function utf8Decode(bytes: Uint8Array, offset = 0, keepByteOrderMark = false): string {
  try {
    return (keepByteOrderMark ? bomKeepingUtf8Decoder : utf8Decoder).decode(bytes);
  } catch (cause) {
    throw new PsycheError(CORE_MALFORMED_UTF8, { offset }, 'malformed UTF-8', { cause });
  }
}

export function concatBytes(...parts: readonly Uint8Array[]): Uint8Array {
  let length = 0;
  for (const part of parts) length += part.length;
  const out = new Uint8Array(length);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/** Constant-time in the content (not the length), so it can compare secrets and digests. */
export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}

const hexDigits = '0123456789abcdef';

export function toHex(bytes: Uint8Array): string {
  let out = '';
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i]!;
    out += hexDigits[b >> 4]! + hexDigits[b & 15]!;
  }
  return out;
}

export function fromHex(hex: string): Uint8Array {
  if (hex.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(hex)) {
    throw new PsycheError(CORE_MALFORMED_HEX, { length: hex.length }, 'expected an even-length hex string');
  }
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = Number.parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}
