import { TopicValidatorResult } from '@libp2p/gossipsub';
import type { PeerId } from '@libp2p/interface';
import { GossipEngine } from './gossip-engine-internal.ts';
import type { ReceiveVerdict } from './gossip-engine-internal.ts';
import { gossipTopic } from './gossip.ts';
import type { Gossip, GossipOptions } from './gossip.ts';
import type { NodeId } from './node-id.ts';
import type { P2pNode } from './p2p-node.ts';
import { peerIdToNodeId } from './peer-id.ts';

const VERDICT_TO_GOSSIPSUB: Record<ReceiveVerdict, TopicValidatorResult> = {
  accept: TopicValidatorResult.Accept,
  forward: TopicValidatorResult.Accept,
  ignore: TopicValidatorResult.Ignore,
  // Reject also lowers the peer's gossipsub score (invalid message deliveries), on top of ours.
  reject: TopicValidatorResult.Reject,
};

function senderOf(peer: PeerId): NodeId | undefined {
  try {
    return peerIdToNodeId(peer);
  } catch {
    return undefined;
  }
}

/**
 * Gossip over libp2p gossipsub: one topic per run, checked by the shared engine inside gossipsub's
 * topic validator, so invalid frames are neither delivered nor forwarded.
 */
export function createLibp2pGossip(node: P2pNode, runId: string, options: GossipOptions = {}): Gossip {
  const topic = gossipTopic(runId);
  const pubsub = node.libp2p.services.pubsub;
  const engine = new GossipEngine(
    node.identity,
    topic,
    async (bytes) => {
      await pubsub.publish(topic, bytes);
    },
    async () => {
      pubsub.topicValidators.delete(topic);
      pubsub.unsubscribe(topic);
    },
    options,
  );
  pubsub.topicValidators.set(topic, (peer, message) => VERDICT_TO_GOSSIPSUB[engine.receive(message.data, senderOf(peer))]);
  pubsub.subscribe(topic);
  return engine;
}
