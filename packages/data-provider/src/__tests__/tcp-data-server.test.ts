import { connect, createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DATA_CONNECTION_CLOSED,
  DATA_FRAME_MALFORMED,
  DATA_INVALID_CONFIG,
  DATA_FRAME_TOO_LARGE,
  DATA_PROTOCOL_VERSION_MISMATCH,
  DATA_REMOTE_ERROR,
  DATA_REQUEST_REJECTED,
  DATA_SERVER_BUSY,
  DATA_TIMEOUT,
  DATA_TOKEN_OUT_OF_RANGE,
  createRng,
  isPsycheError,
} from '@psyche/core';
import {
  DEFAULT_TCP_IDS_PER_REQUEST,
  FrameDecoder,
  SEQUENCES_HEADER_BYTES,
  TCP_PROTOCOL_VERSION,
  connectTcpDataProvider,
  createInMemoryProvider,
  createRoundAuthorizer,
  dataProviderComplianceTests,
  decodeMessage,
  encodeMessage,
  encodeSequencesHeader,
  startTcpDataServer,
  type DataMessage,
  type DataProvider,
  type TcpDataServer,
} from '../index.ts';
import { randomTokens, rejectionCode } from './helpers.ts';

const vocabSize = 3000;
const seqLen = 16;
const shards = [randomTokens(2000, vocabSize, 't1')];
const memory = (): ReturnType<typeof createInMemoryProvider> => createInMemoryProvider({ shards, vocabSize, seqLen, shuffleSeed: 'tcp' });

const codeOf = rejectionCode;

/** A raw socket speaking frames by hand, for hostile-client tests. */
async function rawPeer(port: number): Promise<{ socket: Socket; messages: DataMessage[]; closed: Promise<void> }> {
  const socket = connect({ host: '127.0.0.1', port });
  await new Promise<void>((resolve) => socket.once('connect', resolve));
  const decoder = new FrameDecoder(1 << 24);
  const messages: DataMessage[] = [];
  socket.on('data', (chunk: Buffer) => {
    for (const frame of decoder.push(chunk)) messages.push(decodeMessage(frame));
  });
  socket.on('error', () => {});
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  return { socket, messages, closed };
}

function within<T>(promise: Promise<T>, ms: number): Promise<T | 'timeout'> {
  return Promise.race([promise, new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), ms))]);
}

