import { P2P_INVALID_CONFIG, createRng, psycheErrorCodeOf, psycheErrorCodeOfAsync } from '@psyche/core';
import { describe, expect, it } from 'vitest';
import type { BlobStoreLimits } from '../blob-store.ts';
import type { GossipOptions } from '../gossip.ts';
import { generateIdentity } from '../identity.ts';
import { createLibp2pBlobStore } from '../libp2p-blob-store.ts';
import { MemoryBlobNetwork } from '../memory-blob-store.ts';
import { createP2pNode, type P2pNode } from '../p2p-node.ts';
import { MemoryGossipNetwork } from '../memory-gossip.ts';
import { PeerScores, type PeerScoresOptions } from '../peer-scores.ts';

// {toString: null} (as JSON.parse makes it) and a symbol: the first `bytes.length > limit` or
// `score <= banThreshold` on either threw a TypeError in the middle of message handling.
const hostile = [{ toString: null }, Symbol('s')] as unknown[];

describe('gossip and peer-score options from a JS caller', () => {
  it('a gossip option of the wrong type or range is P2P_INVALID_CONFIG when joining, for the memory engine and libp2p alike (one engine)', async () => {
    const network = new MemoryGossipNetwork();
    const identity = generateIdentity(createRng(5));
    const bad: GossipOptions[] = [null as unknown as GossipOptions, { maxMessageBytes: 0 }, { seenCacheSize: Number.NaN }, { maxBacklogBytes: -1 }, { rebroadcast: { delaysMs: [-1] } }, { rebroadcast: null } as unknown as GossipOptions];
    for (const value of hostile) {
      for (const field of ['maxMessageBytes', 'seenCacheSize', 'maxBacklogBytes', 'rebroadcast', 'now', 'scores']) bad.push({ [field]: value } as GossipOptions);
      bad.push({ rebroadcast: { delaysMs: [value as number] } });
    }
    for (const options of bad) expect(psycheErrorCodeOf(() => network.join(identity, 'run', options))).toBe(P2P_INVALID_CONFIG);
    // Good options still join, and the failed joins left nothing behind.
    const gossip = network.join(identity, 'run', { maxMessageBytes: 1024, seenCacheSize: 10, maxBacklogBytes: 0, rebroadcast: { delaysMs: [] }, now: () => 1, scores: new PeerScores() });
    await gossip.stop();
  });

  it('a PeerScores option of the wrong type is P2P_INVALID_CONFIG', () => {
    const bad: PeerScoresOptions[] = [null as unknown as PeerScoresOptions, { banThreshold: Number.NaN }, { penalties: { 5005: Infinity } } as PeerScoresOptions];
    for (const value of hostile) {
      for (const field of ['banThreshold', 'maxScore', 'benignFloor', 'penalties']) bad.push({ [field]: value } as PeerScoresOptions);
      bad.push({ penalties: { 5005: value } } as unknown as PeerScoresOptions);
    }
    for (const options of bad) expect(psycheErrorCodeOf(() => new PeerScores(options))).toBe(P2P_INVALID_CONFIG);
    expect(new PeerScores({ banThreshold: -50, maxScore: 10, benignFloor: -20, penalties: { 5005: 30 } }).banThreshold).toBe(-50);
  });

  it('blob store limits and the request timeout of the wrong type or range are P2P_INVALID_CONFIG', async () => {
    const network = new MemoryBlobNetwork();
    const nodeId = generateIdentity(createRng(6)).nodeId;
    const bad: BlobStoreLimits[] = [{ maxBlobBytes: -1 }, { maxConcurrentFetches: 0 }, { stallTimeoutMs: 2 ** 31 }, { fetchRounds: 1.5 }];
    for (const value of hostile) {
      for (const field of ['maxBlobBytes', 'maxConcurrentFetches', 'maxConcurrentServes', 'stallTimeoutMs', 'fetchRounds']) bad.push({ [field]: value } as BlobStoreLimits);
    }
    for (const limits of bad) expect(psycheErrorCodeOf(() => network.createStore(nodeId, { limits }))).toBe(P2P_INVALID_CONFIG);
    await network.createStore(nodeId, { limits: { maxBlobBytes: 1000, stallTimeoutMs: 500, fetchRounds: 1 } }).stop();
    // Checked before the node is used, so a stand-in node is enough.
    for (const value of [...hostile, 0, 2 ** 31]) {
      expect(await psycheErrorCodeOfAsync(() => createLibp2pBlobStore({} as P2pNode, { requestTimeoutMs: value as number }))).toBe(P2P_INVALID_CONFIG);
    }
  });

  it('createP2pNode: listen or relays that are not arrays of strings are P2P_INVALID_CONFIG, before libp2p starts', async () => {
    const identity = generateIdentity(createRng(7));
    for (const value of [...hostile, ['/ip4/127.0.0.1/tcp/0', Symbol('s')], 'not-an-array']) {
      expect(await psycheErrorCodeOfAsync(() => createP2pNode({ identity, listen: value as string[] }))).toBe(P2P_INVALID_CONFIG);
      expect(await psycheErrorCodeOfAsync(() => createP2pNode({ identity, relays: value as string[] }))).toBe(P2P_INVALID_CONFIG);
    }
  });
});
