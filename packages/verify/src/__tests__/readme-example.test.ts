import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { describe, expect, it, vi } from 'vitest';

// The README's example must keep running: extract its code block and import it.
describe('README example', () => {
  it('runs and prints the expected verdicts', async () => {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    const code = readme.split('```ts\n')[1]!.split('```')[0]!;
    const file = new URL(`./readme-example-${process.pid}.generated.ts`, import.meta.url);
    writeFileSync(file, code);
    const lines: string[] = [];
    const log = vi.spyOn(console, 'log').mockImplementation((...args: unknown[]) => void lines.push(args.map(String).join(' ')));
    try {
      await import(/* @vite-ignore */ file.href);
    } finally {
      log.mockRestore();
      rmSync(file, { force: true });
    }
    expect(lines).toContain('commitment valid: true');
    expect(lines).toContain('quorum 2 winner is ours: true');
    expect(lines).toContain('included: true');
    expect(lines.some((line) => line.startsWith('honest: true sign-flipped:'))).toBe(true);
    // the flipped claim must actually fail, on the sign test at least (an empty list would mean it was accepted)
    expect(lines.find((line) => line.startsWith('honest: true sign-flipped:'))).toMatch(/^honest: true sign-flipped: \S*maxSignHamming/);
  });
});
