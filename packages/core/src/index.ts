/**
 * @packageDocumentation
 * Leaf utilities shared by every Psyche package: coded errors, seeded RNG and shuffles,
 * sha256, and bounds-checked byte codecs. No workspace dependencies.
 */
export * from './codes/core.ts';
export * from './codes/distro.ts';
export * from './codes/modeling.ts';
export * from './codes/gpu.ts';
export * from './codes/p2p.ts';
export * from './codes/verify.ts';
export * from './codes/data-provider.ts';
export * from './codes/coordinator.ts';
export * from './codes/node.ts';
export * from './psyche-error.ts';
export * from './error-code-of.ts';
export * from './checks.ts';
export * from './describe-value.ts';
export * from './bytes.ts';
export * from './byte-reader.ts';
export * from './byte-writer.ts';
export * from './sha256.ts';
export * from './rng.ts';
export * from './shuffle.ts';