describe('TCP data server + client', () => {
  let server: TcpDataServer;
  beforeAll(async () => {
    server = await startTcpDataServer({ provider: memory(), authorize: () => 'ok' });
  });
  afterAll(() => server.close());

  describe('compliance', () => {
    for (const test of dataProviderComplianceTests({
      setup: async () => ({
        provider: await connectTcpDataProvider({ host: '127.0.0.1', port: server.port, clientId: 'node-a', defaultStep: 1 }),
        reference: memory(),
        requestOptions: { step: 1 },
      }),
      teardown: async ({ provider, reference }) => {
        await provider.close();
        await reference?.close();
      },
    })) it(test.name, test.run);
  });

  it('splits big requests into several frames and reassembles them in order', async () => {
    const small = await startTcpDataServer({ provider: memory(), authorize: () => 'ok', maxIdsPerRequest: 7 });
    const client = await connectTcpDataProvider({ host: '127.0.0.1', port: small.port, clientId: 'x', defaultStep: 0 });
    const ids = Array.from({ length: 50 }, (_, i) => (i * 37) % 200);
    const [remote, local] = await Promise.all([client.getSequences(ids), memory().getSequences(ids)]);
    expect(remote.tokens).toEqual(local.tokens);
    await client.close();
    await small.close();
  });

  it('reused server buffers never mix responses: two clients, many concurrent calls of different sizes', async () => {
    const shared = await startTcpDataServer({ provider: memory(), authorize: () => 'ok', maxQueuedBytes: 4096 });
    const clients = await Promise.all(
      [2, 5].map((idsPerRequest) => connectTcpDataProvider({ host: '127.0.0.1', port: shared.port, clientId: `c${idsPerRequest}`, defaultStep: 0, idsPerRequest, maxInFlight: 4 })),
    );
    const reference = memory();
    const calls = Array.from({ length: 24 }, (_, k) => Array.from({ length: 1 + ((k * 7) % 13) }, (_, i) => (k * 31 + i * 17) % 300));
    const results = await Promise.all(calls.map((ids, k) => clients[k % 2]!.getSequences(ids)));
    for (const [k, ids] of calls.entries()) expect(results[k]!.tokens).toEqual((await reference.getSequences(ids)).tokens);
    await Promise.all(clients.map((client) => client.close()));
    await shared.close();
  });

  it('pipelined sub-requests (any size, any depth) give the rows of one request; a rejected piece fails the call, not the connection', async () => {
    let calls = 0;
    const picky = await startTcpDataServer({
      provider: memory(),
      // Rejects every request that holds id 251 (not among `ids`), wherever the client's split puts it.
      authorize: ({ batchIds }) => {
        calls++;
        return batchIds.includes(251) ? { rejected: 'not-in-this-round' } : 'ok';
      },
    });
    const ids = Array.from({ length: 61 }, (_, i) => (i * 53) % 250);
    const expected = (await memory().getSequences(ids)).tokens;
    for (const [idsPerRequest, maxInFlight] of [[1, 1], [3, 2], [7, 8], [64, 8], [100, 3]] as const) {
      const client = await connectTcpDataProvider({ host: '127.0.0.1', port: picky.port, clientId: 'p', defaultStep: 0, idsPerRequest, maxInFlight });
      calls = 0;
      expect((await client.getSequences(ids)).tokens).toEqual(expected);
      expect(calls).toBe(Math.ceil(ids.length / idsPerRequest));
      expect(await codeOf(client.getSequences([...ids.slice(0, 20), 251, ...ids.slice(20)]))).toBe(DATA_REQUEST_REJECTED);
      // Responses to the failed call's other pieces still arrive and are dropped; the next call is whole.
      expect((await client.getSequences(ids.slice(5, 40))).tokens).toEqual(expected.subarray(5 * (seqLen + 1), 40 * (seqLen + 1)));
      await client.close();
    }
    await picky.close();
  });

  it('splits a call by DEFAULT_TCP_IDS_PER_REQUEST, and by what maxFrameBytes holds when that is less', async () => {
    const sizes: number[] = [];
    const counting = await startTcpDataServer({
      provider: memory(),
      authorize: ({ batchIds }) => {
        sizes.push(batchIds.length);
        return 'ok';
      },
    });
    const ids = Array.from({ length: DEFAULT_TCP_IDS_PER_REQUEST + 10 }, (_, i) => (i * 7) % 250);
    const expected = (await memory().getSequences(ids)).tokens;
    const plain = await connectTcpDataProvider({ host: '127.0.0.1', port: counting.port, clientId: 'd', defaultStep: 0 });
    expect((await plain.getSequences(ids)).tokens).toEqual(expected);
    expect(sizes.sort((a, b) => b - a)).toEqual([DEFAULT_TCP_IDS_PER_REQUEST, 10]);
    await plain.close();
    // A frame that holds 5 rows (u16, seqLen + 1 tokens each): requests of 5, even though idsPerRequest asks for 64.
    sizes.length = 0;
    const rowBytes = (seqLen + 1) * 2;
    const small = await connectTcpDataProvider({ host: '127.0.0.1', port: counting.port, clientId: 's', defaultStep: 0, idsPerRequest: 64, maxFrameBytes: SEQUENCES_HEADER_BYTES + 5 * rowBytes + rowBytes - 1 });
    expect((await small.getSequences(ids.slice(0, 23))).tokens).toEqual(expected.subarray(0, 23 * (seqLen + 1)));
    expect(Math.max(...sizes)).toBe(5);
    expect(sizes.reduce((a, b) => a + b, 0)).toBe(23);
    await small.close();
    await counting.close();
  });
});

