import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Debian's chromium binary, when installed (.ci/apt-packages.d/reference-node.txt lists it). */
export function findChromium(): string | undefined {
  return ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => existsSync(p));
}

/**
 * Loads `url` in headless chromium with a fresh profile, lets its scripts run for `budgetMs` of
 * virtual time, saves a screenshot and returns the rendered DOM.
 */
export async function renderPage(url: string, screenshotPath: string, budgetMs = 4_000): Promise<string> {
  const chromium = findChromium();
  if (!chromium) throw new Error('chromium is not installed (apt-get install chromium)');
  const profile = mkdtempSync(join(tmpdir(), 'psyche-chromium-'));
  const flags = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--no-first-run', `--user-data-dir=${profile}`, '--window-size=1280,1000', `--virtual-time-budget=${budgetMs}`];
  const run = (extra: string[]) =>
    new Promise<string>((resolve, reject) =>
      execFile(chromium, [...flags, ...extra, url], { timeout: 60_000, maxBuffer: 16 << 20 }, (error, stdout) => (error ? reject(error) : resolve(stdout))),
    );
  try {
    await run([`--screenshot=${screenshotPath}`]);
    return await run(['--dump-dom']);
  } finally {
    rmSync(profile, { recursive: true, force: true });
  }
}
