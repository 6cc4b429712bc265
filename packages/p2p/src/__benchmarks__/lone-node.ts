/**
 * Memory of nodes in a fresh process: prints the RSS before any node, with one node (gossip and a
 * blob store started), and with `extra` more such nodes all connected to each other and gossiping.
 * Usage: lone-node.ts [extra = 19]
 */
import { createLibp2pBlobStore } from '../libp2p-blob-store.ts';
import { createLibp2pGossip } from '../libp2p-gossip.ts';
import { generateIdentity } from '../identity.ts';
import { createP2pNode } from '../p2p-node.ts';
import type { P2pNode } from '../p2p-node.ts';

const extra = Number(process.argv[2] ?? 19);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const nodes: P2pNode[] = [];
/** Held so that nothing is collected before the measurement. */
const kept: unknown[] = [];

async function startNode(): Promise<void> {
  const node = await createP2pNode({ identity: generateIdentity() });
  const gossip = createLibp2pGossip(node, 'lone', { rebroadcast: { delaysMs: [] } });
  gossip.setMembers([]);
  const blobs = await createLibp2pBlobStore(node);
  for (const other of nodes) await other.dial(node.multiaddrs()[0]!).catch(() => undefined);
  nodes.push(node);
  kept.push(gossip, blobs);
}

const bare = process.memoryUsage().rss;
await startNode();
await sleep(1_000);
const withNode = process.memoryUsage().rss;
for (let i = 0; i < extra; i++) await startNode();
await sleep(3_000); // gossipsub heartbeats: meshes formed, as in a running run
const withNodes = process.memoryUsage().rss;
process.stdout.write(`${JSON.stringify({ bare, withNode, withNodes, extra })}\n`);
process.exit(0); // measured; exiting closes every socket