describe('TCP data server: requests of a connection prepared together', () => {
  it('reads up to maxRequestsInFlight requests at once and still answers in request order, whatever order the reads finish in (fuzz)', async () => {
    const inner = memory();
    let active = 0;
    let peak = 0;
    const delays = createRng('delays');
    // A provider whose reads finish in a scrambled order: later requests often come back first.
    const scrambled: DataProvider = {
      describe: () => inner.describe(),
      close: () => inner.close(),
      getSequences: async (ids, options) => {
        active++;
        peak = Math.max(peak, active);
        await new Promise((resolve) => setTimeout(resolve, delays.nextInt(6)));
        active--;
        return inner.getSequences(ids, options);
      },
    };
    for (const maxRequestsInFlight of [1, 3, 8]) {
      peak = 0;
      const server = await startTcpDataServer({ provider: scrambled, authorize: () => 'ok', maxRequestsInFlight });
      const client = await connectTcpDataProvider({ host: '127.0.0.1', port: server.port, clientId: 'order', defaultStep: 0, idsPerRequest: 3, maxInFlight: 8 });
      await fc.assert(
        fc.asyncProperty(fc.array(fc.nat(400), { minLength: 1, maxLength: 40 }), async (ids) => {
          expect((await client.getSequences(ids)).tokens).toEqual((await memory().getSequences(ids)).tokens);
        }),
        { numRuns: 15 },
      );
      // Raw frames: 30 requests written at once come back as 30 responses in request order, each with its rows.
      const peer = await rawPeer(server.port);
      peer.socket.write(encodeMessage({ type: 'hello', version: TCP_PROTOCOL_VERSION, clientId: 'raw' }));
      for (let i = 0; i < 30; i++) peer.socket.write(encodeMessage({ type: 'request', requestId: 100 + i, step: 0, batchIds: [i, 2 * i] }));
      for (let waited = 0; peer.messages.length < 31 && waited < 5000; waited += 10) await new Promise((resolve) => setTimeout(resolve, 10));
      const answers = peer.messages.slice(1);
      expect(answers.map((message) => (message.type === 'sequences' ? message.requestId : -1))).toEqual(Array.from({ length: 30 }, (_, i) => 100 + i));
      for (const [i, answer] of answers.entries()) {
        const expected = (await memory().getSequences([i, 2 * i])).tokens;
        expect(answer.type === 'sequences' ? new Uint16Array(Uint8Array.from(answer.tokens).buffer) : undefined).toEqual(expected);
      }
      peer.socket.destroy();
      expect(peak).toBeLessThanOrEqual(maxRequestsInFlight);
      if (maxRequestsInFlight > 1) expect(peak).toBeGreaterThan(1);
      await client.close();
      await server.close();
    }
    expect(await codeOf(startTcpDataServer({ provider: memory(), authorize: () => 'ok', maxRequestsInFlight: 0 }))).toBe(DATA_INVALID_CONFIG);
  });
});

