/**
 * @packageDocumentation
 * Client of the Psyche coordinator program (programs/coordinator, C → SBF): instruction builders
 * and account codecs for @solana/kit, the deterministic helpers shared with the program, a
 * TypeScript reference model of the state machine, and an embedded LiteSVM localnet.
 */
export * from './program-address.ts';
export * from './program-build.ts';
export * from './run-config.ts';
export * from './run-account.ts';
export * from './instructions.ts';
export * from './witness-bloom.ts';
export * from './selection.ts';
export * from './hash-chain.ts';
export * from './reference-model.ts';
export * from './coordinator-svm.ts';
export * from './localnet.ts';
export * from './coordinator-client.ts';
