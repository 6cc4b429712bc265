/**
 * Blob fetches from a provider in a child process, for profiling either side:
 *   node --cpu-prof --conditions=@psyche/source --import tsx src/__benchmarks__/profile-fetch.ts
 * PROVIDER_FLAGS passes node flags to the provider (e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof").
 * RUNS (default 8) fetches of a 64 MiB blob; prints MB/s per fetch and CPU time of both processes.
 * STOCK=1 puts @chainsafe/libp2p-noise's own transport stream on both ends (the reference).
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { createRng, toHex } from '@psyche/core';
import { Agent, PACKAGE_DIR } from '../__tests__/netns-internal.ts';
import { ticketFromString } from '../blob-ticket.ts';
import { generateIdentity } from '../identity.ts';
import { createLibp2pBlobStore } from '../libp2p-blob-store.ts';
import { createP2pNode } from '../p2p-node.ts';

const rng = createRng('profile-fetch');
const bytes = 64 * 1024 * 1024;
const runs = Number(process.env.RUNS ?? 8);
const stockNoiseStream = process.env.STOCK === '1';
const fetcher = await createP2pNode({ identity: generateIdentity(rng), stockNoiseStream });
const store = await createLibp2pBlobStore(fetcher);
const provider = new Agent(
  undefined,
  resolve(PACKAGE_DIR, 'src/__tests__/netns-agent.ts'),
  [JSON.stringify({ secretKey: toHex(generateIdentity(rng).secretKey), listen: ['/ip4/127.0.0.1/tcp/0'], relays: [], runId: 'profile', stockNoiseStream })],
  process.env.PROVIDER_FLAGS?.split(' ').filter((f) => f !== '') ?? [],
);
try {
  const ready = await provider.waitFor((e) => e.event === 'ready', 30_000, 'provider');
  const { ticket: text } = await provider.request({ cmd: 'add', size: bytes, random: true }, 60_000);
  const ticket = ticketFromString(String(text));
  await fetcher.dial((ready.addrs as string[])[0]!);
  const speeds: string[] = [];
  const childCpu = () => {
    const fields = readFileSync(`/proc/${provider.child.pid!}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(fields[11]) + Number(fields[12])) * 10;
  };
  // Main threads' run-queue wait (ns) from schedstat: time runnable but not running, i.e. the
  // other agents' load, as opposed to waiting on the other process.
  const waiting = () => [process.pid, provider.child.pid!].map((pid) => Number(readFileSync(`/proc/${pid}/schedstat`, 'utf8').split(' ')[1]) / 1e6);
  const waitStart = waiting();
  const cpuStart = process.cpuUsage();
  const childStart = childCpu();
  const loopStart = performance.now();
  for (let i = 0; i < runs; i++) {
    const started = performance.now();
    await store.fetch(ticket);
    speeds.push((bytes / 1e3 / (performance.now() - started)).toFixed(0));
    await store.delete(ticket.hash);
  }
  const cpu = process.cpuUsage(cpuStart);
  console.log(`${speeds.join(' ')} MB/s; ${(performance.now() - loopStart).toFixed(0)} ms wall, fetcher ${((cpu.user + cpu.system) / 1000).toFixed(0)} ms CPU (${(cpu.system / 1000).toFixed(0)} system), provider ${childCpu() - childStart} ms CPU; run-queue wait of the main threads: fetcher ${(waiting()[0]! - waitStart[0]!).toFixed(0)} ms, provider ${(waiting()[1]! - waitStart[1]!).toFixed(0)} ms`);
  // A clean exit lets the provider write its profile.
  provider.child.stdin!.end();
  await new Promise((done) => setTimeout(done, 2_000));
} finally {
  provider.kill();
  await store.stop();
  await fetcher.stop();
}
process.exit(0);
