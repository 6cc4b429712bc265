import { sha256, utf8Encode } from '@psyche/core';
import { bloomIndices, bloomParameters, WitnessBloom } from './bloom-filter.ts';
import { merkleLeafHash, merkleProof, merkleRoot } from './merkle-tree.ts';
import { witnessQuorum } from './consensus.ts';

// Test vectors shared with the on-chain program's tests (programs/coordinator): generated from this
// package's code, committed under test-vectors/, and a test fails if the two ever drift apart.

const hex = (bytes: Uint8Array): string => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
const item = (label: string): Uint8Array => sha256(utf8Encode(label));

interface FilterCase {
  readonly name: string;
  readonly expectedItems: number;
  readonly falsePositiveRate: number;
  readonly seed: bigint;
  readonly members: number;
}

const FILTER_CASES: readonly FilterCase[] = [
  { name: 'participants-256-at-1pct', expectedItems: 256, falsePositiveRate: 0.01, seed: 0x0123456789abcdefn, members: 256 },
  { name: 'participants-16-at-1pct', expectedItems: 16, falsePositiveRate: 0.01, seed: 0n, members: 16 },
  { name: 'tiny-overfull-8-bits', expectedItems: 1, falsePositiveRate: 0.5, seed: 0xffffffffffffffffn, members: 3 },
  { name: 'broadcast-32-at-0.1pct', expectedItems: 32, falsePositiveRate: 0.001, seed: 42n, members: 20 },
];

export function bloomTestVectors(): unknown {
  const indexVectors = [
    { seed: 0n, bitCount: 8, hashCount: 1, item: new Uint8Array(0) },
    { seed: 1n, bitCount: 2454, hashCount: 7, item: utf8Encode('psyche') },
    { seed: 0xffffffffffffffffn, bitCount: 16_777_216, hashCount: 32, item: item('max') },
    { seed: 0x8000000000000000n, bitCount: 1023, hashCount: 10, item: new Uint8Array(100).fill(0xab) },
  ].map((v) => ({
    seed: v.seed.toString(),
    bitCount: v.bitCount,
    hashCount: v.hashCount,
    item: hex(v.item),
    indices: Array.from(bloomIndices(v.item, v.bitCount, v.hashCount, v.seed)),
  }));
  const filters = FILTER_CASES.map((c) => {
    const parameters = bloomParameters(c.expectedItems, c.falsePositiveRate);
    const filter = WitnessBloom.withParameters(parameters, c.seed);
    const members = Array.from({ length: c.members }, (_, i) => item(`${c.name}/member/${i}`));
    for (const member of members) filter.add(member);
    // Probes: a few members, then non-members (some of which are false positives for small filters).
    const probes = [...members.slice(0, 4), ...Array.from({ length: 24 }, (_, i) => item(`${c.name}/probe/${i}`))];
    return {
      name: c.name,
      expectedItems: c.expectedItems,
      falsePositiveRate: c.falsePositiveRate,
      seed: c.seed.toString(),
      bitCount: parameters.bitCount,
      hashCount: parameters.hashCount,
      members: members.map(hex),
      encoded: hex(filter.encode()),
      probes: probes.map((probe) => ({ item: hex(probe), contains: filter.has(probe) })),
    };
  });
  const valid = WitnessBloom.withParameters({ bitCount: 12, hashCount: 2 }, 5n).encode();
  const withPadding = Uint8Array.from(valid);
  withPadding[withPadding.length - 1] = 0x10; // bit 12 of a 12-bit filter
  const malformed = [
    { name: 'empty', encoded: '' },
    { name: 'truncated-header', encoded: hex(valid.subarray(0, 13)) },
    { name: 'bad-version', encoded: hex(Uint8Array.from(valid, (b, i) => (i === 0 ? 2 : b))) },
    { name: 'zero-hashes', encoded: hex(Uint8Array.from(valid, (b, i) => (i === 1 ? 0 : b))) },
    { name: 'too-many-hashes', encoded: hex(Uint8Array.from(valid, (b, i) => (i === 1 ? 33 : b))) },
    { name: 'bit-count-below-8', encoded: hex(Uint8Array.from(valid, (b, i) => (i === 2 ? 7 : b))) },
    { name: 'truncated-bits', encoded: hex(valid.subarray(0, valid.length - 1)) },
    { name: 'trailing-byte', encoded: hex(Uint8Array.of(...valid, 0)) },
    { name: 'padding-bit-set', encoded: hex(withPadding) },
  ];
  return {
    description:
      'Witness Bloom filter vectors of @psyche/verify (spec: docs/verify.md, "Bloom filters"). Seeds are u64 in decimal; items and encodings are hex.',
    encodingVersion: 1,
    indexVectors,
    filters,
    malformed,
  };
}

export function merkleTestVectors(): unknown {
  const cases = [1, 2, 3, 5, 8].map((count) => {
    const leaves = Array.from({ length: count }, (_, i) => item(`leaf/${i}`));
    return {
      leaves: leaves.map(hex),
      leafHashes: leaves.map((leaf) => hex(merkleLeafHash(leaf))),
      root: hex(merkleRoot(leaves)),
      proofs: leaves.map((_, i) => merkleProof(leaves, i).siblings.map(hex)),
    };
  });
  return {
    description: 'Merkle vectors of @psyche/verify (spec: docs/verify.md, "Merkle tree"). Leaves are 32-byte commitment data hashes, hex.',
    emptyRoot: hex(merkleRoot([])),
    cases,
    quorum: Array.from({ length: 12 }, (_, i) => ({ witnesses: i + 1, quorum: witnessQuorum(i + 1) })),
  };
}
