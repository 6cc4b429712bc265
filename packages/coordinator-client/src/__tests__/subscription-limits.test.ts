import { COORDINATOR_INVALID_CONFIG, COORDINATOR_RPC_ERROR, COORDINATOR_RPC_MESSAGE_TOO_LARGE, isPsycheError, psycheErrorCodeOf } from '@psyche/core';
import { generateKeyPairSigner, type Address } from '@solana/kit';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { WebSocketServer, type WebSocket } from 'ws';
import { hostileJsonText } from '../../../../scripts/hostile-json.ts';
import { nestsDeeperThan } from '../subscriptions-channel-internal.ts';
import { COORDINATOR_PROGRAM_ADDRESS, CoordinatorClient, DEFAULT_MAX_SUBSCRIPTION_MESSAGE_BYTES, RUN_ACCOUNT_SIZE, emptyRunAccount, encodeRunAccount, type RunAccount } from '../index.ts';

const SUBSCRIPTION = 7;
const accountValue = {
  data: [Buffer.from(encodeRunAccount(emptyRunAccount())).toString('base64'), 'base64'],
  executable: false,
  lamports: 1_000_000,
  owner: COORDINATOR_PROGRAM_ADDRESS,
  rentEpoch: 0,
  space: RUN_ACCOUNT_SIZE,
};
/** A well-formed run account notification, padded with an extra field to `padding` more bytes. */
const notification = (padding = 0): string =>
  JSON.stringify({ jsonrpc: '2.0', method: 'accountNotification', params: { result: { context: { slot: 1 }, value: accountValue }, subscription: SUBSCRIPTION }, padding: 'x'.repeat(padding) });

/**
 * An RPC endpoint on 127.0.0.1 that answers getAccountInfo with a run account and accountSubscribe
 * with a subscription id, then lets the test send whatever it likes on that WebSocket.
 */
