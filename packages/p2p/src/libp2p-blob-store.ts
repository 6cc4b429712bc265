import type { Stream } from '@libp2p/interface';
import { multiaddr } from '@multiformats/multiaddr';
import { BlobEngine } from './blob-engine-internal.ts';
import { BLOB_PROTOCOL, BLOB_REQUEST_LENGTH, encodeBlobRequest, readExactly } from './blob-frames.ts';
import { MemoryBlobStorage } from './blob-storage.ts';
import { readStream } from './stream-reader-internal.ts';
import type { BlobStorage } from './blob-storage.ts';
import type { BlobStore, BlobStoreLimits } from './blob-store.ts';
import type { P2pNode } from './p2p-node.ts';
import type { PeerScores } from './peer-scores.ts';
import { nodeIdToPeerId } from './peer-id.ts';

export interface Libp2pBlobStoreOptions {
  /** Default: in memory. Use `DirectoryBlobStorage.open(dir)` to keep memory bounded for large blobs. */
  storage?: BlobStorage;
  limits?: BlobStoreLimits;
  scores?: PeerScores;
  /** Time a client has to send its request frame. Default 10 s. */
  requestTimeoutMs?: number;
}

async function sendAll(stream: Stream, chunks: AsyncIterable<Uint8Array>): Promise<void> {
  for await (const chunk of chunks) {
    // Respect backpressure: memory stays bounded by the muxer window plus one storage chunk.
    if (!stream.send(chunk)) await stream.onDrain();
  }
}

/**
 * Blob store serving and fetching over libp2p streams of protocol `/psyche/blob/1.0.0`.
 * Runs over relayed (limited) connections too, which NATed peers depend on.
 */
export async function createLibp2pBlobStore(node: P2pNode, options: Libp2pBlobStoreOptions = {}): Promise<BlobStore> {
  const requestTimeoutMs = options.requestTimeoutMs ?? 10_000;
  const engine = new BlobEngine({
    nodeId: node.nodeId,
    storage: options.storage ?? new MemoryBlobStorage(),
    limits: options.limits,
    scores: options.scores,
    selfAddrs: () => node.multiaddrs(),
    onStop: async () => {
      await node.libp2p.unhandle(BLOB_PROTOCOL);
    },
    connect: async (provider, request, signal) => {
      const peerId = nodeIdToPeerId(provider.nodeId);
      const connected = node.libp2p.getConnections(peerId).length > 0;
      const target = connected || provider.addrs.length === 0 ? peerId : provider.addrs.map((a) => multiaddr(a));
      const stream = await node.libp2p.dialProtocol(target, BLOB_PROTOCOL, { signal, runOnLimitedConnection: true });
      const onAbort = () => stream.abort(signal.reason instanceof Error ? signal.reason : new Error('fetch aborted'));
      signal.addEventListener('abort', onAbort, { once: true });
      stream.send(encodeBlobRequest(request));
      await stream.close({ signal });
      return (async function* () {
        try {
          yield* readStream(stream);
        } finally {
          signal.removeEventListener('abort', onAbort);
          if (stream.status === 'open') stream.abort(new Error('fetch finished'));
        }
      })();
    },
  });
  await node.libp2p.handle(
    BLOB_PROTOCOL,
    async (stream) => {
      const timer = setTimeout(() => stream.abort(new Error('blob request timeout')), requestTimeoutMs);
      try {
        const { bytes } = await readExactly(readStream(stream), BLOB_REQUEST_LENGTH, 'request');
        clearTimeout(timer);
        await sendAll(stream, engine.respond(bytes));
        await stream.close();
      } catch (e) {
        // A malformed request, a vanished client: drop this stream only, never the node.
        stream.abort(e instanceof Error ? e : new Error(String(e)));
      } finally {
        clearTimeout(timer);
      }
    },
    { runOnLimitedConnection: true, maxInboundStreams: engine.maxConcurrentServes },
  );
  return engine;
}
