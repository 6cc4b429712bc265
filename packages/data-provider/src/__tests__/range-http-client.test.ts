import { createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { DATA_HTTP_FAILED, DATA_HTTP_SHORT_READ, DATA_TIMEOUT } from '@psyche/core';
import { HttpFetcher, parseHead } from '../index.ts';
import { rejectionCode } from './helpers.ts';

const file = Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 13) & 0xff));

/** A raw TCP server answering each request (one per blank line) with `respond(rangeStart, rangeEnd, socket)`. */
async function rawHttpServer(respond: (start: number, end: number, socket: Socket) => void): Promise<{ url: string; connections: () => number; requests: () => number; close(): Promise<void> }> {
  let connections = 0;
  let requests = 0;
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    connections++;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    let pending = '';
    socket.on('data', (chunk: Buffer) => {
      pending += chunk.toString('latin1');
      for (let end = pending.indexOf('\r\n\r\n'); end >= 0; end = pending.indexOf('\r\n\r\n')) {
        const head = pending.slice(0, end);
        pending = pending.slice(end + 4);
        requests++;
        const range = /range: bytes=(\d+)-(\d+)/i.exec(head);
        respond(Number(range?.[1] ?? 0), Number(range?.[2] ?? file.length - 1), socket);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/f.bin`,
    connections: () => connections,
    requests: () => requests,
    close: () =>
      new Promise((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

function partial(start: number, end: number, extraHeaders = ''): Buffer {
  return Buffer.concat([
    Buffer.from(`HTTP/1.1 206 Partial Content\r\nContent-Range: bytes ${start}-${end}/${file.length}\r\nContent-Length: ${end - start + 1}\r\n${extraHeaders}\r\n`),
    file.subarray(start, end + 1),
  ]);
}

const fetchers: HttpFetcher[] = [];
const fetcher = (): HttpFetcher => {
  const created = new HttpFetcher({ retries: 0, timeoutMs: 1000 });
  fetchers.push(created);
  return created;
};
afterEach(() => {
  for (const created of fetchers.splice(0)) created.close();
});

describe('RangeHttpClient (Range GETs over plain http)', () => {
  it('parses response heads and refuses malformed ones', () => {
    expect(parseHead('HTTP/1.1 206 Partial Content\r\nContent-Length: 5\r\nX-A:  b ')).toEqual({ statusCode: 206, headers: { 'content-length': '5', 'x-a': 'b' }, httpVersion: '1.1' });
    expect(parseHead('HTTP/1.0 200')).toEqual({ statusCode: 200, headers: {}, httpVersion: '1.0' });
    for (const bad of ['HTTP/2 200 OK', 'SMTP 220', 'HTTP/1.1 20 OK', 'HTTP/1.1 200 OK\r\nno colon']) expect(parseHead(bad)).toBeUndefined();
  });

  it('reuses keep-alive connections, with the response split anywhere, and drops a connection that says close', async () => {
    let closeNext = false;
    const server = await rawHttpServer((start, end, socket) => {
      const response = partial(start, end, closeNext ? 'Connection: close\r\n' : '');
      // Dribble the response in three pieces to cut the head and the body.
      socket.write(response.subarray(0, 7));
      setTimeout(() => socket.write(response.subarray(7, 60)), 2);
      setTimeout(() => socket.write(response.subarray(60)), 4);
    });
    const client = fetcher();
    for (let i = 0; i < 5; i++) {
      const target = new Uint8Array(100 + i);
      await client.getRange(server.url, 50 * i, target, file.length);
      expect(Buffer.from(target)).toEqual(file.subarray(50 * i, 50 * i + 100 + i));
    }
    expect(server.connections()).toBe(1);
    closeNext = true;
    await client.getRange(server.url, 0, new Uint8Array(10), file.length);
    await client.getRange(server.url, 0, new Uint8Array(10), file.length);
    expect(server.connections()).toBe(2);
    await server.close();
  });

  it('an HTTP/1.0 answer closes the connection unless it says keep-alive', async () => {
    let keepAlive = false;
    const server = await rawHttpServer((start, end, socket) => {
      const response = partial(start, end, keepAlive ? 'Connection: keep-alive\r\n' : '');
      socket.write(Buffer.concat([Buffer.from('HTTP/1.0'), response.subarray('HTTP/1.1'.length)]));
      if (!keepAlive) socket.end();
    });
    const client = fetcher();
    for (let i = 0; i < 3; i++) await client.getRange(server.url, i, new Uint8Array(10), file.length);
    expect(server.connections()).toBe(3);
    keepAlive = true;
    for (let i = 0; i < 3; i++) await client.getRange(server.url, i, new Uint8Array(10), file.length);
    expect(server.connections()).toBe(4);
    await server.close();
  });

  it('a chunked (not Content-Length framed) answer goes through node:http from then on', async () => {
    const server = await rawHttpServer((start, end, socket) => {
      const body = file.subarray(start, end + 1);
      socket.write(`HTTP/1.1 206 Partial Content\r\nContent-Range: bytes ${start}-${end}/${file.length}\r\nTransfer-Encoding: chunked\r\n\r\n${body.length.toString(16)}\r\n`);
      socket.write(body);
      socket.write('\r\n0\r\n\r\n');
    });
    const client = fetcher();
    for (let i = 0; i < 3; i++) {
      const target = new Uint8Array(300);
      await client.getRange(server.url, 1000, target, file.length);
      expect(Buffer.from(target)).toEqual(file.subarray(1000, 1300));
    }
    // The first request was sent twice (once by each client), the others by node:http only.
    expect(server.requests()).toBe(4);
    await server.close();
  });

  it('hostile answers → coded errors, no reuse of a connection that misbehaved', async () => {
    let mode: 'huge-head' | 'garbage' | 'short' | 'extra' | 'silent' = 'huge-head';
    const server = await rawHttpServer((start, end, socket) => {
      if (mode === 'huge-head') socket.write(`HTTP/1.1 206 Partial Content\r\nX: ${'a'.repeat(40_000)}`);
      else if (mode === 'garbage') socket.write('SSH-2.0-OpenSSH\r\n\r\n');
      else if (mode === 'short') socket.end(partial(start, end).subarray(0, 120));
      else if (mode === 'extra') socket.write(Buffer.concat([partial(start, end), Buffer.from('HTTP/1.1 200 OK\r\n\r\n')]));
    });
    const client = fetcher();
    const get = (): Promise<number | undefined> => rejectionCode(client.getRange(server.url, 0, new Uint8Array(100), file.length));
    expect(await get()).toBe(DATA_HTTP_FAILED);
    mode = 'garbage';
    expect(await get()).toBe(DATA_HTTP_FAILED);
    mode = 'short';
    expect(await get()).toBe(DATA_HTTP_SHORT_READ);
    mode = 'extra';
    const before = server.connections();
    expect(await get()).toBeUndefined();
    // Bytes past the body: that connection is closed, the next request opens another.
    expect(await get()).toBeUndefined();
    expect(server.connections()).toBe(before + 2);
    mode = 'silent';
    expect(await get()).toBe(DATA_TIMEOUT);
    await server.close();
  });
});