async function startHostileEndpoint(): Promise<{ rpcUrl: string; wsUrl: string; subscriber: Promise<WebSocket>; stop(): Promise<void> }> {
  const http = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => {
      const { id } = JSON.parse(body) as { id: unknown };
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ jsonrpc: '2.0', id, result: { context: { slot: 1 }, value: accountValue } }));
    });
  });
  const wss = new WebSocketServer({ server: http });
  const subscriber = new Promise<WebSocket>((resolve) => {
    wss.on('connection', (socket) => {
      socket.on('error', () => {});
      socket.on('message', (raw) => {
        const { id, method } = JSON.parse(raw.toString()) as { id: unknown; method: string };
        if (method !== 'accountSubscribe') return;
        socket.send(JSON.stringify({ jsonrpc: '2.0', id, result: SUBSCRIPTION }));
        resolve(socket);
      });
    });
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const { port } = http.address() as AddressInfo;
  return {
    rpcUrl: `http://127.0.0.1:${port}`,
    wsUrl: `ws://127.0.0.1:${port}`,
    subscriber,
    async stop() {
      for (const client of wss.clients) client.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
      http.closeAllConnections();
      await new Promise<void>((resolve) => http.close(() => resolve()));
    },
  };
}

async function until(condition: () => boolean, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
}

/** Runs client.subscribe until it ends or `ms` pass; returns what it ended with and the accounts it saw. */
function subscribeFor(client: CoordinatorClient, ms: number): { seen: RunAccount[]; outcome: Promise<unknown> } {
  const seen: RunAccount[] = [];
  const signal = AbortSignal.timeout(ms);
  const outcome = client.subscribe('11111111111111111111111111111112' as Address, (account) => seen.push(account), { signal }).then(
    () => 'ended without error',
    (e: unknown) => e,
  );
  return { seen, outcome };
}

/**
 * A client subscribed to `endpoint` for 6 s, past the initial fetch: the endpoint's socket to it,
 * what the subscription saw and ended with, and whether that socket has closed.
 */
async function subscribedClient(endpoint: Awaited<ReturnType<typeof startHostileEndpoint>>, maxSubscriptionMessageBytes?: number) {
  const payer = await generateKeyPairSigner();
  const client = new CoordinatorClient({ rpcUrl: endpoint.rpcUrl, wsUrl: endpoint.wsUrl, payer, ...(maxSubscriptionMessageBytes === undefined ? {} : { maxSubscriptionMessageBytes }) });
  const { seen, outcome } = subscribeFor(client, 6_000);
  const socket = await endpoint.subscriber;
  let closed = false;
  socket.on('close', () => (closed = true));
  await until(() => seen.length === 1, 3_000); // the initial fetch
  return { seen, outcome, socket, closed: () => closed };
}

describe('CoordinatorClient subscriptions against an endpoint sending oversized messages', () => {
  it('delivers a normal notification, then fails with COORDINATOR_RPC_MESSAGE_TOO_LARGE on a larger-than-limit one and closes the connection', async () => {
    const endpoint = await startHostileEndpoint();
    try {
      const { seen, outcome, socket, closed } = await subscribedClient(endpoint);
      socket.send(notification());
      await until(() => seen.length === 2, 3_000);
      expect(seen).toHaveLength(2);

      // A well-formed notification, padded past the default limit: the previous client decoded it.
      socket.send(notification(DEFAULT_MAX_SUBSCRIPTION_MESSAGE_BYTES));
      const error = await outcome;
      expect(isPsycheError(error, COORDINATOR_RPC_MESSAGE_TOO_LARGE), String(error)).toBe(true);
      expect((error as { context: { limit: number } }).context.limit).toBe(DEFAULT_MAX_SUBSCRIPTION_MESSAGE_BYTES);
      expect(seen).toHaveLength(2);
      await until(closed, 3_000);
      expect(closed()).toBe(true);
    } finally {
      await endpoint.stop();
    }
  }, 15_000);

  it('refuses a frame by its declared length, without waiting for (or buffering) its payload', async () => {
    const endpoint = await startHostileEndpoint();
    try {
      const started = Date.now();
      const { outcome, socket } = await subscribedClient(endpoint, 100_000);
      // A text frame header declaring 64 MiB (unmasked, server to client), then 64 KiB of it and nothing more
      // (Node's own WebSocket, which the previous client used, waits for the rest).
      const header = Buffer.alloc(10);
      header[0] = 0x81;
      header[1] = 127;
      header.writeBigUInt64BE(64n << 20n, 2);
      const raw = (socket as unknown as { _socket: import('node:net').Socket })._socket;
      raw.write(Buffer.concat([header, Buffer.alloc(64 * 1024, 0x20)]));
      const error = await outcome;
      expect(isPsycheError(error, COORDINATOR_RPC_MESSAGE_TOO_LARGE), String(error)).toBe(true);
      // Well before the 6 s the previous client spent waiting for the rest.
      expect(Date.now() - started).toBeLessThan(5_000);
      // The client dropped the connection.
      await until(() => raw.destroyed, 3_000);
      expect(raw.destroyed).toBe(true);
    } finally {
      await endpoint.stop();
    }
  }, 15_000);

  it('accepts a notification just under a custom limit', async () => {
    const endpoint = await startHostileEndpoint();
    try {
      const limit = notification().length + 1_000;
      const { seen, outcome, socket } = await subscribedClient(endpoint, limit);
      socket.send(notification(999));
      await until(() => seen.length === 2, 3_000);
      expect(seen).toHaveLength(2);
      socket.send(notification(1_001));
      expect(isPsycheError(await outcome, COORDINATOR_RPC_MESSAGE_TOO_LARGE)).toBe(true);
    } finally {
      await endpoint.stop();
    }
  }, 15_000);
});

describe('CoordinatorClient subscriptions against an endpoint sending deeply nested messages', () => {
  it('fails with COORDINATOR_RPC_ERROR on a notification nested 6,000 deep (parsing it overflowed the stack in an event listener and ended the process), and reads a notification nesting 61 levels', async () => {
    const endpoint = await startHostileEndpoint();
    try {
      const { seen, outcome, socket, closed } = await subscribedClient(endpoint);
      // Brackets inside strings do not count; 61 levels of real nesting (60 here, in the top object) are read.
      const nested = (levels: number): string => `${'['.repeat(levels)}"[{\\"]"${']'.repeat(levels)}`;
      socket.send(notification().replace('"padding"', `"nested":${nested(60)},"padding"`));
      await until(() => seen.length === 2, 3_000);
      expect(seen).toHaveLength(2);
      socket.send(notification().replace('"padding"', `"nested":${nested(6_000)},"padding"`));
      const error = await outcome;
      expect(isPsycheError(error, COORDINATOR_RPC_ERROR), String(error)).toBe(true);
      expect(seen).toHaveLength(2);
      await until(closed, 3_000);
      expect(closed()).toBe(true);
    } finally {
      await endpoint.stop();
    }
  }, 15_000);
});

describe('nestsDeeperThan', () => {
  it('fuzz: agrees with a regex reading of the text\'s depth, for any JSON text (strings with brackets and escapes, repeated keys)', () => {
    // The text's depth, not the parsed value's: with a repeated key JSON.parse keeps the last value, but still reads the first.
    const depthOf = (text: string): number => {
      let depth = 0;
      let deepest = 0;
      for (const c of text.replace(/"(?:[^"\\]|\\.)*"/g, '""')) {
        if (c === '[' || c === '{') deepest = Math.max(deepest, ++depth);
        else if (c === ']' || c === '}') depth--;
      }
      return deepest;
    };
    const text = fc.oneof(hostileJsonText(), fc.jsonValue().map((v) => JSON.stringify(v)), fc.string().map((v) => JSON.stringify([v, { [v]: [v] }])));
    fc.assert(
      fc.property(text, fc.nat(70), (t, limit) => {
        expect(nestsDeeperThan(t, limit)).toBe(depthOf(t) > limit);
      }),
      { numRuns: Number(process.env.FUZZ_RUNS ?? 1000) },
    );
  });
});

