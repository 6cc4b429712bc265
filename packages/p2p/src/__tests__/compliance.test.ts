import { describe, it } from 'vitest';
import { blobStoreComplianceCases, gossipComplianceCases } from '../compliance.ts';
import { libp2pBlobHarness, libp2pGossipHarness, memoryBlobHarness, memoryGossipHarness } from './harness-internal.ts';

const teardown = async (h: { close(): Promise<void> }) => h.close();

describe('Gossip compliance: in-memory', () => {
  for (const c of gossipComplianceCases({ setup: async () => memoryGossipHarness(), teardown })) it(c.name, c.run);
});

describe('Gossip compliance: libp2p gossipsub', () => {
  for (const c of gossipComplianceCases({ setup: async () => libp2pGossipHarness(), teardown })) it(c.name, c.run);
});

describe('BlobStore compliance: in-memory', () => {
  for (const c of blobStoreComplianceCases({ setup: async () => memoryBlobHarness(), teardown })) it(c.name, c.run);
});

describe('BlobStore compliance: libp2p streams', () => {
  for (const c of blobStoreComplianceCases({ setup: async () => libp2pBlobHarness(), teardown })) it(c.name, c.run);
});
