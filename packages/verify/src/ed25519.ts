import { createHash, createPrivateKey, createPublicKey, sign as nodeSign, verify as nodeVerify, type KeyObject } from 'node:crypto';
import * as ed from '@noble/ed25519';
import {
  assertBytes,
  PsycheError,
  VERIFY_MALFORMED_PUBLIC_KEY,
  VERIFY_MALFORMED_SIGNATURE,
} from '@psyche/core';

export const ED25519_PUBLIC_KEY_LENGTH = 32;
export const ED25519_SECRET_KEY_LENGTH = 32;
export const ED25519_SIGNATURE_LENGTH = 64;

// noble needs a synchronous SHA-512 for sign/verify; node's OpenSSL provides it.
ed.hashes.sha512 = (message) => new Uint8Array(createHash('sha512').update(message).digest());

// DER prefixes that wrap a raw key into SPKI / PKCS#8 (RFC 8410 §4, §7), so node can import raw keys.
const SPKI_ED25519_PREFIX = Uint8Array.from([0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00]);
const PKCS8_ED25519_PREFIX = Uint8Array.from([
  0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
]);

/** A node's signing identity: the 32-byte RFC 8032 secret seed and its public key. */
export interface SigningKey {
  readonly secretKey: Uint8Array;
  readonly publicKey: Uint8Array;
}

/** A signing key from a 32-byte secret seed (deterministic: tests and examples derive it from a seeded RNG). */
export function signingKeyFromSecret(secretKey: Uint8Array): SigningKey {
  assertBytes('secretKey', secretKey, ED25519_SECRET_KEY_LENGTH);
  return { secretKey: Uint8Array.from(secretKey), publicKey: ed.getPublicKey(secretKey) };
}

/** A fresh signing key from the OS CSPRNG. */
export function generateSigningKey(): SigningKey {
  return signingKeyFromSecret(ed.utils.randomSecretKey());
}

export function assertSignature(signature: Uint8Array): void {
  if (!(signature instanceof Uint8Array) || signature.length !== ED25519_SIGNATURE_LENGTH) {
    const length = signature instanceof Uint8Array ? signature.length : -1;
    throw new PsycheError(
      VERIFY_MALFORMED_SIGNATURE,
      { length, expected: ED25519_SIGNATURE_LENGTH },
      `expected a ${ED25519_SIGNATURE_LENGTH}-byte Ed25519 signature, got length=${length}`,
    );
  }
}

export function assertPublicKey(publicKey: Uint8Array): void {
  if (!(publicKey instanceof Uint8Array) || publicKey.length !== ED25519_PUBLIC_KEY_LENGTH) {
    const length = publicKey instanceof Uint8Array ? publicKey.length : -1;
    throw new PsycheError(
      VERIFY_MALFORMED_PUBLIC_KEY,
      { length, reason: `expected ${ED25519_PUBLIC_KEY_LENGTH} bytes` },
      `expected a ${ED25519_PUBLIC_KEY_LENGTH}-byte Ed25519 public key, got length=${length}`,
    );
  }
}

/** Reference signer (noble, RFC 8032 deterministic signatures). */
export function ed25519Sign(message: Uint8Array, secretKey: Uint8Array): Uint8Array {
  assertBytes('secretKey', secretKey, ED25519_SECRET_KEY_LENGTH);
  return ed.sign(message, secretKey);
}

/**
 * Reference verifier (noble) with RFC 8032's strict rules (`zip215: false`): non-canonical
 * encodings of R, A and S are rejected, as OpenSSL does, so the fast path agrees with it.
 * Malformed lengths throw coded errors; a well-formed but wrong signature returns false.
 */