describe('CoordinatorClient maxSubscriptionMessageBytes', () => {
  it('defaults to at least 4x the run account notification', () => {
    expect(DEFAULT_MAX_SUBSCRIPTION_MESSAGE_BYTES).toBeGreaterThan(4 * notification().length);
  });

  it('refuses a limit that is not an integer in [1, 2^31 - 1] (ws would read 2^31 as no limit) and a non-WebSocket wsUrl', async () => {
    const payer = await generateKeyPairSigner();
    for (const bad of [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 31, { toString: null } as unknown as number, Symbol('n') as unknown as number]) {
      let error: unknown;
      try {
        new CoordinatorClient({ rpcUrl: 'http://127.0.0.1:1', payer, maxSubscriptionMessageBytes: bad });
      } catch (e) {
        error = e;
      }
      expect(isPsycheError(error, COORDINATOR_INVALID_CONFIG), String(error)).toBe(true);
    }
    expect(() => new CoordinatorClient({ rpcUrl: 'http://127.0.0.1:1', wsUrl: 'ftp://127.0.0.1:1', payer })).toThrow(/wsUrl/);
    // Options of the wrong type from a JS caller: coded errors, not a TypeError (replace on a non-string) or a RangeError at the first request.
    for (const options of [{ rpcUrl: 7 }, { rpcUrl: 'ftp://127.0.0.1:1' }, { rpcUrl: 'http://127.0.0.1:1', wsUrl: Symbol('w') }, { rpcUrl: 'http://127.0.0.1:1', requestTimeoutMs: Number.NaN }, { rpcUrl: 'http://127.0.0.1:1', requestTimeoutMs: 2 ** 31 }]) {
      expect(psycheErrorCodeOf(() => new CoordinatorClient({ payer, ...options } as never))).toBe(COORDINATOR_INVALID_CONFIG);
    }
  });
});
