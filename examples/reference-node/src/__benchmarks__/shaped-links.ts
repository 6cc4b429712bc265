// Exchange time per step through shaped links: N peers in their own network namespaces, each link
// shaped to 100 Mbit/s and 20 ms each way (40 ms RTT; tc netem, or TUN devices and delay-hub.py where
// the kernel has no netem), all-gathering per step a
// payload of the DisTrO result's size and of the dense bf16 gradient's size over the real libp2p
// gossip + blob stack. Needs root (ip netns). Appends its table to BENCHMARKS.md.
//   npm run bench:links -w @psyche/reference-node -- [--steps 5] [--nodes 3]
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';

const { values } = parseArgs({ options: { steps: { type: 'string', default: '5' }, nodes: { type: 'string', default: '3' }, distro: { type: 'string', default: '737' }, dense: { type: 'string', default: '869632' } } });
const steps = Number(values.steps);
const nodes = Number(values.nodes);
const prefix = 'psyrn';
const ns = (i: number) => `${prefix}-${i}`;
const ip = (i: number) => `10.231.0.${i + 1}`;
const sh = (...args: string[]) => execFileSync(args[0]!, args.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });

function teardown(): void {
  delayHub?.kill('SIGKILL');
  delayHub = undefined;
  for (const name of [`${prefix}-hub`, ...Array.from({ length: nodes }, (_, i) => ns(i))]) {
    try {
      sh('ip', 'netns', 'del', name);
    } catch {
      // not there
    }
  }
}

let netem = true;
let delayHub: ChildProcess | undefined;
async function setup(): Promise<void> {
  teardown();
  try {
    sh('tc', 'qdisc', 'add', 'dev', 'lo', 'root', 'netem', 'delay', '1ms');
    sh('tc', 'qdisc', 'del', 'dev', 'lo', 'root');
  } catch {
    netem = false;
  }
  if (!netem) return setupTunStar();
  sh('ip', 'netns', 'add', `${prefix}-hub`);
  sh('ip', '-n', `${prefix}-hub`, 'link', 'add', 'br0', 'type', 'bridge');
  sh('ip', '-n', `${prefix}-hub`, 'link', 'set', 'br0', 'up');
  for (let i = 0; i < nodes; i++) {
    sh('ip', 'netns', 'add', ns(i));
    sh('ip', 'link', 'add', `vrn${i}`, 'type', 'veth', 'peer', 'name', `vrnh${i}`);
    sh('ip', 'link', 'set', `vrn${i}`, 'netns', ns(i));
    sh('ip', 'link', 'set', `vrnh${i}`, 'netns', `${prefix}-hub`);
    sh('ip', '-n', `${prefix}-hub`, 'link', 'set', `vrnh${i}`, 'master', 'br0');
    sh('ip', '-n', `${prefix}-hub`, 'link', 'set', `vrnh${i}`, 'up');
    sh('ip', '-n', ns(i), 'addr', 'add', `${ip(i)}/24`, 'dev', `vrn${i}`);
    sh('ip', '-n', ns(i), 'link', 'set', `vrn${i}`, 'up');
    sh('ip', '-n', ns(i), 'link', 'set', 'lo', 'up');
    // Egress of every node: 100 Mbit/s, and 20 ms one way (40 ms RTT between any two).
    sh('tc', '-n', ns(i), 'qdisc', 'add', 'dev', `vrn${i}`, 'root', 'netem', 'delay', '20ms', 'rate', '100mbit', 'limit', '100000');
  }
}

/**
 * Without sch_netem (this development machine's kernel), every namespace gets a TUN device and
 * delay-hub.py relays IP packets between them 20 ms late (40 ms RTT between any two); a token
 * bucket on each TUN shapes its egress to 100 Mbit/s.
 */
async function setupTunStar(): Promise<void> {
  for (let i = 0; i < nodes; i++) {
    sh('ip', 'netns', 'add', ns(i));
    sh('ip', '-n', ns(i), 'tuntap', 'add', 'dev', 'tun0', 'mode', 'tun');
    sh('ip', '-n', ns(i), 'addr', 'add', `${ip(i)}/24`, 'dev', 'tun0');
    sh('ip', '-n', ns(i), 'link', 'set', 'tun0', 'up');
    sh('ip', '-n', ns(i), 'link', 'set', 'lo', 'up');
    sh('tc', '-n', ns(i), 'qdisc', 'add', 'dev', 'tun0', 'root', 'tbf', 'rate', '100mbit', 'burst', '32kb', 'latency', '200ms');
  }
  // The relay lives with @psyche/p2p's benchmarks (one copy for both).
  const relay = resolve(import.meta.dirname, '../../../../packages/p2p/src/__benchmarks__/delay-hub.py');
  const hub = spawn('python3', [relay, '20', ...Array.from({ length: nodes }, (_, i) => ns(i))], { stdio: ['ignore', 'pipe', 'inherit'] });
  delayHub = hub;
  await new Promise<void>((ok, fail) => {
    const timer = setTimeout(() => fail(new Error('delay-hub.py did not start')), 10_000);
    createInterface({ input: hub.stdout! }).once('line', () => {
      clearTimeout(timer);
      ok();
    });
    hub.once('exit', (code) => fail(new Error(`delay-hub.py exited ${code}`)));
  });
}

