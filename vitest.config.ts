import { defineConfig } from 'vitest/config';

// One vitest run over every workspace: each package is a project, resolved from source
// through the "@psyche/source" export condition, so tests need no build step.
// Files run one at a time: several suites start real processes, networks and timed protocol
// rounds, and on a 2-core machine running them side by side made timings flaky
// (a late joiner missing its epoch); the whole suite stays a few minutes long.
export default defineConfig({
  test: {
    projects: ['packages/*', 'examples/*'],
    fileParallelism: false,
  },
});
