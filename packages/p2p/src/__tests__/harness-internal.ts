import { BLOB_PROTOCOL, BLOB_REQUEST_LENGTH, readExactly } from '../blob-frames.ts';
import type { BlobProvider } from '../blob-ticket.ts';
import type { BlobStore, BlobStoreLimits } from '../blob-store.ts';
import type { BlobHarness, GossipHarness } from '../compliance.ts';
import { waitFor } from '../compliance.ts';
import { gossipTopic } from '../gossip.ts';
import type { Gossip, GossipOptions } from '../gossip.ts';
import { generateIdentity } from '../identity.ts';
import { createLibp2pBlobStore } from '../libp2p-blob-store.ts';
import { createLibp2pGossip } from '../libp2p-gossip.ts';
import { MemoryBlobNetwork } from '../memory-blob-store.ts';
import { readStream } from '../stream-reader-internal.ts';
import type { RawBlobHandler } from '../memory-blob-store.ts';
import { MemoryGossipNetwork } from '../memory-gossip.ts';
import { createP2pNode } from '../p2p-node.ts';
import type { P2pNode } from '../p2p-node.ts';

export interface Closable {
  close(): Promise<void>;
}

export function memoryGossipHarness(): GossipHarness & Closable {
  const network = new MemoryGossipNetwork();
  const gossips: Gossip[] = [];
  return {
    addNodes: async (runId, count, options) => {
      const added = Array.from({ length: count }, () => network.join(generateIdentity(), runId, options));
      gossips.push(...added);
      return added;
    },
    createRawSender: async (runId) => {
      const identity = generateIdentity();
      return { identity, send: async (bytes) => network.inject(runId, bytes, identity.nodeId) };
    },
    close: async () => {
      await Promise.all(gossips.map((g) => g.stop()));
    },
  };
}

/** Dials every pair (a before b) and waits until each side sees the other subscribed to `topic`. */
async function connectAll(newNodes: P2pNode[], existing: P2pNode[], topic: string): Promise<void> {
  const all = [...existing];
  for (const node of newNodes) {
    for (const other of all) await node.dial(other.multiaddrs()[0]!);
    all.push(node);
  }
  await waitFor(
    () =>
      all.every((node) => {
        const subscribers = new Set(node.libp2p.services.pubsub.getSubscribers(topic).map((p) => p.toString()));
        return all.every((other) => other === node || subscribers.has(other.peerId.toString()));
      }),
    15_000,
    'gossipsub subscriptions',
  );
}

export function libp2pGossipHarness(): GossipHarness & Closable {
  const nodes: P2pNode[] = [];
  const gossips: Gossip[] = [];
  return {
    addNodes: async (runId, count, options?: GossipOptions) => {
      const created = await Promise.all(Array.from({ length: count }, () => createP2pNode({ identity: generateIdentity() })));
      const added = created.map((node) => createLibp2pGossip(node, runId, options));
      await connectAll(created, [...nodes], gossipTopic(runId));
      nodes.push(...created);
      gossips.push(...added);
      return added;
    },
    createRawSender: async (runId) => {
      const identity = generateIdentity();
      const node = await createP2pNode({ identity, gossipsub: { ignoreDuplicatePublishError: true } });
      const topic = gossipTopic(runId);
      node.libp2p.services.pubsub.subscribe(topic);
      await connectAll([node], [...nodes], topic);
      nodes.push(node);
      return {
        identity,
        send: async (bytes) => {
          await node.libp2p.services.pubsub.publish(topic, bytes);
        },
      };
    },
    close: async () => {
      await Promise.all(gossips.map((g) => g.stop()));
      await Promise.all(nodes.map((n) => n.stop()));
    },
  };
}

export function memoryBlobHarness(): BlobHarness & Closable {
  const network = new MemoryBlobNetwork();
  const stores: BlobStore[] = [];
  return {
    createStore: async (limits?: BlobStoreLimits) => {
      const store = network.createStore(generateIdentity().nodeId, limits === undefined ? {} : { limits });
      stores.push(store);
      return store;
    },
    createRawProvider: async (handler: RawBlobHandler): Promise<BlobProvider> => {
      const nodeId = generateIdentity().nodeId;
      network.addRawProvider(nodeId, handler);
      return { nodeId, addrs: [] };
    },
    close: async () => {
      await Promise.all(stores.map((s) => s.stop()));
    },
  };
}

export function libp2pBlobHarness(): BlobHarness & Closable {
  const nodes: P2pNode[] = [];
  const stores: BlobStore[] = [];
  return {
    createStore: async (limits?: BlobStoreLimits) => {
      const node = await createP2pNode({ identity: generateIdentity() });
      nodes.push(node);
      const store = await createLibp2pBlobStore(node, limits === undefined ? {} : { limits });
      stores.push(store);
      return store;
    },
    createRawProvider: async (handler: RawBlobHandler): Promise<BlobProvider> => {
      const node = await createP2pNode({ identity: generateIdentity() });
      nodes.push(node);
      await node.libp2p.handle(BLOB_PROTOCOL, async (stream) => {
        const controller = new AbortController();
        stream.addEventListener('close', () => controller.abort());
        try {
          const { bytes } = await readExactly(readStream(stream), BLOB_REQUEST_LENGTH, 'request');
          for await (const chunk of handler(bytes, controller.signal)) {
            if (!stream.send(chunk)) await stream.onDrain();
          }
          await stream.close();
        } catch (e) {
          stream.abort(e instanceof Error ? e : new Error(String(e)));
        }
      });
      return { nodeId: node.nodeId, addrs: node.multiaddrs() };
    },
    close: async () => {
      await Promise.all(stores.map((s) => s.stop()));
      await Promise.all(nodes.map((n) => n.stop()));
    },
  };
}