describe('round authorization', () => {
  it('serves a client only its ids of the current round, and rejects others with the reason', async () => {
    const authorizer = createRoundAuthorizer();
    authorizer.setAssignments(10, { alice: [[0, 9]], bob: [[10, 19]] });
    const server = await startTcpDataServer({ provider: memory(), authorize: authorizer.authorize });
    const alice = await connectTcpDataProvider({ host: '127.0.0.1', port: server.port, clientId: 'alice' });
    const rejection = async (ids: number[], step: number): Promise<string | undefined> => {
      try {
        await alice.getSequences(ids, { step });
      } catch (error) {
        if (isPsycheError(error, DATA_REQUEST_REJECTED)) return error.context.reason;
        throw error;
      }
      return undefined;
    };
    expect(await rejection([0, 5, 9], 10)).toBeUndefined();
    expect(await rejection([9, 10], 10)).toBe('not-in-this-round');
    expect(await rejection([25], 10)).toBe('wrong-data-id-for-step');
    expect(await rejection([0], 11)).toBe('wrong-data-id-for-step');
    authorizer.setAssignments(11, { alice: [[20, 29]], bob: [[0, 9]] });
    expect(await rejection([0], 11)).toBe('not-in-this-round');
    expect(await rejection([20, 29], 11)).toBeUndefined();
    expect(await rejection([0], 10)).toBeUndefined();
    authorizer.setAssignments(12, { alice: [[30, 39]] });
    expect(await rejection([0], 10)).toBe('wrong-data-id-for-step');
    // The connection stays usable after rejections.
    expect((await alice.getSequences([30], { step: 12 })).tokens.length).toBe(seqLen + 1);
    await alice.close();
    await server.close();
  });

  it('a throwing hook or provider becomes an error response, not a crash', async () => {
    const server = await startTcpDataServer({
      provider: memory(),
      authorize: ({ step }) => {
        if (step === 1) throw new Error('hook broke');
        return 'ok';
      },
    });
    const client = await connectTcpDataProvider({ host: '127.0.0.1', port: server.port, clientId: 'c' });
    expect(await codeOf(client.getSequences([0], { step: 1 }))).toBe(DATA_REMOTE_ERROR);
    expect((await client.getSequences([0], { step: 2 })).tokens.length).toBe(seqLen + 1);
    await client.close();
    await server.close();
  });
});

