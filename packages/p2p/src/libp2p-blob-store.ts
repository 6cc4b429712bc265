import type { Stream } from '@libp2p/interface';
import { multiaddr } from '@multiformats/multiaddr';
import { BlobEngine, MAX_TIMER_MS, checkCountOption } from './blob-engine-internal.ts';
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

/** Bytes a serving stream may hold unsent before the next storage chunk is read. */
const SEND_QUEUE_LIMIT_BYTES = 1024 * 1024;

/**
 * Resolves on the stream's next 'drain' or 'close' event; rejects when neither comes within
 * `idleMs` (a reader that asked and stopped reading would otherwise hold a serve slot forever).
 */
function nextDrainOrClose(stream: Stream, idleMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`blob reader accepted nothing for ${idleMs} ms`));
    }, idleMs);
    const cleanup = () => {
      clearTimeout(timer);
      stream.removeEventListener('drain', done);
      stream.removeEventListener('close', done);
    };
    const done = () => {
      cleanup();
      resolve();
    };
    stream.addEventListener('drain', done);
    stream.addEventListener('close', done);
  });
}

async function sendAll(stream: Stream, chunks: AsyncIterable<Uint8Array>, idleMs: number): Promise<void> {
  for await (const chunk of chunks) {
    stream.send(chunk);
    // Backpressure on what the stream actually holds, not on send()'s answer and onDrain(): the
    // muxer tells every stream "drain" when the connection drains, also one whose own yamux window
    // is still closed, and each such drain let one more chunk in (measured: a 128 MiB blob served
    // with 118 MiB queued on the serving stream). Memory stays within the window plus this limit.
    while (stream.writeBufferLength >= SEND_QUEUE_LIMIT_BYTES && stream.status === 'open') await nextDrainOrClose(stream, idleMs);
  }
}

/**
 * Blob store serving and fetching over libp2p streams of protocol `/psyche/blob/1.0.0`.
 * Runs over relayed (limited) connections too, which NATed peers depend on.
 */
export async function createLibp2pBlobStore(node: P2pNode, options: Libp2pBlobStoreOptions = {}): Promise<BlobStore> {
  // Checked before the node is touched: a symbol timeout threw a TypeError in setTimeout at the first request.
  checkCountOption('requestTimeoutMs', options.requestTimeoutMs, 1, MAX_TIMER_MS);
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
        // A reader that accepts nothing for the stall timeout is dropped, freeing its serve slot.
        await sendAll(stream, engine.respond(bytes), engine.stallTimeoutMs);
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
