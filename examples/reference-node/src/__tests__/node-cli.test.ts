import { afterEach, describe, expect, it, vi } from 'vitest';
import { DEFAULT_CONFIG } from '../local-run.ts';
import { runNodeCli } from '../node-cli.ts';

afterEach(() => {
  vi.restoreAllMocks();
});

/** Runs the CLI with `args` after the required ones; returns its exit code and what it wrote to stderr. */
async function cli(command: string, args: string[]): Promise<{ code: number; stderr: string }> {
  let stderr = '';
  vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
    stderr += String(chunk);
    return true;
  });
  // An address nothing listens on: a bad option must be refused before anything is contacted.
  const code = await runNodeCli([command, '--config', DEFAULT_CONFIG, '--rpc', 'http://127.0.0.1:9', '--run', '11111111111111111111111111111111', ...args]);
  return { code, stderr };
}

describe('psyche-node command line', () => {
  it('refuses non-numeric and out-of-range numbers, an unknown log format and an unknown fault, naming the option', async () => {
    for (const [command, args, option] of [
      ['run', ['--threads', 'abc'], '--threads'],
      ['run', ['--threads', '0'], '--threads'],
      ['run', ['--threads', '1.5'], '--threads'],
      ['run', ['--metrics-port', '70000'], '--metrics-port'],
      ['run', ['--metrics-port=-1'], '--metrics-port'],
      ['run', ['--log', 'xml'], '--log'],
      ['run', ['--fault', 'lazy'], '--fault'],
      ['create-run', ['--min-clients', 'many'], '--min-clients'],
      ['create-run', ['--min-clients', '300'], '--min-clients'],
    ] as const) {
      const { code, stderr } = await cli(command, [...args]);
      expect([args, code]).toEqual([args, 1]);
      expect(stderr).toMatch(new RegExp(`^psyche-node: \\[9006\\] ${option}: expected`));
    }
  });

  it('an unknown option or a missing value is a usage error (exit 2), not an exception', async () => {
    for (const args of [['--nope'], ['--threads']]) {
      const { code, stderr } = await cli('run', args);
      expect([args, code]).toEqual([args, 2]);
      expect(stderr).toContain('usage:');
    }
  });
});
