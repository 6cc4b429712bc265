import type { KeyObject } from 'node:crypto';
import { bytesEqual, PsycheError, sha256, VERIFY_INVALID_PARAMETER, VERIFY_MALFORMED_COMMITMENT, describeValue } from '@psyche/core';
import {
  assertSignature,
  ED25519_SIGNATURE_LENGTH,
  ed25519SignFast,
  ed25519Verify,
  ed25519VerifyMany,
  PublicKeyCache,
  type SignedMessage,
} from './ed25519.ts';

export const COMMITMENT_HASH_LENGTH = 32;
/** data hash (32) ‖ signature (64). */
export const COMMITMENT_ENCODED_LENGTH = COMMITMENT_HASH_LENGTH + ED25519_SIGNATURE_LENGTH;

/** The contiguous batch id interval a node trained, inclusive at both ends (as Psyche's BatchId range). */
export interface BatchRange {
  readonly start: bigint | number;
  readonly end: bigint | number;
}

/** What a trainer broadcasts: the hash of (step, batch, payload) and its Ed25519 signature over that hash. */
export interface Commitment {
  readonly dataHash: Uint8Array; // 32 bytes
  readonly signature: Uint8Array; // 64 bytes
}

const U64_MAX = 0xffff_ffff_ffff_ffffn;

function u64BigEndian(field: string, value: bigint | number): Uint8Array {
  const big = typeof value === 'bigint' ? value : Number.isSafeInteger(value) ? BigInt(value) : -1n;
  if (big < 0n || big > U64_MAX) {
    throw new PsycheError(
      VERIFY_INVALID_PARAMETER,
      { field, value: describeValue(value), expected: 'integer in [0, 2^64)' },
      `${field}: expected an integer in [0, 2^64), got ${describeValue(value)}`,
    );
  }
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, big, false);
  return out;
}

/**
 * data_hash = SHA-256(step u64 BE ‖ batch.start u64 BE ‖ batch.end u64 BE ‖ payload), byte for byte
 * Psyche's commitment (big-endian integers, payload = the serialized DisTrO result).
 */
export function commitmentDataHash(step: bigint | number, batch: BatchRange, payload: Uint8Array): Uint8Array {
  return sha256(u64BigEndian('step', step), u64BigEndian('batch.start', batch.start), u64BigEndian('batch.end', batch.end), payload);
}

/** Hashes and signs a payload. `secretKey` may be the raw 32-byte seed or a cached KeyObject. */
export function createCommitment(
  step: bigint | number,
  batch: BatchRange,
  payload: Uint8Array,
  secretKey: Uint8Array | KeyObject,
): Commitment {
  const dataHash = commitmentDataHash(step, batch, payload);
  return { dataHash, signature: ed25519SignFast(dataHash, secretKey) };
}

function assertCommitmentShape(commitment: Commitment): void {
  if (!(commitment.dataHash instanceof Uint8Array) || commitment.dataHash.length !== COMMITMENT_HASH_LENGTH) {
    const length = commitment.dataHash instanceof Uint8Array ? commitment.dataHash.length : -1;
    throw new PsycheError(
      VERIFY_MALFORMED_COMMITMENT,
      { length, expected: COMMITMENT_HASH_LENGTH, what: 'dataHash' },
      `commitment data hash must be ${COMMITMENT_HASH_LENGTH} bytes, got length=${length}`,
    );
  }
  assertSignature(commitment.signature);
}

/** Whether the signature over the data hash is valid for `publicKey` (the payload is not needed). */
export function verifyCommitmentSignature(commitment: Commitment, publicKey: Uint8Array | KeyObject | undefined): boolean {
  assertCommitmentShape(commitment);
  return ed25519Verify(commitment.signature, commitment.dataHash, publicKey);
}

/**
 * Full check a receiver does: recompute the data hash from (step, batch, payload), compare, then
 * verify the signature. false for any mismatch; coded errors only for malformed lengths.
 */
export function verifyCommitment(
  commitment: Commitment,
  publicKey: Uint8Array | KeyObject | undefined,
  step: bigint | number,
  batch: BatchRange,
  payload: Uint8Array,
): boolean {
  assertCommitmentShape(commitment);
  if (!bytesEqual(commitmentDataHash(step, batch, payload), commitment.dataHash)) return false;
  return ed25519Verify(commitment.signature, commitment.dataHash, publicKey);
}

/** One signed commitment whose signer is known (the payload was already checked against dataHash). */
export interface SignedCommitment {
  readonly commitment: Commitment;
  readonly publicKey: Uint8Array;
}

/** Verifies many commitment signatures at once, one boolean per input (see {@link ed25519VerifyMany}). */
export function verifyCommitmentSignatures(items: readonly SignedCommitment[], keyCache = new PublicKeyCache()): boolean[] {
  const messages: SignedMessage[] = items.map(({ commitment, publicKey }) => {
    assertCommitmentShape(commitment);
    return { message: commitment.dataHash, signature: commitment.signature, publicKey };
  });
  return ed25519VerifyMany(messages, keyCache);
}

/** dataHash ‖ signature, 96 bytes. */
export function encodeCommitment(commitment: Commitment): Uint8Array {
  assertCommitmentShape(commitment);
  const out = new Uint8Array(COMMITMENT_ENCODED_LENGTH);
  out.set(commitment.dataHash);
  out.set(commitment.signature, COMMITMENT_HASH_LENGTH);
  return out;
}

export function decodeCommitment(bytes: Uint8Array): Commitment {
  if (!(bytes instanceof Uint8Array) || bytes.length !== COMMITMENT_ENCODED_LENGTH) {
    const length = bytes instanceof Uint8Array ? bytes.length : -1;
    throw new PsycheError(
      VERIFY_MALFORMED_COMMITMENT,
      { length, expected: COMMITMENT_ENCODED_LENGTH, what: 'encoded commitment' },
      `encoded commitment must be ${COMMITMENT_ENCODED_LENGTH} bytes, got length=${length}`,
    );
  }
  return {
    dataHash: bytes.slice(0, COMMITMENT_HASH_LENGTH),
    signature: bytes.slice(COMMITMENT_HASH_LENGTH),
  };
}
