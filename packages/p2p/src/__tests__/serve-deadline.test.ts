import { describe, expect, it } from 'vitest';
import { BLOB_PROTOCOL, encodeBlobRequest } from '../blob-frames.ts';
import { waitFor } from '../compliance.ts';
import { generateIdentity } from '../identity.ts';
import { createLibp2pBlobStore } from '../libp2p-blob-store.ts';
import { createP2pNode } from '../p2p-node.ts';

describe('blob serving against a fetcher that stops reading', () => {
  it('drops the stalled reader after stallTimeoutMs, so its serve slot goes to the next fetcher', async () => {
    const MiB = 1024 * 1024;
    const provider = await createP2pNode({ identity: generateIdentity() });
    const client = await createP2pNode({ identity: generateIdentity() });
    try {
      // One serve slot: while the stalled reader holds it, every other fetch is refused.
      const providerStore = await createLibp2pBlobStore(provider, { limits: { maxConcurrentServes: 1, stallTimeoutMs: 300 } });
      const clientStore = await createLibp2pBlobStore(client, { limits: { stallTimeoutMs: 2_000, fetchRounds: 1 } });
      const large = await providerStore.add(new Uint8Array(24 * MiB).fill(1));
      const small = await providerStore.add(new Uint8Array(1000).fill(2));
      await client.dial(provider.multiaddrs()[0]!);
      // Asks for 24 MiB and never reads: its yamux window closes, the server's queue fills.
      const stalled = await client.libp2p.dialProtocol(provider.peerId, BLOB_PROTOCOL);
      stalled.pause();
      stalled.send(encodeBlobRequest({ hash: large.hash, offset: 0 }));
      const servingStreams = () =>
        provider.libp2p.getConnections().flatMap((connection) => connection.streams.filter((s) => s.protocol === BLOB_PROTOCOL)).length;
      await waitFor(() => servingStreams() === 1, 3_000, 'the stalled request being served');
      await waitFor(() => servingStreams() === 0, 4_000, 'the stalled reader dropped');
      const fetched = await clientStore.fetch({ ...small, providers: [{ nodeId: provider.nodeId, addrs: [] }] });
      expect(fetched.size).toBe(1000);
      expect(fetched.failedAttempts).toBe(0);
      stalled.abort(new Error('test done'));
      await Promise.all([providerStore.stop(), clientStore.stop()]);
    } finally {
      await Promise.all([provider.stop(), client.stop()]);
    }
  }, 12_000);
});
