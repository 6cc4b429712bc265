import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { isPsycheError, sha256, VERIFY_MALFORMED_MERKLE_PROOF } from '@psyche/core';
import { describe, expect, it } from 'vitest';
import {
  decodeMerkleProof,
  encodeMerkleProof,
  merkleLeafHash,
  merkleNodeHash,
  merkleProof,
  merkleProofLength,
  merkleRoot,
  verifyMerkleProof,
} from '../index.ts';
import { merkleTestVectors } from '../test-vectors-internal.ts';

const leaves = (count: number) => Array.from({ length: count }, (_, i) => sha256(Uint8Array.of(i, i >> 8)));

describe('Merkle tree over commitment hashes', () => {
  it('follows the spec: leaf = H(0x00‖x), node = H(0x01‖l‖r), odd node promoted, empty = zeros', () => {
    const [a, b, c] = leaves(3) as [Uint8Array, Uint8Array, Uint8Array];
    expect(merkleRoot([])).toEqual(new Uint8Array(32));
    expect(merkleRoot([a])).toEqual(sha256(Uint8Array.of(0), a));
    const ab = merkleNodeHash(merkleLeafHash(a), merkleLeafHash(b));
    expect(ab).toEqual(sha256(Uint8Array.of(1), sha256(Uint8Array.of(0), a), sha256(Uint8Array.of(0), b)));
    expect(merkleRoot([a, b])).toEqual(ab);
    expect(merkleRoot([a, b, c])).toEqual(merkleNodeHash(ab, merkleLeafHash(c)));
    // Duplicating the last leaf must change the root (no Bitcoin-style CVE-2012-2459 ambiguity).
    expect(merkleRoot([a, b, c, c])).not.toEqual(merkleRoot([a, b, c]));
  });

  it('every leaf of trees of 1..40 leaves has a proof that verifies, and only for its own leaf and root', () => {
    for (let count = 1; count <= 40; count++) {
      const tree = leaves(count);
      const root = merkleRoot(tree);
      for (let i = 0; i < count; i++) {
        const proof = merkleProof(tree, i);
        expect(proof.siblings).toHaveLength(merkleProofLength(i, count));
        expect(verifyMerkleProof(root, tree[i]!, proof)).toBe(true);
        expect(verifyMerkleProof(root, tree[(i + 1) % count]!, proof)).toBe(count === 1);
        expect(decodeMerkleProof(encodeMerkleProof(proof))).toEqual(proof);
        if (proof.siblings.length > 0) {
          const bent = proof.siblings.map((s) => Uint8Array.from(s));
          bent[0]![0]! ^= 1;
          expect(verifyMerkleProof(root, tree[i]!, { ...proof, siblings: bent })).toBe(false);
        }
      }
    }
  });

  it('a proof that does not fit its tree is VERIFY_MALFORMED_MERKLE_PROOF', () => {
    const tree = leaves(5);
    const root = merkleRoot(tree);
    const proof = merkleProof(tree, 2);
    const bad = [
      { ...proof, leafIndex: 5 },
      { ...proof, leafIndex: -1 },
      { ...proof, leafCount: 0 },
      { ...proof, leafCount: 2 ** 40 },
      { ...proof, siblings: proof.siblings.slice(1) },
      { ...proof, siblings: [...proof.siblings, proof.siblings[0]!] },
      { ...proof, siblings: [new Uint8Array(31), ...proof.siblings.slice(1)] },
    ];
    for (const candidate of bad) {
      expect(() => verifyMerkleProof(root, tree[2]!, candidate)).toThrowError(expect.objectContaining({ code: VERIFY_MALFORMED_MERKLE_PROOF }));
    }
    expect(() => merkleProof(tree, 9)).toThrowError(expect.objectContaining({ code: VERIFY_MALFORMED_MERKLE_PROOF }));
  });

  it('decoding hostile bytes gives VERIFY_MALFORMED_MERKLE_PROOF or a well-formed proof (fuzz)', () => {
    const valid = encodeMerkleProof(merkleProof(leaves(7), 3));
    fc.assert(
      fc.property(
        fc.oneof(
          fc.uint8Array({ maxLength: 120 }),
          fc.integer({ min: 0, max: valid.length }).map((n) => valid.subarray(0, n)),
          fc.tuple(fc.nat(valid.length - 1), fc.nat(255)).map(([at, v]) => Uint8Array.from(valid, (b, i) => (i === at ? v : b))),
        ),
        (bytes) => {
          try {
            const proof = decodeMerkleProof(bytes);
            expect(encodeMerkleProof(proof)).toEqual(bytes);
          } catch (e) {
            if (!isPsycheError(e, VERIFY_MALFORMED_MERKLE_PROOF)) throw e;
          }
        },
      ),
      { numRuns: 3000 },
    );
  });

  it('test-vectors/merkle.json is what this code computes', () => {
    const file = JSON.parse(readFileSync(new URL('../../test-vectors/merkle.json', import.meta.url), 'utf8'));
    expect(file).toEqual(JSON.parse(JSON.stringify(merkleTestVectors())));
  });
});
