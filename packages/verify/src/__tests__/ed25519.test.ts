import { randomBytes } from 'node:crypto';
import { createRng, isPsycheError, VERIFY_MALFORMED_PUBLIC_KEY, VERIFY_MALFORMED_SIGNATURE } from '@psyche/core';
import { describe, expect, it } from 'vitest';
import {
  ed25519Sign,
  ed25519SignFast,
  ed25519Verify,
  ed25519VerifyMany,
  ed25519VerifyManyParallel,
  ed25519VerifyReference,
  signingKeyFromSecret,
  type SignedMessage,
} from '../index.ts';

function seededKey(label: string) {
  const rng = createRng(label);
  return signingKeyFromSecret(Uint8Array.from({ length: 32 }, () => rng.nextU32() & 0xff));
}

describe('ed25519', () => {
  it('matches RFC 8032 §7.1 test 1 (empty message)', () => {
    const secret = Buffer.from('9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60', 'hex');
    const key = signingKeyFromSecret(secret);
    expect(Buffer.from(key.publicKey).toString('hex')).toBe('d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a');
    const signature = ed25519SignFast(new Uint8Array(0), secret);
    expect(Buffer.from(signature).toString('hex')).toBe(
      'e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b',
    );
  });

  it('the OpenSSL fast path and noble sign identically and agree on valid, tampered and foreign signatures', () => {
    const keys = [seededKey('a'), seededKey('b')];
    const rng = createRng('messages');
    for (let trial = 0; trial < 40; trial++) {
      const key = keys[trial % 2]!;
      const other = keys[(trial + 1) % 2]!;
      const message = Uint8Array.from({ length: rng.nextInt(100) }, () => rng.nextU32() & 0xff);
      const signature = ed25519Sign(message, key.secretKey);
      expect(ed25519SignFast(message, key.secretKey)).toEqual(signature);
      const tampered = Uint8Array.from(signature);
      tampered[rng.nextInt(64)]! ^= 1 << rng.nextInt(8);
      const cases: [Uint8Array, Uint8Array, boolean][] = [
        [signature, key.publicKey, true],
        [tampered, key.publicKey, false],
        [signature, other.publicKey, false],
      ];
      for (const [sig, publicKey, expected] of cases) {
        expect(ed25519VerifyReference(sig, message, publicKey)).toBe(expected);
        expect(ed25519Verify(sig, message, publicKey)).toBe(expected);
      }
    }
  });

  it('fast and reference verifiers agree on random keys and signatures (off-curve points, non-canonical S)', () => {
    for (let trial = 0; trial < 200; trial++) {
      const signature = new Uint8Array(randomBytes(64));
      const publicKey = new Uint8Array(randomBytes(32));
      if (trial % 2 === 0) signature[63]! |= 0xf0; // S ≥ L: non-canonical, both must reject
      expect(ed25519Verify(signature, Uint8Array.of(trial), publicKey)).toBe(ed25519VerifyReference(signature, Uint8Array.of(trial), publicKey));
    }
  });

  it('wrong-length signatures and keys are coded errors, not crashes', () => {
    const key = seededKey('c');
    const signature = ed25519Sign(Uint8Array.of(1), key.secretKey);
    for (const bad of [new Uint8Array(0), signature.subarray(0, 63), new Uint8Array(65)]) {
      for (const verify of [ed25519Verify, ed25519VerifyReference]) {
        try {
          verify(bad, Uint8Array.of(1), key.publicKey);
          expect.unreachable();
        } catch (e) {
          expect(isPsycheError(e, VERIFY_MALFORMED_SIGNATURE)).toBe(true);
        }
      }
    }
    expect(() => ed25519VerifyReference(signature, Uint8Array.of(1), new Uint8Array(31))).toThrowError(
      expect.objectContaining({ code: VERIFY_MALFORMED_PUBLIC_KEY }),
    );
    expect(() => ed25519Verify(signature, Uint8Array.of(1), new Uint8Array(33))).toThrowError(
      expect.objectContaining({ code: VERIFY_MALFORMED_PUBLIC_KEY }),
    );
  });

  it('verifyMany and its thread-pool variant return one verdict per input, equal to one-by-one verification', async () => {
    const keys = [seededKey('d'), seededKey('e'), seededKey('f')];
    const items: SignedMessage[] = Array.from({ length: 60 }, (_, i) => {
      const key = keys[i % 3]!;
      const message = Uint8Array.of(i, i >> 8);
      const signature = ed25519SignFast(message, key.secretKey);
      if (i % 7 === 0) signature[0]! ^= 1;
      return { message, signature, publicKey: i % 11 === 0 ? keys[(i + 1) % 3]!.publicKey : key.publicKey };
    });
    const expected = items.map((item) => ed25519VerifyReference(item.signature, item.message, item.publicKey));
    expect(expected.filter((ok) => !ok).length).toBeGreaterThan(5);
    expect(ed25519VerifyMany(items)).toEqual(expected);
    expect(await ed25519VerifyManyParallel(items)).toEqual(expected);
    expect(() => ed25519VerifyMany([...items, { ...items[0]!, signature: new Uint8Array(10) }])).toThrowError(
      expect.objectContaining({ code: VERIFY_MALFORMED_SIGNATURE }),
    );
  });
});
