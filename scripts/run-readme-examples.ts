/**
 * Runs every ```ts block of a package README as a module inside that package (so its imports
 * resolve like a user's would), on node 22 with the source condition. Exit code ≠ 0 on failure.
 *   tsx scripts/run-readme-examples.ts packages/distro
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

export function readmeBlocks(packageDir: string): string[] {
  const text = readFileSync(join(packageDir, 'README.md'), 'utf8');
  return [...text.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]!);
}

export function runReadmeExamples(packageDir: string): string[] {
  const dir = resolve(packageDir);
  const outputs: string[] = [];
  const tmp = mkdtempSync(join(dir, '.readme-'));
  try {
    readmeBlocks(dir).forEach((code, i) => {
      const file = join(tmp, `example-${i}.ts`);
      writeFileSync(file, code);
      const tsx = resolve(import.meta.dirname, '../node_modules/.bin/tsx');
      outputs.push(execFileSync(tsx, ['--conditions=@psyche/source', file], { cwd: dir, encoding: 'utf8', timeout: 60_000 }));
    });
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  return outputs;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  for (const out of runReadmeExamples(process.argv[2] ?? '.')) process.stdout.write(out);
}
