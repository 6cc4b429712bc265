// One peer of the shaped-link exchange bench (run inside a network namespace by shaped-links.ts):
// every step it publishes a payload of the given size as a blob with a gossip announcement, fetches
// every other peer's payload of that step, and reports how long the all-gather took.
//   exchange-peer.ts <index> <ip> <peersFile> <payloadBytes> <steps> <peerCount>
import { readFile, writeFile } from 'node:fs/promises';
import { createRng, utf8Decode, utf8Encode } from '@psyche/core';
import { createLibp2pBlobStore, createLibp2pGossip, createP2pNode, generateIdentity, nodeIdToString, ticketFromString, ticketToString } from '@psyche/p2p';

const [indexText, ip, peersFile, sizeText, stepsText, countText] = process.argv.slice(2);
const index = Number(indexText);
const size = Number(sizeText);
const steps = Number(stepsText);
const count = Number(countText);
const identity = generateIdentity(createRng(`exchange-peer-${index}`));
const node = await createP2pNode({ identity, listen: [`/ip4/${ip}/tcp/0`] });
const gossip = createLibp2pGossip(node, 'shaped-links', { rebroadcast: { delaysMs: [500, 2_000, 5_000] } });
const blobs = await createLibp2pBlobStore(node);
const members = Array.from({ length: count }, (_, i) => generateIdentity(createRng(`exchange-peer-${i}`)).nodeId);
gossip.setMembers(members);
await writeFile(`${peersFile}.${index}`, node.multiaddrs()[0]!);
// Wait for every peer's address, then dial the ones with a lower index (one connection per pair).
const addrs: string[] = [];
for (let i = 0; i < count; i++) {
  for (;;) {
    const text = await readFile(`${peersFile}.${i}`, 'utf8').catch(() => '');
    if (text) {
      addrs.push(text);
      break;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}
process.stderr.write(`peer ${index}: addresses ${addrs.join(' ')}\n`);
for (let i = 0; i < index; i++) await node.dial(addrs[i]!);
process.stderr.write(`peer ${index}: dialed\n`);
while (node.libp2p.getPeers().length < count - 1) await new Promise((r) => setTimeout(r, 100));
await new Promise((r) => setTimeout(r, 6_000)); // gossipsub subscriptions and mesh (publishing earlier can miss a peer)

const received = new Map<number, Set<string>>();
/** Per step, the peers that finished it (a barrier, as a coordinator round would be). */
const finished = new Map<number, Set<string>>();
const waiters: (() => void)[] = [];
const wake = () => {
  for (const w of waiters.splice(0)) w();
};
gossip.onMessage((m) => {
  const [stepText, ticketText] = utf8Decode(m.payload).split(' ');
  const step = Number(stepText);
  if (ticketText === 'done') {
    let set = finished.get(step);
    if (!set) finished.set(step, (set = new Set()));
    set.add(nodeIdToString(m.sender));
    wake();
    return;
  }
  const ticket = ticketFromString(ticketText!);
  const fetchWithRetry = async (): Promise<void> => {
    for (let attempt = 0; attempt < 5; attempt++) {
      try {
        await blobs.fetch(ticket, { signal: AbortSignal.timeout(30_000) });
        return;
      } catch (e) {
        process.stderr.write(`peer ${index}: fetch of step ${step} from ${nodeIdToString(m.sender).slice(0, 8)} failed: ${String(e)}\n`);
      }
    }
  };
  void fetchWithRetry().then(() => {
    let set = received.get(step);
    if (!set) received.set(step, (set = new Set()));
    set.add(nodeIdToString(m.sender));
    wake();
  });
});

process.stderr.write(`peer ${index}: connected to ${node.libp2p.getPeers().length}\n`);
const times: number[] = [];
for (let step = 0; step < steps; step++) {
  const payload = new Uint8Array(size);
  payload.fill((index * 31 + step) & 255, 0, 64); // distinct blobs per peer and step
  const started = performance.now();
  const ticket = await blobs.add(payload);
  await gossip.publish(utf8Encode(`${step} ${ticketToString(ticket)}`));
  while ((received.get(step)?.size ?? 0) < count - 1) await new Promise<void>((r) => waiters.push(r));
  times.push(performance.now() - started);
  process.stderr.write(`peer ${index}: step ${step} ${times.at(-1)!.toFixed(0)} ms\n`);
  // Barrier: the next step starts when every peer has all of this one (so nobody stops serving early).
  await gossip.publish(utf8Encode(`${step} done`));
  const deadline = Date.now() + 60_000;
  while ((finished.get(step)?.size ?? 0) < count - 1 && Date.now() < deadline) await new Promise<void>((r) => (waiters.push(r), setTimeout(r, 500)));
}
process.stdout.write(`${JSON.stringify({ index, size, times })}\n`);
await gossip.stop();
await blobs.stop();
await node.stop();
process.exit(0);
