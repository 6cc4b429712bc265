import { P2P_PEER_BANNED, P2P_SIGNATURE_INVALID, createRng } from '@psyche/core';
import { describe, expect, it } from 'vitest';
import { BLOB_PROTOCOL, BlobStatus, decodeBlobHeader, encodeBlobRequest, readExactly } from '../blob-frames.ts';
import { waitFor } from '../compliance.ts';
import { encodeEnvelope, sealEnvelope } from '../envelope.ts';
import type { GossipMessage, GossipRejection } from '../gossip.ts';
import { generateIdentity } from '../identity.ts';
import { createLibp2pBlobStore } from '../libp2p-blob-store.ts';
import { MemoryGossipNetwork } from '../memory-gossip.ts';
import { createP2pNode } from '../p2p-node.ts';
import { nodeIdToPeerId } from '../peer-id.ts';

describe('hostile peers', () => {
  it('bans a peer whose penalties pass the threshold, then drops even its valid messages', async () => {
    const network = new MemoryGossipNetwork();
    const rng = createRng(11);
    const target = network.join(generateIdentity(rng), 'ban-run', { rebroadcast: { delaysMs: [] } });
    const attacker = generateIdentity(rng);
    target.setMembers([attacker.nodeId]);
    const messages: GossipMessage[] = [];
    const rejections: GossipRejection[] = [];
    target.onMessage((m) => messages.push(m));
    target.onReject((r) => rejections.push(r));
    // Two bad signatures (penalty 50 each) reach the ban threshold of -100.
    for (let seq = 0; seq < 2; seq++) {
      const envelope = sealEnvelope({ identity: attacker, topic: target.topic, seq, timestampMs: 0, payload: new Uint8Array([1]) });
      network.inject('ban-run', encodeEnvelope({ ...envelope, payload: new Uint8Array([2]) }), attacker.nodeId);
    }
    await waitFor(() => rejections.length === 2, 2_000, 'two rejections');
    expect(rejections.every((r) => r.error.code === P2P_SIGNATURE_INVALID)).toBe(true);
    expect(target.scores.isBanned(attacker.nodeId)).toBe(true);
    const valid = sealEnvelope({ identity: attacker, topic: target.topic, seq: 9, timestampMs: 0, payload: new Uint8Array([3]) });
    network.inject('ban-run', encodeEnvelope(valid), attacker.nodeId);
    await waitFor(() => rejections.length === 3, 2_000, 'ban rejection');
    expect(rejections[2]!.error.code).toBe(P2P_PEER_BANNED);
    expect(messages).toHaveLength(0);
    await target.stop();
  });

  it('a blob provider survives malformed and silent requests and keeps serving', async () => {
    const provider = await createP2pNode({ identity: generateIdentity() });
    const client = await createP2pNode({ identity: generateIdentity() });
    const store = await createLibp2pBlobStore(provider, { requestTimeoutMs: 300 });
    try {
      const ticket = await store.add(new Uint8Array(1000).fill(9));
      await client.dial(provider.multiaddrs()[0]!);
      const peer = nodeIdToPeerId(provider.nodeId);
      const chunks = async function* (stream: AsyncIterable<Uint8Array | { subarray(): Uint8Array }>) {
        for await (const c of stream) yield c instanceof Uint8Array ? c : c.subarray();
      };

      // A well-sized request with a bad magic byte: answered "bad request".
      const bad = await client.libp2p.dialProtocol(peer, BLOB_PROTOCOL);
      const garbage = encodeBlobRequest({ hash: ticket.hash, offset: 0 });
      garbage[0] = 0x00;
      bad.send(garbage);
      await bad.close();
      const { bytes } = await readExactly(chunks(bad)[Symbol.asyncIterator](), 11, 'header');
      expect(decodeBlobHeader(bytes).status).toBe(BlobStatus.badRequest);

      // A client that opens a stream and says nothing: the provider gives up after requestTimeoutMs.
      const silent = await client.libp2p.dialProtocol(peer, BLOB_PROTOCOL);
      await waitFor(() => silent.status !== 'open', 5_000, 'silent stream closed by the provider');

      // Offsets past the end: bad request, not a crash.
      const past = await client.libp2p.dialProtocol(peer, BLOB_PROTOCOL);
      past.send(encodeBlobRequest({ hash: ticket.hash, offset: 5000 }));
      await past.close();
      const header = await readExactly(chunks(past)[Symbol.asyncIterator](), 11, 'header');
      expect(decodeBlobHeader(header.bytes).status).toBe(BlobStatus.badRequest);

      // Still serving honest fetchers.
      const fetcher = await createLibp2pBlobStore(client);
      const result = await fetcher.fetch(ticket);
      expect(result.size).toBe(1000);
      await fetcher.stop();
    } finally {
      await store.stop();
      await Promise.all([provider.stop(), client.stop()]);
    }
  });

  it('serving streams queue at most about two storage chunks, also one whose reader stopped while its connection drains for another fetch', async () => {
    const MiB = 1024 * 1024;
    const provider = await createP2pNode({ identity: generateIdentity() });
    const client = await createP2pNode({ identity: generateIdentity() });
    try {
      const providerStore = await createLibp2pBlobStore(provider);
      const clientStore = await createLibp2pBlobStore(client);
      const stalled = await providerStore.add(new Uint8Array(24 * MiB).fill(1));
      const moving = await providerStore.add(new Uint8Array(48 * MiB).fill(2));
      await client.dial(provider.multiaddrs()[0]!);
      // A reader that asks and then stops reading: paused, its yamux window closes after 4 MiB.
      const stream = await client.libp2p.dialProtocol(provider.peerId, BLOB_PROTOCOL);
      stream.pause();
      stream.send(encodeBlobRequest({ hash: stalled.hash, offset: 0 }));
      let maxQueued = 0;
      const sample = () => {
        for (const connection of provider.libp2p.getConnections()) {
          for (const served of connection.streams) {
            if (served.protocol === BLOB_PROTOCOL) maxQueued = Math.max(maxQueued, served.writeBufferLength);
          }
        }
      };
      const sampler = setInterval(sample, 5);
      // Meanwhile another fetch drains the connection again and again: each such drain reaches
      // every stream, also the stalled one.
      await clientStore.fetch(moving);
      await new Promise((resolve) => setTimeout(resolve, 100));
      clearInterval(sampler);
      sample();
      expect(maxQueued).toBeGreaterThan(0);
      expect(maxQueued).toBeLessThanOrEqual(2 * MiB);
      stream.abort(new Error('test done'));
      await Promise.all([providerStore.stop(), clientStore.stop()]);
    } finally {
      await Promise.all([provider.stop(), client.stop()]);
    }
  });
});
