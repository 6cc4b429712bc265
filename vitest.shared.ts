import { defineProject } from 'vitest/config';

export function psycheProject(name: string, extra: { testTimeout?: number } = {}) {
  return defineProject({
    resolve: { conditions: ['@psyche/source'] },
    ssr: { resolve: { conditions: ['@psyche/source'] } },
    test: {
      name,
      include: ['src/**/__tests__/**/*.test.ts', 'test/**/*.test.ts'],
      testTimeout: extra.testTimeout ?? 30_000,
      setupFiles: [`${import.meta.dirname}/scripts/fast-check-seed.ts`],
    },
  });
}