describe('hostile TCP clients', () => {
  let server: TcpDataServer;
  const peerErrors: number[] = [];
  beforeAll(async () => {
    server = await startTcpDataServer({
      provider: memory(),
      authorize: () => 'ok',
      maxConnections: 4,
      maxIdsPerRequest: 64,
      handshakeTimeoutMs: 300,
      idleTimeoutMs: 1000,
      writeTimeoutMs: 300,
      onPeerError: (_peer, error) => peerErrors.push(error.code),
    });
  });
  afterAll(() => server.close());

  it('an oversize frame header closes the connection with DATA_FRAME_TOO_LARGE', async () => {
    const peer = await rawPeer(server.port);
    peer.socket.write(Uint8Array.of(0xff, 0xff, 0xff, 0x7f));
    expect(await within(peer.closed, 2000)).not.toBe('timeout');
    expect(peer.messages.at(-1)).toMatchObject({ type: 'error', code: DATA_FRAME_TOO_LARGE });
  });

  it('garbage, a request before hello, and a wrong version each close the connection with a coded error', async () => {
    for (const [bytes, code] of [
      [Uint8Array.of(3, 0, 0, 0, 42, 1, 2), DATA_FRAME_MALFORMED],
      [encodeMessage({ type: 'request', requestId: 1, step: 0, batchIds: [1] }), DATA_FRAME_MALFORMED],
      [encodeMessage({ type: 'hello', version: TCP_PROTOCOL_VERSION + 1, clientId: 'x' }), DATA_PROTOCOL_VERSION_MISMATCH],
    ] as const) {
      const peer = await rawPeer(server.port);
      peer.socket.write(bytes);
      expect(await within(peer.closed, 2000)).not.toBe('timeout');
      expect(peer.messages.at(-1)).toMatchObject({ type: 'error', code });
    }
  });

  it('a silent peer (no hello) is closed after the handshake timeout; an idle one after the idle timeout', async () => {
    const silent = await rawPeer(server.port);
    const started = Date.now();
    expect(await within(silent.closed, 3000)).not.toBe('timeout');
    expect(Date.now() - started).toBeLessThan(2000);
    expect(silent.messages.at(-1)).toMatchObject({ type: 'error', code: DATA_TIMEOUT });
    const slowloris = await rawPeer(server.port);
    slowloris.socket.write(encodeMessage({ type: 'hello', version: TCP_PROTOCOL_VERSION, clientId: 's' }));
    slowloris.socket.write(Uint8Array.of(100, 0)); // half a frame header, then nothing
    expect(await within(slowloris.closed, 4000)).not.toBe('timeout');
  });

  it('refuses connections beyond maxConnections with DATA_SERVER_BUSY', async () => {
    const clients = await Promise.all(Array.from({ length: 4 }, (_, i) => connectTcpDataProvider({ host: '127.0.0.1', port: server.port, clientId: `c${i}` })));
    expect(server.connections).toBe(4);
    expect(await codeOf(connectTcpDataProvider({ host: '127.0.0.1', port: server.port, clientId: 'extra' }))).toBe(DATA_SERVER_BUSY);
    await Promise.all(clients.map((client) => client.close()));
    for (let i = 0; i < 50 && server.connections > 0; i++) await new Promise((resolve) => setTimeout(resolve, 20));
    const again = await connectTcpDataProvider({ host: '127.0.0.1', port: server.port, clientId: 'again' });
    await again.close();
  });

  it('a client that asks but never reads is dropped after the write timeout (bounded buffering)', async () => {
    const wide = createInMemoryProvider({ shards: [randomTokens(200_000, vocabSize, 'wide')], vocabSize, seqLen: 1024 });
    const errors: number[] = [];
    const big = await startTcpDataServer({ provider: wide, authorize: () => 'ok', writeTimeoutMs: 300, onPeerError: (_peer, error) => errors.push(error.code) });
    const peer = await rawPeer(big.port);
    peer.socket.write(encodeMessage({ type: 'hello', version: TCP_PROTOCOL_VERSION, clientId: 'greedy' }));
    await new Promise((resolve) => setTimeout(resolve, 50));
    peer.socket.pause();
    const ids = Array.from({ length: 64 }, (_, i) => i);
    for (let i = 0; i < 400; i++) peer.socket.write(encodeMessage({ type: 'request', requestId: i, step: 0, batchIds: ids }));
    // The paused peer cannot observe the close itself; the server's side shows it.
    for (let i = 0; i < 100 && (big.connections > 0 || !errors.includes(DATA_TIMEOUT)); i++) await new Promise((resolve) => setTimeout(resolve, 50));
    expect(errors).toContain(DATA_TIMEOUT);
    expect(big.connections).toBe(0);
    peer.socket.destroy();
    await big.close();
  });

  it('a request with more ids than allowed is a malformed frame', async () => {
    const peer = await rawPeer(server.port);
    peer.socket.write(encodeMessage({ type: 'hello', version: TCP_PROTOCOL_VERSION, clientId: 'big' }));
    peer.socket.write(encodeMessage({ type: 'request', requestId: 1, step: 0, batchIds: Array.from({ length: 65 }, (_, i) => i) }));
    expect(await within(peer.closed, 2000)).not.toBe('timeout');
    expect([DATA_FRAME_MALFORMED, DATA_FRAME_TOO_LARGE]).toContain((peer.messages.at(-1) as { code: number }).code);
  });
});

