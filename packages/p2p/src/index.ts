/**
 * @packageDocumentation
 * Peer-to-peer transport of the Psyche SDK: Ed25519 node identities, signed run-scoped gossip and
 * BLAKE3 content-addressed blobs fetched from any provider, on js-libp2p v3 with circuit relays,
 * plus in-memory implementations and compliance suites for the `Gossip` and `BlobStore` interfaces.
 * Moves bytes only: it knows nothing of tensors or DisTrO results.
 */
export * from './node-id.ts';
export * from './identity.ts';
export * from './peer-id.ts';
export * from './blake3.ts';
export * from './envelope.ts';
export * from './peer-scores.ts';
export * from './gossip.ts';
export * from './memory-gossip.ts';
export * from './blob-frames.ts';
export * from './blob-ticket.ts';
export * from './blob-storage.ts';
export * from './blob-store.ts';
export * from './memory-blob-store.ts';
export * from './noise-encrypter.ts';
export * from './p2p-node.ts';
export * from './libp2p-gossip.ts';
export * from './libp2p-blob-store.ts';
export * from './compliance.ts';
