import { assertBytes, bytesEqual, PsycheError, sha256, VERIFY_INVALID_PARAMETER, VERIFY_MALFORMED_MERKLE_PROOF, describeValue } from '@psyche/core';

export const MERKLE_HASH_LENGTH = 32;
/** 2^24 leaves: a round has at most 256 commitments per batch; this bounds hostile proofs. */
export const MERKLE_MAX_LEAVES = 2 ** 24;
/** leafIndex u32 LE ‖ leafCount u32 LE ‖ siblingCount u8. */
export const MERKLE_PROOF_HEADER_LENGTH = 9;

// Domain separation (RFC 6962 §2.1): a leaf can never be mistaken for an inner node, so nobody can
// present an inner node as a leaf (second-preimage attack on unprefixed trees).
const LEAF_PREFIX = Uint8Array.of(0x00);
const NODE_PREFIX = Uint8Array.of(0x01);

export function merkleLeafHash(leaf: Uint8Array): Uint8Array {
  assertBytes('leaf', leaf, MERKLE_HASH_LENGTH);
  return sha256(LEAF_PREFIX, leaf);
}

export function merkleNodeHash(left: Uint8Array, right: Uint8Array): Uint8Array {
  return sha256(NODE_PREFIX, left, right);
}

/** Inclusion proof of leaf `leafIndex` among `leafCount`; siblings bottom-up, none at levels where the node is promoted. */
export interface MerkleProof {
  readonly leafIndex: number;
  readonly leafCount: number;
  readonly siblings: readonly Uint8Array[];
}

function assertLeaves(leaves: readonly Uint8Array[]): void {
  if (leaves.length > MERKLE_MAX_LEAVES) {
    throw new PsycheError(
      VERIFY_INVALID_PARAMETER,
      { field: 'leaves.length', value: String(leaves.length), expected: `≤ ${MERKLE_MAX_LEAVES}` },
      `too many Merkle leaves: ${leaves.length}`,
    );
  }
  leaves.forEach((leaf, i) => assertBytes(`leaves[${i}]`, leaf, MERKLE_HASH_LENGTH));
}

/** All levels, leaves' hashes first, root last. An odd node at the end of a level moves up unchanged (no duplication: CVE-2012-2459). */
function merkleLevels(leaves: readonly Uint8Array[]): Uint8Array[][] {
  const levels: Uint8Array[][] = [leaves.map(merkleLeafHash)];
  for (let level = levels[0]!; level.length > 1; ) {
    const next: Uint8Array[] = [];
    for (let i = 0; i + 1 < level.length; i += 2) next.push(merkleNodeHash(level[i]!, level[i + 1]!));
    if (level.length % 2 === 1) next.push(level[level.length - 1]!);
    levels.push(next);
    level = next;
  }
  return levels;
}

/** Root over 32-byte leaves (commitment data hashes; witnesses sort them bytewise first, see docs/verify.md). Empty tree: 32 zero bytes. */
export function merkleRoot(leaves: readonly Uint8Array[]): Uint8Array {
  assertLeaves(leaves);
  if (leaves.length === 0) return new Uint8Array(MERKLE_HASH_LENGTH);
  const levels = merkleLevels(leaves);
  return levels[levels.length - 1]![0]!;
}

export function merkleProof(leaves: readonly Uint8Array[], leafIndex: number): MerkleProof {
  assertLeaves(leaves);
  if (!Number.isInteger(leafIndex) || leafIndex < 0 || leafIndex >= leaves.length) {
    throw malformedProof(`leaf index ${describeValue(leafIndex)} outside [0, ${leaves.length})`);
  }
  const siblings: Uint8Array[] = [];
  let index = leafIndex;
  for (const level of merkleLevels(leaves).slice(0, -1)) {
    const sibling = index ^ 1;
    if (sibling < level.length) siblings.push(level[sibling]!);
    index >>>= 1;
  }
  return { leafIndex, leafCount: leaves.length, siblings };
}

function malformedProof(reason: string): PsycheError {
  return new PsycheError(VERIFY_MALFORMED_MERKLE_PROOF, { reason }, `malformed Merkle proof: ${reason}`);
}

