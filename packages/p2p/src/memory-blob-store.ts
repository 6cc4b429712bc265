import { P2P_PROVIDER_UNREACHABLE, PsycheError } from '@psyche/core';
import { BlobEngine } from './blob-engine-internal.ts';
import { encodeBlobRequest } from './blob-frames.ts';
import type { BlobRequest } from './blob-frames.ts';
import { MemoryBlobStorage } from './blob-storage.ts';
import type { BlobStorage } from './blob-storage.ts';
import type { BlobStore, BlobStoreLimits } from './blob-store.ts';
import { nodeIdToString } from './node-id.ts';
import type { NodeId } from './node-id.ts';
import type { PeerScores } from './peer-scores.ts';

/** Answers raw request bytes with raw response bytes (header frame, then data). */
export type RawBlobHandler = (requestBytes: Uint8Array, signal: AbortSignal) => AsyncIterable<Uint8Array>;

export interface MemoryBlobStoreOptions {
  storage?: BlobStorage;
  limits?: BlobStoreLimits;
  scores?: PeerScores;
}

/**
 * In-process blob network: stores find each other by node id and exchange the same frames as over
 * libp2p (request bytes in, response bytes out), so the fetch logic is exercised unchanged.
 */
export class MemoryBlobNetwork {
  readonly #handlers = new Map<string, RawBlobHandler>();

  createStore(nodeId: NodeId, options: MemoryBlobStoreOptions = {}): BlobStore {
    const key = nodeIdToString(nodeId);
    const engine = new BlobEngine({
      nodeId,
      storage: options.storage ?? new MemoryBlobStorage(),
      connect: async (provider, request, signal) => this.#open(nodeIdToString(provider.nodeId), request, signal),
      selfAddrs: () => [],
      onStop: async () => {
        this.#handlers.delete(key);
      },
      limits: options.limits,
      scores: options.scores,
    });
    this.#handlers.set(key, (bytes) => engine.respond(bytes));
    return engine;
  }

  /** Registers a node that answers with `handler`: how tests play a hostile or stalled provider. */
  addRawProvider(nodeId: NodeId, handler: RawBlobHandler): void {
    this.#handlers.set(nodeIdToString(nodeId), handler);
  }

  async #open(provider: string, request: BlobRequest, signal: AbortSignal): Promise<AsyncIterable<Uint8Array>> {
    const handler = this.#handlers.get(provider);
    if (handler === undefined) {
      throw new PsycheError(P2P_PROVIDER_UNREACHABLE, { provider, reason: 'no such node' }, `no node ${provider.slice(0, 12)}`);
    }
    const source = handler(encodeBlobRequest(request), signal);
    // Copy each chunk, as a network would: the receiver must never alias the provider's memory.
    return (async function* () {
      for await (const chunk of source) {
        if (signal.aborted) return;
        yield Uint8Array.from(chunk);
      }
    })();
  }
}
