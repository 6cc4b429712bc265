/**
 * A peer driven over stdin/stdout by the netns test and benchmark: one JSON command per input
 * line, one JSON event per output line. Not part of the package API.
 *
 * argv[2]: JSON {secretKey: hex, listen: string[], relays: string[], runId, storageDir?, stockNoiseStream?}
 */
import { createInterface } from 'node:readline';
import { createRng, fromHex } from '@psyche/core';
import { blake3 } from '../blake3.ts';
import { DirectoryBlobStorage, MemoryBlobStorage } from '../blob-storage.ts';
import { ticketFromString, ticketToString } from '../blob-ticket.ts';
import { identityFromSecretKey } from '../identity.ts';
import { createLibp2pBlobStore } from '../libp2p-blob-store.ts';
import { createLibp2pGossip } from '../libp2p-gossip.ts';
import { nodeIdFromString, nodeIdToString } from '../node-id.ts';
import { createP2pNode } from '../p2p-node.ts';

const config = JSON.parse(process.argv[2]!) as {
  secretKey: string;
  listen: string[];
  relays: string[];
  runId: string;
  storageDir?: string;
  stockNoiseStream?: boolean;
};
const emit = (event: Record<string, unknown>) => process.stdout.write(`${JSON.stringify(event)}\n`);

const identity = identityFromSecretKey(fromHex(config.secretKey));
const node = await createP2pNode({ identity, listen: config.listen, relays: config.relays, stockNoiseStream: config.stockNoiseStream === true });
const gossip = createLibp2pGossip(node, config.runId, { rebroadcast: { delaysMs: [1_000, 3_000] } });
const storage = config.storageDir === undefined ? new MemoryBlobStorage() : await DirectoryBlobStorage.open(config.storageDir);
const blobs = await createLibp2pBlobStore(node, { storage, limits: { stallTimeoutMs: 10_000 } });
gossip.onMessage((m) =>
  emit({ event: 'gossip', sender: nodeIdToString(m.sender), text: new TextDecoder().decode(m.payload), via: m.receivedFrom && nodeIdToString(m.receivedFrom) }),
);
gossip.onReject((r) => emit({ event: 'reject', code: r.error.code }));

if (config.relays.length > 0) {
  const deadline = Date.now() + 15_000;
  while (!node.multiaddrs().some((a) => a.includes('/p2p-circuit')) && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
emit({ event: 'ready', nodeId: nodeIdToString(node.nodeId), peerId: node.peerId.toString(), addrs: node.multiaddrs() });

const handlers: Record<string, (cmd: Record<string, unknown>) => Promise<Record<string, unknown>>> = {
  members: async (cmd) => {
    gossip.setMembers((cmd.members as string[]).map(nodeIdFromString));
    return {};
  },
  dial: async (cmd) => {
    await node.dial(String(cmd.addr), { signal: AbortSignal.timeout(15_000) });
    const connections = node.libp2p.getConnections().map((c) => c.remoteAddr.toString());
    return { connections };
  },
  waitSubscribers: async (cmd) => {
    const deadline = Date.now() + 15_000;
    while (node.libp2p.services.pubsub.getSubscribers(gossip.topic).length < Number(cmd.count)) {
      if (Date.now() > deadline) throw new Error('no subscribers');
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    return {};
  },
  publish: async (cmd) => {
    const { id, seq } = await gossip.publish(new TextEncoder().encode(String(cmd.text)));
    return { messageId: id, seq };
  },
  add: async (cmd) => {
    const size = Number(cmd.size);
    const content = new Uint8Array(size);
    if (cmd.random === true) {
      // Incompressible content, seeded: benchmarks must not depend on what the bytes are.
      const rng = createRng(`agent-blob-${size}`);
      const view = new DataView(content.buffer);
      for (let i = 0; i + 4 <= size; i += 4) view.setUint32(i, rng.nextU32());
    } else {
      for (let i = 0; i < size; i += 4096) content[i] = (i / 4096) & 255;
    }
    const ticket = await blobs.add(content);
    return { ticket: ticketToString(ticket) };
  },
  fetch: async (cmd) => {
    const ticket = ticketFromString(String(cmd.ticket));
    const started = performance.now();
    const result = await blobs.fetch(ticket, { signal: AbortSignal.timeout(Number(cmd.timeoutMs ?? 60_000)) });
    const ms = performance.now() - started;
    const bytes = await blobs.read(ticket.hash);
    const verified = nodeIdToString(blake3(bytes) as never) === nodeIdToString(ticket.hash as never);
    await blobs.delete(ticket.hash);
    return { ms, size: bytes.length, verified, provider: result.provider && nodeIdToString(result.provider) };
  },
  connections: async () => ({
    connections: node.libp2p.getConnections().map((c) => ({ addr: c.remoteAddr.toString(), limits: c.limits ?? null })),
  }),
};

const lines = createInterface({ input: process.stdin });
lines.on('line', (line) => {
  const cmd = JSON.parse(line) as Record<string, unknown>;
  const handler = handlers[String(cmd.cmd)];
  if (handler === undefined) {
    emit({ event: 'error', id: cmd.id, message: `unknown command ${String(cmd.cmd)}` });
    return;
  }
  handler(cmd).then(
    (result) => emit({ event: 'done', id: cmd.id, ...result }),
    (e: unknown) => emit({ event: 'error', id: cmd.id, message: String((e as Error)?.message ?? e) }),
  );
});
lines.on('close', () => {
  void Promise.all([gossip.stop(), blobs.stop()])
    .then(() => node.stop())
    .finally(() => process.exit(0));
});
