/** Prints the RSS of this process before and after starting one node with gossip and a blob store. */
import { createLibp2pBlobStore } from '../libp2p-blob-store.ts';
import { createLibp2pGossip } from '../libp2p-gossip.ts';
import { generateIdentity } from '../identity.ts';
import { createP2pNode } from '../p2p-node.ts';

const bare = process.memoryUsage().rss;
const node = await createP2pNode({ identity: generateIdentity() });
const gossip = createLibp2pGossip(node, 'lone');
const blobs = await createLibp2pBlobStore(node);
await new Promise((resolve) => setTimeout(resolve, 1_000));
process.stdout.write(`${JSON.stringify({ bare, withNode: process.memoryUsage().rss })}\n`);
await gossip.stop();
await blobs.stop();
await node.stop();
process.exit(0);
