import { execSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';

const FILE = new URL('../../BENCHMARKS.md', import.meta.url);

/** Replaces (or appends) the section between `<!-- name:start -->` and `<!-- name:end -->` of BENCHMARKS.md. */
export function writeBenchmarkSection(name: string, body: string): void {
  const start = `<!-- ${name}:start -->`;
  const end = `<!-- ${name}:end -->`;
  const current = existsSync(FILE) ? readFileSync(FILE, 'utf8') : '# @psyche/verify benchmarks\n';
  const section = `${start}\n${body.trim()}\n${end}`;
  const from = current.indexOf(start);
  const to = current.indexOf(end);
  const next = from >= 0 && to > from ? current.slice(0, from) + section + current.slice(to + end.length) : `${current.trimEnd()}\n\n${section}\n`;
  writeFileSync(FILE, next);
}

/** Machine line every section carries: other agents share this CPU, so the load matters. */
export function machineLine(): string {
  const uptime = (() => {
    try {
      return execSync('uptime', { encoding: 'utf8' }).trim();
    } catch {
      return `load average ${loadavg().map((l) => l.toFixed(2)).join(', ')}`;
    }
  })();
  return `Machine: ${cpus().length} × ${cpus()[0]?.model ?? 'unknown CPU'}, node ${process.version}; \`uptime\` at the time: ${uptime}. Date: ${new Date().toISOString()}.`;
}
