import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { createRng, isPsycheError, VERIFY_INVALID_PARAMETER, VERIFY_MALFORMED_COMMITMENT, VERIFY_MALFORMED_SIGNATURE } from '@psyche/core';
import { describe, expect, it } from 'vitest';
import {
  commitmentDataHash,
  createCommitment,
  decodeCommitment,
  encodeCommitment,
  PublicKeyCache,
  signingKeyFromSecret,
  verifyCommitment,
  verifyCommitmentSignature,
  verifyCommitmentSignatures,
} from '../index.ts';

const key = signingKeyFromSecret(new Uint8Array(32).fill(7));
const other = signingKeyFromSecret(new Uint8Array(32).fill(8));

describe('commitments', () => {
  it('data_hash = sha256(step u64 BE ‖ start u64 BE ‖ end u64 BE ‖ payload)', () => {
    const payload = Uint8Array.of(1, 2, 3);
    const expected = createHash('sha256')
      .update(Buffer.from('0000000000000005' + '0000000000000100' + '00000000000001ff', 'hex'))
      .update(payload)
      .digest();
    expect(Buffer.from(commitmentDataHash(5, { start: 256, end: 511 }, payload))).toEqual(expected);
    expect(commitmentDataHash(5n, { start: 256n, end: 511n }, payload)).toEqual(new Uint8Array(expected));
    const max = commitmentDataHash(2n ** 64n - 1n, { start: 0, end: 0 }, new Uint8Array(0));
    expect(max).toHaveLength(32);
    for (const bad of [-1, 2 ** 53, 1.5, 2n ** 64n]) {
      expect(() => commitmentDataHash(bad, { start: 0, end: 0 }, payload)).toThrowError(
        expect.objectContaining({ code: VERIFY_INVALID_PARAMETER }),
      );
    }
  });

  it('a receiver accepts the honest commitment and rejects any change of step, batch, payload, signature or signer', () => {
    const payload = Uint8Array.from({ length: 100 }, (_, i) => i);
    const commitment = createCommitment(9, { start: 10, end: 19 }, payload, key.secretKey);
    expect(verifyCommitment(commitment, key.publicKey, 9, { start: 10, end: 19 }, payload)).toBe(true);
    expect(verifyCommitmentSignature(commitment, key.publicKey)).toBe(true);
    expect(verifyCommitment(commitment, key.publicKey, 10, { start: 10, end: 19 }, payload)).toBe(false);
    expect(verifyCommitment(commitment, key.publicKey, 9, { start: 10, end: 20 }, payload)).toBe(false);
    const changed = Uint8Array.from(payload);
    changed[50]! ^= 1;
    expect(verifyCommitment(commitment, key.publicKey, 9, { start: 10, end: 19 }, changed)).toBe(false);
    expect(verifyCommitment(commitment, other.publicKey, 9, { start: 10, end: 19 }, payload)).toBe(false);
    const badSignature = { ...commitment, signature: Uint8Array.from(commitment.signature) };
    badSignature.signature[5]! ^= 4;
    expect(verifyCommitment(badSignature, key.publicKey, 9, { start: 10, end: 19 }, payload)).toBe(false);
    expect(() => verifyCommitment({ ...commitment, signature: commitment.signature.subarray(0, 60) }, key.publicKey, 9, { start: 10, end: 19 }, payload)).toThrowError(
      expect.objectContaining({ code: VERIFY_MALFORMED_SIGNATURE }),
    );
  });

  it('many signatures verify at once with a shared key cache, one verdict per commitment', () => {
    const rng = createRng('batch');
    const keys = [key, other];
    const items = Array.from({ length: 30 }, (_, i) => {
      const signer = keys[i % 2]!;
      const commitment = createCommitment(i, { start: i, end: i }, Uint8Array.of(rng.nextU32() & 0xff), signer.secretKey);
      return { commitment, publicKey: i % 5 === 0 ? keys[(i + 1) % 2]!.publicKey : signer.publicKey };
    });
    const cache = new PublicKeyCache();
    const verdicts = verifyCommitmentSignatures(items, cache);
    expect(verdicts).toEqual(items.map((_, i) => i % 5 !== 0));
  });

  it('encodes to 96 bytes and back; any other length is VERIFY_MALFORMED_COMMITMENT (fuzzed)', () => {
    const commitment = createCommitment(1, { start: 2, end: 3 }, Uint8Array.of(4), key.secretKey);
    const encoded = encodeCommitment(commitment);
    expect(encoded).toHaveLength(96);
    expect(decodeCommitment(encoded)).toEqual(commitment);
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        try {
          const decoded = decodeCommitment(bytes);
          expect(bytes).toHaveLength(96);
          expect(verifyCommitmentSignature(decoded, key.publicKey)).toBe(false);
        } catch (e) {
          expect(isPsycheError(e, VERIFY_MALFORMED_COMMITMENT)).toBe(true);
          expect(bytes.length).not.toBe(96);
        }
      }),
      { numRuns: 500 },
    );
  });
});