describe('hostile TCP servers', () => {
  let server: Server;
  let port = 0;
  let behaviour: (socket: Socket, message: DataMessage) => void = () => {};
  const honestWelcome = { type: 'welcome', version: TCP_PROTOCOL_VERSION, dtype: 'u16', vocabSize, seqLen, sequenceCount: 100, maxIdsPerRequest: 16, name: 'evil' } as const;
  let welcome = encodeMessage(honestWelcome);
  beforeAll(async () => {
    server = createServer((socket) => {
      const decoder = new FrameDecoder(1 << 16);
      socket.on('error', () => {});
      socket.on('data', (chunk: Buffer) => {
        for (const frame of decoder.push(chunk)) {
          const message = decodeMessage(frame);
          if (message.type === 'hello') socket.write(welcome);
          else behaviour(socket, message);
        }
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  const connectEvil = (extra = {}) => connectTcpDataProvider({ host: '127.0.0.1', port, clientId: 'victim', defaultStep: 0, requestTimeoutMs: 300, maxFrameBytes: 1 << 20, ...extra });

  it('a frame bigger than the client allows → DATA_FRAME_TOO_LARGE', async () => {
    behaviour = (socket) => socket.write(Uint8Array.of(0, 0, 0, 0x40));
    const client = await connectEvil();
    expect(await codeOf(client.getSequences([0]))).toBe(DATA_FRAME_TOO_LARGE);
    await client.close();
  });

  it('no answer → DATA_TIMEOUT; a closed connection → DATA_CONNECTION_CLOSED', async () => {
    behaviour = () => {};
    const client = await connectEvil();
    expect(await codeOf(client.getSequences([0]))).toBe(DATA_TIMEOUT);
    behaviour = (socket) => socket.destroy();
    expect(await codeOf(client.getSequences([0]))).toBe(DATA_CONNECTION_CLOSED);
    await client.close();
  });

  it('tokens ≥ vocabSize or a wrong row count → coded errors', async () => {
    const rowBytes = (seqLen + 1) * 2;
    behaviour = (socket, message) => {
      if (message.type !== 'request') return;
      const bytes = new Uint8Array(message.batchIds.length * rowBytes).fill(0xff);
      socket.write(encodeSequencesHeader(message.requestId, message.batchIds.length, bytes.length));
      socket.write(bytes);
    };
    const client = await connectEvil();
    expect(await codeOf(client.getSequences([0, 1]))).toBe(DATA_TOKEN_OUT_OF_RANGE);
    behaviour = (socket, message) => {
      if (message.type !== 'request') return;
      socket.write(encodeMessage({ type: 'sequences', requestId: message.requestId, rows: 1, tokens: new Uint8Array(rowBytes) }));
    };
    expect(await codeOf(client.getSequences([0, 1]))).toBe(DATA_FRAME_MALFORMED);
    await client.close();
  });

  it('a welcome whose rows could never be served (huge seqLen, u16 vocabulary above 2^16, a row over the frame limit) → DATA_FRAME_MALFORMED at connect', async () => {
    // Each would make getSequences allocate rows of a size the server chose, or wait for a frame it cannot send.
    for (const dims of [
      { seqLen: 2 ** 32 - 1, dtype: 'u32' },
      { seqLen: 2 ** 24 + 1 },
      { vocabSize: 70_000 },
      { seqLen: 2 ** 19 }, // (2^19 + 1) × 2 bytes > the 1 MiB frame limit of connectEvil
    ] as const) {
      welcome = encodeMessage({ ...honestWelcome, ...dims });
      try {
        expect([dims, await codeOf(connectEvil())]).toEqual([dims, DATA_FRAME_MALFORMED]);
      } finally {
        welcome = encodeMessage(honestWelcome);
      }
    }
    // The largest row that fits the frame limit is still accepted.
    welcome = encodeMessage({ ...honestWelcome, seqLen: ((1 << 20) - 12) / 2 - 1 });
    try {
      const client = await connectEvil();
      expect(client.describe().seqLen).toBe(((1 << 20) - 12) / 2 - 1);
      await client.close();
    } finally {
      welcome = encodeMessage(honestWelcome);
    }
  });

  it('a server that never welcomes → DATA_TIMEOUT at connect', async () => {
    const mute = createServer(() => {});
    await new Promise<void>((resolve) => mute.listen(0, '127.0.0.1', resolve));
    const mutePort = (mute.address() as AddressInfo).port;
    expect(await codeOf(connectTcpDataProvider({ host: '127.0.0.1', port: mutePort, clientId: 'x', connectTimeoutMs: 200 }))).toBe(DATA_TIMEOUT);
    mute.close();
  });
});
