import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { DATA_HTTP_STATUS, isPsycheError } from '@psyche/core';
import { HttpFetcher } from '../index.ts';

const MAX_TIMER_MS = 2 ** 31 - 1;

describe('HttpFetcher backoff', () => {
  let server: Server | undefined;
  afterEach(async () => {
    vi.restoreAllMocks();
    await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)));
    server = undefined;
  });

  it('never asks for a timer past 2^31 − 1 ms (node fires those after 1 ms), even when maxBackoffMs is that limit', async () => {
    let requests = 0;
    server = createServer((_req, res) => {
      requests++;
      res.writeHead(503).end();
    });
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/x`;

    // Backoff timers (the only long ones here) are recorded and fired at once: no real waiting.
    const backoffs: number[] = [];
    const realSetTimeout = globalThis.setTimeout;
    vi.spyOn(globalThis, 'setTimeout').mockImplementation(((callback: () => void, ms?: number) => {
      if (ms !== undefined && ms > 60_000) {
        backoffs.push(ms);
        return realSetTimeout(callback, 0);
      }
      return realSetTimeout(callback, ms);
    }) as typeof setTimeout);

    const retries = 8;
    const fetcher = new HttpFetcher({ retries, backoffMs: MAX_TIMER_MS, maxBackoffMs: MAX_TIMER_MS, timeoutMs: 5_000 });
    try {
      const error = await fetcher.getAll(url, 1024).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(isPsycheError(error, DATA_HTTP_STATUS)).toBe(true);
    } finally {
      fetcher.close();
    }
    expect(requests).toBe(retries + 1);
    expect(backoffs).toHaveLength(retries);
    // Jitter in [0.5, 1.5) of the cap: some delays are at the limit, none past it, none below half of it.
    for (const ms of backoffs) {
      expect(ms).toBeLessThanOrEqual(MAX_TIMER_MS);
      expect(ms).toBeGreaterThanOrEqual(MAX_TIMER_MS / 2);
    }
    expect(backoffs).toContain(MAX_TIMER_MS);
  }, 15_000);
});
