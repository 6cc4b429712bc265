import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import { isSafeRelativePath } from './dataset-manifest.ts';

export interface StaticHttpServer {
  /** Base URL ending in '/', e.g. http://127.0.0.1:40123/ */
  url: string;
  server: Server;
  close(): Promise<void>;
}

/** `bytes=a-b`, `bytes=a-` or `bytes=-n` against a file of `size` bytes; undefined when unsatisfiable or multi-range. */
export function parseRangeHeader(header: string, size: number): { start: number; end: number } | undefined {
  const match = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (match === null || (match[1] === '' && match[2] === '')) return undefined;
  let start: number;
  let end: number;
  if (match[1] === '') {
    const suffix = Number(match[2]);
    start = Math.max(0, size - suffix);
    end = size - 1;
  } else {
    start = Number(match[1]);
    end = match[2] === '' ? size - 1 : Math.min(Number(match[2]), size - 1);
  }
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || start > end || start >= size) return undefined;
  return { start, end };
}

async function serveFile(root: string, request: IncomingMessage, response: ServerResponse): Promise<void> {
  const relative = decodeURIComponent(new URL(request.url ?? '/', 'http://x').pathname).replace(/^\/+/, '');
  if (!isSafeRelativePath(relative) || (request.method !== 'GET' && request.method !== 'HEAD')) {
    response.writeHead(request.method === 'GET' || request.method === 'HEAD' ? 404 : 405).end();
    return;
  }
  const path = join(root, relative);
  const info = await stat(path).catch(() => undefined);
  if (info === undefined || !info.isFile()) {
    response.writeHead(404).end();
    return;
  }
  const headers: Record<string, string | number> = { 'accept-ranges': 'bytes', 'content-type': 'application/octet-stream' };
  const rangeHeader = request.headers.range;
  let start = 0;
  let end = info.size - 1;
  let status = 200;
  if (rangeHeader !== undefined) {
    const range = parseRangeHeader(rangeHeader, info.size);
    if (range === undefined) {
      response.writeHead(416, { 'content-range': `bytes */${info.size}` }).end();
      return;
    }
    ({ start, end } = range);
    status = 206;
    headers['content-range'] = `bytes ${start}-${end}/${info.size}`;
  }
  headers['content-length'] = info.size === 0 ? 0 : end - start + 1;
  response.writeHead(status, headers);
  if (request.method === 'HEAD' || info.size === 0) {
    response.end();
    return;
  }
  const stream = createReadStream(path, { start, end, highWaterMark: 1024 * 1024 });
  stream.on('error', () => response.destroy());
  stream.pipe(response);
}

/**
 * A minimal static file server with single-range GET/HEAD support (RFC 9110 §14), for serving a
 * dataset directory to HTTP providers on a local network and in tests. Paths are confined to `root`.
 */
export async function startStaticHttpServer(options: { root: string; host?: string; port?: number }): Promise<StaticHttpServer> {
  const root = resolve(options.root);
  const server = createServer({ keepAliveTimeout: 5000 }, (request, response) => {
    serveFile(root, request, response).catch(() => response.destroy());
  });
  await new Promise<void>((resolvePromise, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolvePromise());
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    url: `http://${host}:${address.port}/`,
    server,
    close: () =>
      new Promise<void>((resolvePromise) => {
        server.closeAllConnections();
        server.close(() => resolvePromise());
      }),
  };
}
