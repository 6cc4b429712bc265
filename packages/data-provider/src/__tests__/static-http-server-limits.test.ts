import { mkdtempSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { connect, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DATA_INVALID_CONFIG } from '@psyche/core';
import { startStaticHttpServer } from '../index.ts';

const dir = mkdtempSync(join(tmpdir(), 'psyche-static-limits-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const connections = (server: import('node:http').Server): Promise<number> =>
  new Promise((resolve, reject) => server.getConnections((error, count) => (error ? reject(error) : resolve(count))));

describe('static HTTP server limits', () => {
  it('refuses a writeTimeoutMs or maxConnections that is not a positive integer, before listening', async () => {
    for (const bad of [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
      await expect(startStaticHttpServer({ root: dir, writeTimeoutMs: bad })).rejects.toMatchObject({ code: DATA_INVALID_CONFIG, context: { field: 'writeTimeoutMs' } });
      await expect(startStaticHttpServer({ root: dir, maxConnections: bad })).rejects.toMatchObject({ code: DATA_INVALID_CONFIG, context: { field: 'maxConnections' } });
    }
  });
});

describe('static HTTP server against a client that stops reading', () => {
  it('drops the connection after writeTimeoutMs instead of waiting for a drain forever', async () => {
    // Larger than the server's 4 MiB of buffered output plus loopback socket buffers (sparse: no disk cost).
    const file = join(dir, 'big.bin');
    writeFileSync(file, '');
    truncateSync(file, 64 * 1024 * 1024);
    const served = await startStaticHttpServer({ root: dir, writeTimeoutMs: 300 });
    const socket = connect({ host: '127.0.0.1', port: (served.server.address() as AddressInfo).port });
    try {
      await new Promise<void>((resolve, reject) => {
        socket.once('connect', resolve);
        socket.once('error', reject);
      });
      socket.on('error', () => {});
      // Never read a byte of the response.
      socket.pause();
      socket.write('GET /big.bin HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
      const deadline = Date.now() + 6_000;
      let open = 1;
      await new Promise((resolve) => setTimeout(resolve, 500));
      while (Date.now() < deadline && (open = await connections(served.server)) > 0) await new Promise((resolve) => setTimeout(resolve, 50));
      expect(open).toBe(0);
    } finally {
      socket.destroy();
      await served.close();
    }
  }, 10_000);
});

describe('static HTTP server against a client that opens many connections', () => {
  it('closes connections past maxConnections as they arrive, keeping maxConnections open', async () => {
    writeFileSync(join(dir, 'small.bin'), new Uint8Array(16).fill(7));
    const served = await startStaticHttpServer({ root: dir, maxConnections: 4 });
    const port = (served.server.address() as AddressInfo).port;
    const sockets = Array.from({ length: 12 }, () => connect({ host: '127.0.0.1', port }));
    try {
      const outcomes = await Promise.all(
        sockets.map(
          (socket) =>
            new Promise<'closed' | 'open'>((resolve) => {
              socket.on('error', () => {});
              socket.once('close', () => resolve('closed'));
              // Still open after a while: the server kept it.
              setTimeout(() => resolve('open'), 1_500).unref();
            }),
        ),
      );
      expect(outcomes.filter((o) => o === 'open')).toHaveLength(4);
      expect(await connections(served.server)).toBe(4);
    } finally {
      for (const socket of sockets) socket.destroy();
      await served.close();
    }
  }, 10_000);
});
