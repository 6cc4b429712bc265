import { defineConfig } from 'vitest/config';

// One vitest run over every workspace: each package is a project, resolved from source
// through the "@psyche/source" export condition, so tests need no build step.
export default defineConfig({
  test: {
    projects: ['packages/*', 'examples/*'],
  },
});
