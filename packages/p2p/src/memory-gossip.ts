import { GossipEngine } from './gossip-engine-internal.ts';
import { gossipTopic } from './gossip.ts';
import type { Gossip, GossipOptions } from './gossip.ts';
import type { Identity } from './identity.ts';
import type { NodeId } from './node-id.ts';

/**
 * In-process gossip network: every joined node gets every frame (as encoded bytes, through the same
 * checks as a real transport). For tests and single-process simulations.
 */
export class MemoryGossipNetwork {
  readonly #topics = new Map<string, Set<GossipEngine>>();

  join(identity: Identity, runId: string, options: GossipOptions = {}): Gossip {
    const topic = gossipTopic(runId);
    let engines = this.#topics.get(topic);
    if (engines === undefined) {
      engines = new Set();
      this.#topics.set(topic, engines);
    }
    const peers = engines;
    const engine: GossipEngine = new GossipEngine(
      identity,
      topic,
      async (bytes) => this.#deliver(peers, engine, bytes, identity.nodeId),
      async () => {
        peers.delete(engine);
      },
      options,
    );
    peers.add(engine);
    return engine;
  }

  /** Injects raw bytes as if `from` had sent them: how tests play a hostile peer. */
  inject(runId: string, bytes: Uint8Array, from: NodeId): void {
    const engines = this.#topics.get(gossipTopic(runId));
    if (engines !== undefined) this.#deliver(engines, undefined, bytes, from);
  }

  #deliver(engines: Set<GossipEngine>, source: GossipEngine | undefined, bytes: Uint8Array, from: NodeId): void {
    // Asynchronous like a network: publish returns before handlers run.
    for (const engine of engines) {
      if (engine !== source) queueMicrotask(() => engine.receive(bytes, from));
    }
  }
}
