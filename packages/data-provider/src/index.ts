/**
 * @packageDocumentation
 * Training tokens for Psyche nodes: raw little-endian u16/u32 shards with a verified JSON manifest,
 * a deterministic (seeded) map from batch id to sequence, one DataProvider interface with local,
 * HTTP, TCP and in-memory implementations and weighted mixtures, a compliance suite every provider
 * runs, and tokenizers (byte-level, GPT-2 BPE) behind the `psyche-data` CLI.
 */
export * from './token-dtype.ts';
export * from './simd-token-scan.ts';
export * from './dataset-manifest.ts';
export * from './sequence-order.ts';
export * from './shard-layout.ts';
export * from './coalesced-reads.ts';
export * from './data-provider.ts';
export * from './sharded-provider.ts';
export * from './dataset-writer.ts';
export * from './in-memory-provider.ts';
export * from './local-provider.ts';
export * from './data-provider-compliance.ts';
export * from './static-http-server.ts';
export * from './multipart-byteranges.ts';
export * from './range-http-client.ts';
export * from './http-fetch.ts';
export * from './http-provider.ts';
export * from './tcp-frames.ts';
export * from './tcp-data-server.ts';
export * from './tcp-data-client.ts';
export * from './round-authorizer.ts';
export * from './mixture-provider.ts';
export * from './tokenizer.ts';
export * from './progress-bar.ts';
export * from './tokenize-documents.ts';
export * from './example-dataset.ts';
