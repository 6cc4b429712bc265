import { P2P_MALFORMED_BLOB_FRAME, isPsycheError } from '@psyche/core';
import { describe, expect, it } from 'vitest';
import { generateIdentity } from '../identity.ts';
import { MemoryBlobNetwork } from '../memory-blob-store.ts';

describe('blob fetch of a ticket whose size is not a byte count', () => {
  it('is P2P_MALFORMED_BLOB_FRAME before any provider is asked', async () => {
    const network = new MemoryBlobNetwork();
    const providerId = generateIdentity().nodeId;
    const provider = network.createStore(providerId);
    const client = network.createStore(generateIdentity().nodeId, { limits: { stallTimeoutMs: 500, fetchRounds: 1 } });
    const ticket = await provider.add(new Uint8Array(100).fill(3));
    for (const size of [Number.NaN, -1, 1.5, Number.POSITIVE_INFINITY]) {
      const error = await client.fetch({ hash: ticket.hash, size, providers: [{ nodeId: providerId, addrs: [] }] }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect([size, isPsycheError(error, P2P_MALFORMED_BLOB_FRAME)], String(error)).toEqual([size, true]);
    }
    await Promise.all([provider.stop(), client.stop()]);
  }, 8_000);
});
