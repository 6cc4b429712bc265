import { deepStrictEqual, ok, strictEqual } from 'node:assert/strict';
import { TopicValidatorResult } from '@libp2p/gossipsub';
import { createRng } from '@psyche/core';
import { afterEach, describe, it } from 'vitest';
import { waitFor } from '../compliance.ts';
import { gossipTopic } from '../gossip.ts';
import type { Gossip, GossipMessage, GossipOptions } from '../gossip.ts';
import { generateIdentity } from '../identity.ts';
import { createLibp2pGossip } from '../libp2p-gossip.ts';
import { MemoryGossipNetwork } from '../memory-gossip.ts';
import { createP2pNode } from '../p2p-node.ts';
import type { P2pNode } from '../p2p-node.ts';

// Runs of 3 or 4 nodes, where gossipsub's mesh is as small as it gets: the first copy of a message
// is lost for one peer, and the publisher's retransmission must still get through.

const RUN = 'small-run';
const TOPIC = gossipTopic(RUN);
const rng = createRng('gossip-small-runs');
const open: { nodes: P2pNode[]; gossips: Gossip[] } = { nodes: [], gossips: [] };

afterEach(async () => {
  await Promise.all(open.gossips.splice(0).map((g) => g.stop()));
  await Promise.all(open.nodes.splice(0).map((n) => n.stop()));
});

async function startNodes(count: number): Promise<P2pNode[]> {
  const nodes = await Promise.all(Array.from({ length: count }, () => createP2pNode({ identity: generateIdentity(rng) })));
  open.nodes.push(...nodes);
  return nodes;
}

function join(node: P2pNode, members: P2pNode[], options: GossipOptions): Gossip {
  const gossip = createLibp2pGossip(node, RUN, options);
  gossip.setMembers(members.map((m) => m.nodeId));
  open.gossips.push(gossip);
  return gossip;
}

async function connect(pairs: [P2pNode, P2pNode][]): Promise<void> {
  for (const [a, b] of pairs) await a.dial(b.multiaddrs()[0]!);
}

/** Waits until every listed pair sees each other subscribed to the run's topic. */
async function subscribed(pairs: [P2pNode, P2pNode][]): Promise<void> {
  const sees = (a: P2pNode, b: P2pNode) => a.libp2p.services.pubsub.getSubscribers(TOPIC).some((p) => p.equals(b.peerId));
  await waitFor(() => pairs.every(([a, b]) => sees(a, b) && sees(b, a)), 15_000, 'subscriptions');
}

/** Makes `node`'s transport lose the first gossip frame it receives, as a peer that is not meshed yet would. */
function dropFirstFrame(node: P2pNode): { frames: () => number } {
  const validators = node.libp2p.services.pubsub.topicValidators;
  const validate = validators.get(TOPIC)!;
  let frames = 0;
  validators.set(TOPIC, (peer, message) => {
    frames++;
    return frames === 1 ? TopicValidatorResult.Ignore : validate(peer, message);
  });
  return { frames: () => frames };
}

function inbox(gossip: Gossip): GossipMessage[] {
  const messages: GossipMessage[] = [];
  gossip.onMessage((m) => messages.push(m));
  return messages;
}

const pairsOf = (nodes: P2pNode[]) => nodes.flatMap((a, i) => nodes.slice(0, i).map((b) => [a, b] as [P2pNode, P2pNode]));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('gossip in small runs (libp2p, loopback)', () => {
  for (const count of [3, 4]) {
    it(`${count} nodes: the first copy lost for one peer, the retransmission delivers it once`, async () => {
      const nodes = await startNodes(count);
      const gossips = nodes.map((n) => join(n, nodes, { rebroadcast: { delaysMs: [300, 600] } }));
      await connect(pairsOf(nodes));
      await subscribed(pairsOf(nodes));
      const unlucky = nodes[count - 1]!;
      const loss = dropFirstFrame(unlucky);
      const inboxes = gossips.map(inbox);
      const payload = new TextEncoder().encode(`announcement to ${count}`);
      const { id } = await gossips[0]!.publish(payload);
      // Gossipsub remembers the lost copy's message id, so the other peers' forwards of it are
      // dropped as duplicates too: only a retransmission with other bytes (the envelope's attempt
      // counter) gets through.
      await waitFor(() => inboxes.slice(1).every((messages) => messages.length === 1), 10_000, 'delivery to every peer');
      ok(loss.frames() >= 2, 'the unlucky peer got a retransmission');
      await sleep(900);
      for (const messages of inboxes.slice(1)) {
        strictEqual(messages.length, 1, 'delivered once');
        strictEqual(messages[0]!.id, id);
        deepStrictEqual(new Uint8Array(messages[0]!.payload), payload);
      }
      strictEqual(inboxes[0]!.length, 0);
    });
  }

  it('4 nodes in a line: a peer that subscribes after the first send gets the retransmission through two forwarders', async () => {
    // a - b - c - d: d is not connected to the publisher; b and c have delivered the first copy
    // already and must forward the retransmission (a new round) rather than drop it.
    const [a, b, c, d] = (await startNodes(4)) as [P2pNode, P2pNode, P2pNode, P2pNode];
    const all = [a, b, c, d];
    const line: [P2pNode, P2pNode][] = [[b, a], [c, b], [d, c]];
    const [ga, gb, gc] = [a, b, c].map((n) => join(n, all, { rebroadcast: { delaysMs: [1_500, 3_000] } })) as [Gossip, Gossip, Gossip];
    await connect(line);
    await subscribed(line.slice(0, 2));
    const early = [gb, gc].map(inbox);
    const { id } = await ga.publish(new TextEncoder().encode('before d listened'));
    await waitFor(() => early.every((messages) => messages.length === 1), 10_000, 'delivery to b and c');
    const gd = join(d, all, { rebroadcast: { delaysMs: [] } });
    const late = inbox(gd);
    await waitFor(() => late.length === 1, 10_000, 'retransmission reaching d');
    strictEqual(late[0]!.id, id);
    await sleep(300);
    for (const messages of [...early, late]) strictEqual(messages.length, 1);
  });
});

describe('gossip backlog before the first handler (in-memory)', () => {
  it('keeps at most maxBacklogBytes of payload, oldest dropped, in arrival order', async () => {
    const network = new MemoryGossipNetwork();
    const [alice, bob] = [generateIdentity(rng), generateIdentity(rng)];
    const sender = network.join(alice, RUN, { rebroadcast: { delaysMs: [] } });
    const receiver = network.join(bob, RUN, { maxBacklogBytes: 10 });
    for (const g of [sender, receiver]) g.setMembers([alice.nodeId, bob.nodeId]);
    for (const text of ['first!', 'second', 'third!']) await sender.publish(new TextEncoder().encode(text));
    await sleep(20);
    const messages = inbox(receiver);
    await sleep(20);
    deepStrictEqual(
      messages.map((m) => new TextDecoder().decode(m.payload)),
      ['third!'],
    );
    await sender.publish(new TextEncoder().encode('fourth'));
    await waitFor(() => messages.length === 2, 1_000, 'direct delivery');
    strictEqual(new TextDecoder().decode(messages[1]!.payload), 'fourth');
    await Promise.all([sender.stop(), receiver.stop()]);
  });
});