/** How many siblings the proof of `leafIndex` among `leafCount` must carry. */
export function merkleProofLength(leafIndex: number, leafCount: number): number {
  let count = 0;
  for (let index = leafIndex, width = leafCount; width > 1; index >>>= 1, width = Math.ceil(width / 2)) {
    if ((index ^ 1) < width) count++;
  }
  return count;
}

function assertProofShape(proof: MerkleProof): void {
  const { leafIndex, leafCount, siblings } = proof;
  if (!Number.isInteger(leafCount) || leafCount < 1 || leafCount > MERKLE_MAX_LEAVES) {
    throw malformedProof(`leaf count ${describeValue(leafCount)} outside [1, ${MERKLE_MAX_LEAVES}]`);
  }
  if (!Number.isInteger(leafIndex) || leafIndex < 0 || leafIndex >= leafCount) {
    throw malformedProof(`leaf index ${describeValue(leafIndex)} outside [0, ${leafCount})`);
  }
  const expected = merkleProofLength(leafIndex, leafCount);
  if (!Array.isArray(siblings) || siblings.length !== expected) {
    throw malformedProof(`expected ${expected} siblings, got ${Array.isArray(siblings) ? siblings.length : 'none'}`);
  }
  siblings.forEach((sibling, i) => {
    if (!(sibling instanceof Uint8Array) || sibling.length !== MERKLE_HASH_LENGTH) throw malformedProof(`sibling ${i} is not 32 bytes`);
  });
}

/** Recomputes the root from a leaf and its proof and compares. Malformed proofs throw VERIFY_MALFORMED_MERKLE_PROOF; a wrong one returns false. */
export function verifyMerkleProof(root: Uint8Array, leaf: Uint8Array, proof: MerkleProof): boolean {
  assertBytes('root', root, MERKLE_HASH_LENGTH);
  assertProofShape(proof);
  let hash = merkleLeafHash(leaf);
  let next = 0;
  for (let index = proof.leafIndex, width = proof.leafCount; width > 1; index >>>= 1, width = Math.ceil(width / 2)) {
    const siblingIndex = index ^ 1;
    if (siblingIndex >= width) continue; // promoted odd node
    const sibling = proof.siblings[next++]!;
    hash = index % 2 === 0 ? merkleNodeHash(hash, sibling) : merkleNodeHash(sibling, hash);
  }
  return bytesEqual(hash, root);
}

export function encodeMerkleProof(proof: MerkleProof): Uint8Array {
  assertProofShape(proof);
  const out = new Uint8Array(MERKLE_PROOF_HEADER_LENGTH + MERKLE_HASH_LENGTH * proof.siblings.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, proof.leafIndex, true);
  view.setUint32(4, proof.leafCount, true);
  view.setUint8(8, proof.siblings.length);
  proof.siblings.forEach((sibling, i) => out.set(sibling, MERKLE_PROOF_HEADER_LENGTH + i * MERKLE_HASH_LENGTH));
  return out;
}

export function decodeMerkleProof(bytes: Uint8Array): MerkleProof {
  if (!(bytes instanceof Uint8Array) || bytes.length < MERKLE_PROOF_HEADER_LENGTH) {
    throw malformedProof(`truncated header (${bytes instanceof Uint8Array ? bytes.length : 0} bytes)`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const leafIndex = view.getUint32(0, true);
  const leafCount = view.getUint32(4, true);
  const siblingCount = view.getUint8(8);
  const expectedLength = MERKLE_PROOF_HEADER_LENGTH + siblingCount * MERKLE_HASH_LENGTH;
  if (bytes.length !== expectedLength) throw malformedProof(`length ${bytes.length}, expected ${expectedLength}`);
  const siblings = Array.from({ length: siblingCount }, (_, i) =>
    bytes.slice(MERKLE_PROOF_HEADER_LENGTH + i * MERKLE_HASH_LENGTH, MERKLE_PROOF_HEADER_LENGTH + (i + 1) * MERKLE_HASH_LENGTH),
  );
  const proof = { leafIndex, leafCount, siblings };
  assertProofShape(proof);
  return proof;
}
