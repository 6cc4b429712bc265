/**
 * @packageDocumentation
 * Catching nodes that cheat: signed commitments, Bloom witness proofs sized from (n, p) with a
 * portable index function, Merkle roots with inclusion proofs, per-batch quorum consensus,
 * similarity metrics and the deterministic recomputation committee.
 */
export * from './ed25519.ts';
export * from './commitment.ts';
export * from './bloom-filter.ts';
export * from './merkle-tree.ts';
export * from './consensus.ts';
export * from './similarity.ts';
export * from './verifier-committee.ts';
export * from './recomputation-verdict.ts';
export * from './witness-report.ts';