function pingRttMs(): number | undefined {
  try {
    const out = sh('ip', 'netns', 'exec', ns(1), 'ping', '-c', '3', '-i', '0.2', ip(0)).toString();
    const avg = /= [\d.]+\/([\d.]+)\//.exec(out)?.[1];
    return avg === undefined ? undefined : Number(avg);
  } catch {
    return undefined;
  }
}

async function exchange(size: number): Promise<number[]> {
  const dir = mkdtempSync(join(tmpdir(), 'psyche-links-'));
  const peer = resolve(import.meta.dirname, 'exchange-peer.ts');
  try {
    const runs = Array.from({ length: nodes }, (_, i) => {
      const child = spawn('ip', ['netns', 'exec', ns(i), process.execPath, '--conditions=@psyche/source', '--import', 'tsx', peer, String(i), ip(i), join(dir, 'peer'), String(size), String(steps), String(nodes)], { stdio: ['ignore', 'pipe', 'inherit'] });
      return new Promise<number[]>((ok, fail) => {
        let times: number[] | undefined;
        createInterface({ input: child.stdout! }).on('line', (line) => {
          try {
            times = (JSON.parse(line) as { times: number[] }).times;
          } catch {
            // not ours
          }
        });
        const timer = setTimeout(() => child.kill("SIGKILL"), 90_000);
        child.once('exit', (code) => {
          clearTimeout(timer);
          if (times) ok(times);
          else fail(new Error(`peer ${i} exited ${code} without a result`));
        });
      });
    });
    const all = await Promise.all(runs);
    // Per step: the slowest peer's all-gather (the step cannot go on before it).
    return Array.from({ length: steps }, (_, s) => Math.max(...all.map((t) => t[s]!)));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
await setup();
try {
  const rtt = pingRttMs();
  const distro = await exchange(Number(values.distro));
  const dense = await exchange(Number(values.dense));
  const line = (name: string, size: number, t: number[]) => `| ${name} | ${size.toLocaleString('en-US')} B | ${median(t).toFixed(0)} ms | ${t.map((x) => x.toFixed(0)).join(', ')} |`;
  const md = `
## Exchange time per step through shaped links (\`npm run bench:links -w @psyche/reference-node\`)

${nodes} peers, each in its own network namespace, ${netem ? 'behind a veth shaped with \`tc netem delay 20ms rate 100mbit\`' : 'joined by a TUN device each and delay-hub.py relaying packets 20 ms late (this kernel has no sch_netem), \`tc tbf rate 100mbit\` on each TUN'} (40 ms RTT between any two, 100 Mbit/s egress each; ping RTT measured ${rtt === undefined ? '?' : rtt.toFixed(1)} ms), running the real libp2p stack (TCP, noise, yamux,
gossipsub announcements, BLAKE3 blobs). Per step every peer publishes one payload and fetches the ${nodes - 1} others';
the time is the slowest peer's all-gather, ${steps} steps, first step included (connection warm-up).
Payload sizes: the local run's DisTrO result and its dense bf16 gradient (what AdamW data parallelism exchanges).

| payload | size | median | every step |
| --- | --- | --- | --- |
${line('DisTrO top-4, 1-bit', Number(values.distro), distro)}
${line('dense bf16 gradient', Number(values.dense), dense)}

How these combine with compute into a step time for each optimizer: the section "Step time through shaped links" above.
Load average at the end: ${loadavg().map((x) => x.toFixed(2)).join(' ')}. One run each.
`;
  process.stdout.write(md);
  const path = resolve(import.meta.dirname, '../../BENCHMARKS.md');
  const current = readFileSync(path, 'utf8').replace(/\nNot measured yet: step time through network namespaces[^\n]*\n/, '\n');
  const start = current.indexOf('\n## Exchange time per step through shaped links');
  writeFileSync(path, `${start >= 0 ? current.slice(0, start) : current.trimEnd()}\n${md}`);
} finally {
  teardown();
}
