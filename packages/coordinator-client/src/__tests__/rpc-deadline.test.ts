import { COORDINATOR_RPC_ERROR, isPsycheError } from '@psyche/core';
import { generateKeyPairSigner } from '@solana/kit';
import { createServer, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { CoordinatorClient } from '../index.ts';

describe('CoordinatorClient against an RPC server that accepts and never answers', () => {
  it('fails each request with COORDINATOR_RPC_ERROR at requestTimeoutMs instead of hanging', async () => {
    const sockets = new Set<Socket>();
    // Reads the request, answers nothing (a dead or hostile RPC endpoint).
    const silent = createServer((socket) => {
      sockets.add(socket);
      socket.on('error', () => {});
      socket.resume();
    });
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const { port } = silent.address() as AddressInfo;
    try {
      const payer = await generateKeyPairSigner();
      const client = new CoordinatorClient({ rpcUrl: `http://127.0.0.1:${port}`, payer, requestTimeoutMs: 300 });
      const started = Date.now();
      const error = await client.fetchRun(payer.address).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(isPsycheError(error, COORDINATOR_RPC_ERROR), String(error)).toBe(true);
      expect(String(error)).toContain('getAccountInfo');
      expect(Date.now() - started).toBeLessThan(4_000);
      expect(sockets.size).toBeGreaterThan(0);
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => silent.close(() => resolve()));
    }
  }, 8_000);
});
