// One build preset for every package: ESM + CJS + .d.ts from src/index.ts (the only entry).
import type { Options } from 'tsup';

export function psychePackage(overrides: Options = {}): Options {
  return {
    entry: ['src/index.ts'],
    format: ['esm', 'cjs'],
    dts: true,
    sourcemap: true,
    clean: true,
    target: 'node22',
    platform: 'node',
    ...overrides,
  };
}