export function ed25519VerifyReference(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean {
  assertSignature(signature);
  assertPublicKey(publicKey);
  try {
    return ed.verify(signature, message, publicKey, { zip215: false });
  } catch {
    return false; // noble throws on a public key that is not a curve point: that is "not valid", not a crash
  }
}

/** node:crypto KeyObject for a raw 32-byte public key; undefined when OpenSSL rejects it. */
export function publicKeyObject(publicKey: Uint8Array): KeyObject | undefined {
  assertPublicKey(publicKey);
  const der = new Uint8Array(SPKI_ED25519_PREFIX.length + ED25519_PUBLIC_KEY_LENGTH);
  der.set(SPKI_ED25519_PREFIX);
  der.set(publicKey, SPKI_ED25519_PREFIX.length);
  try {
    return createPublicKey({ key: Buffer.from(der.buffer, der.byteOffset, der.length), format: 'der', type: 'spki' });
  } catch {
    return undefined;
  }
}

/** node:crypto KeyObject for a raw 32-byte secret seed. */
export function secretKeyObject(secretKey: Uint8Array): KeyObject {
  assertBytes('secretKey', secretKey, ED25519_SECRET_KEY_LENGTH);
  const der = new Uint8Array(PKCS8_ED25519_PREFIX.length + ED25519_SECRET_KEY_LENGTH);
  der.set(PKCS8_ED25519_PREFIX);
  der.set(secretKey, PKCS8_ED25519_PREFIX.length);
  return createPrivateKey({ key: Buffer.from(der.buffer, der.byteOffset, der.length), format: 'der', type: 'pkcs8' });
}

/** Fast signer through OpenSSL; byte-identical to {@link ed25519Sign} (Ed25519 signatures are deterministic). */
export function ed25519SignFast(message: Uint8Array, secretKey: Uint8Array | KeyObject): Uint8Array {
  const key = secretKey instanceof Uint8Array ? secretKeyObject(secretKey) : secretKey;
  return new Uint8Array(nodeSign(null, message, key));
}

/**
 * Fast verifier through OpenSSL (node:crypto), 10-20× noble on this machine (see BENCHMARKS.md). Same contract as
 * {@link ed25519VerifyReference}; pass a cached KeyObject to skip the per-call key import.
 */
export function ed25519Verify(
  signature: Uint8Array,
  message: Uint8Array,
  publicKey: Uint8Array | KeyObject | undefined,
): boolean {
  assertSignature(signature);
  const key = publicKey instanceof Uint8Array ? publicKeyObject(publicKey) : publicKey;
  if (key === undefined) return false;
  try {
    return nodeVerify(null, message, key, signature);
  } catch {
    return false;
  }
}

/** One signature to check in a batch. */
export interface SignedMessage {
  readonly message: Uint8Array;
  readonly signature: Uint8Array;
  readonly publicKey: Uint8Array;
}

/**
 * Verifies many signatures at once: each distinct public key is imported into OpenSSL once and reused
 * (a round has ≤ 256 signers but thousands of messages over an epoch). Returns one boolean per input,
 * in order. A malformed signature or key length throws before anything is verified.
 */
export function ed25519VerifyMany(items: readonly SignedMessage[], keyCache = new PublicKeyCache()): boolean[] {
  for (const item of items) {
    assertSignature(item.signature);
    assertPublicKey(item.publicKey);
  }
  return items.map((item) => ed25519Verify(item.signature, item.message, keyCache.get(item.publicKey)));
}

/**
 * Same as {@link ed25519VerifyMany} but each verification runs on libuv's thread pool
 * (node's callback form of crypto.verify), so several cores share the work.
 */
export async function ed25519VerifyManyParallel(
  items: readonly SignedMessage[],
  keyCache = new PublicKeyCache(),
): Promise<boolean[]> {
  for (const item of items) {
    assertSignature(item.signature);
    assertPublicKey(item.publicKey);
  }
  return Promise.all(
    items.map(
      (item) =>
        new Promise<boolean>((resolve) => {
          const key = keyCache.get(item.publicKey);
          if (key === undefined) {
            resolve(false);
            return;
          }
          nodeVerify(null, item.message, key, item.signature, (error, valid) => resolve(error ? false : valid));
        }),
    ),
  );
}

/** Raw public key → imported KeyObject, bounded so a hostile stream of keys cannot grow it without limit. */
export class PublicKeyCache {
  private readonly entries = new Map<string, KeyObject | undefined>();

  constructor(readonly maxEntries = 4096) {}

  get(publicKey: Uint8Array): KeyObject | undefined {
    const id = Buffer.from(publicKey.buffer, publicKey.byteOffset, publicKey.length).toString('hex');
    if (this.entries.has(id)) return this.entries.get(id);
    const key = publicKeyObject(publicKey);
    if (this.entries.size >= this.maxEntries) this.entries.clear();
    this.entries.set(id, key);
    return key;
  }
}
