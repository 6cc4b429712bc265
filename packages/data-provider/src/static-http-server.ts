import { randomBytes } from 'node:crypto';
import { closeSync, fstatSync, openSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import { isSafeRelativePath } from './dataset-manifest.ts';
import { integerOption, timeoutOption } from './config-checks-internal.ts';
import { drainWithin } from './drain-deadline-internal.ts';
import { AdaptiveReadState, readRangesCoalesced, type ReadMode } from './coalesced-reads.ts';
import { byterangesClosing, byterangesParts, type ByteRangeTarget } from './multipart-byteranges.ts';

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

/**
 * `bytes=a-b,c-d,…` (each part as in parseRangeHeader) → the satisfiable ranges in request order,
 * or undefined when none is satisfiable, a part is malformed, or there are more than `maxRanges`.
 */
export function parseRangesHeader(header: string, size: number, maxRanges = MAX_RANGES_PER_REQUEST): { start: number; end: number }[] | undefined {
  const match = /^bytes=(.*)$/.exec(header.trim());
  if (match === null) return undefined;
  const parts = match[1]!.split(',');
  if (parts.length > maxRanges) return undefined;
  const ranges: { start: number; end: number }[] = [];
  for (const part of parts) {
    if (!/^\s*\d*-\d*\s*$/.test(part)) return undefined;
    const range = parseRangeHeader(`bytes=${part.trim()}`, size);
    if (range !== undefined) ranges.push(range);
  }
  return ranges.length === 0 ? undefined : ranges;
}

/** More ranges in one request are refused (416): a hostile client could ask for millions of tiny parts. */
export const MAX_RANGES_PER_REQUEST = 1024;
/** Bytes read at a time (one buffer, filled by positional readSync calls). */
const SLICE_BYTES = 1024 * 1024;
/** A response buffers up to this much before the server waits for the client to drain it. */
const BUFFERED_BYTES = 4 * 1024 * 1024;

const fileShrank = (): never => {
  throw new Error('file shrank while serving it');
};

/** Sent slices kept for reuse, across responses (bounded: at most BUFFERED_BYTES in all). */
const freeSlices: Buffer[] = [];

function takeSlice(length: number): Buffer {
  const index = freeSlices.findIndex((slice) => slice.length >= length);
  return index >= 0 ? freeSlices.splice(index, 1)[0]!.subarray(0, length) : Buffer.allocUnsafeSlow(length);
}

function giveSlice(slice: Buffer): void {
  // Only whole 1 MiB slices are kept (a short last slice is not worth a pool slot).
  if (slice.buffer.byteLength === SLICE_BYTES && freeSlices.length < BUFFERED_BYTES / SLICE_BYTES) freeSlices.push(Buffer.from(slice.buffer, 0, SLICE_BYTES));
}

/** Waits for the socket to drain; a client that reads nothing for writeTimeoutMs is DATA_TIMEOUT (its connection is dropped). */
async function drainIfFull(response: ServerResponse, writeTimeoutMs: number): Promise<void> {
  if (response.writableLength <= BUFFERED_BYTES || response.destroyed) return;
  await drainWithin(response, writeTimeoutMs);
}

/**
 * Writes parts (an ASCII head, then bytes [start, end] of `fd`) in slices of about 1 MiB: heads and
 * bytes of a slice are laid into one buffer and written at once (one write for many small parts).
 * The byte ranges of a slice are read together (readRangesCoalesced: sorted by offset, near ones
 * merged, concurrently once they come from the disk).
 */
async function sendParts(fd: number, parts: readonly { head: string; start: number; end: number }[], response: ServerResponse, io: ReadMode, adaptiveState: AdaptiveReadState, writeTimeoutMs: number): Promise<void> {
  let index = 0;
  let offsetInPart = 0;
  let headWritten = false;
  let remaining = parts.reduce((sum, part) => sum + part.head.length + part.end - part.start + 1, 0);
  while (index < parts.length && !response.destroyed) {
    const slice = takeSlice(Math.min(SLICE_BYTES, remaining));
    const reads: ByteRangeTarget[] = [];
    let used = 0;
    while (index < parts.length) {
      const part = parts[index]!;
      if (!headWritten) {
        // A head goes whole into one slice (the next one if it does not fit here; a slice holds all that is left or 1 MiB).
        if (used + part.head.length > slice.length) break;
        used += slice.write(part.head, used, 'latin1');
        headWritten = true;
      }
      const take = Math.min(part.end - part.start + 1 - offsetInPart, slice.length - used);
      if (take === 0) break;
      reads.push({ start: part.start + offsetInPart, target: slice.subarray(used, used + take) });
      used += take;
      offsetInPart += take;
      if (offsetInPart < part.end - part.start + 1) break;
      index++;
      offsetInPart = 0;
      headWritten = false;
    }
    try {
      await readRangesCoalesced(fd, reads, { mode: io, adaptiveState, onEnd: fileShrank });
    } catch (error) {
      giveSlice(slice);
      throw error;
    }
    remaining -= used;
    // The slice is reused once the socket has sent it (fresh 1 MiB buffers page-fault as much as the read costs).
    response.write(slice.subarray(0, used), () => giveSlice(slice));
    await drainIfFull(response, writeTimeoutMs);
  }
}

async function serveFile(root: string, request: IncomingMessage, response: ServerResponse, io: ReadMode, adaptiveState: AdaptiveReadState, writeTimeoutMs: number): Promise<void> {
  const relative = decodeURIComponent(new URL(request.url ?? '/', 'http://x').pathname).replace(/^\/+/, '');
  if (!isSafeRelativePath(relative) || (request.method !== 'GET' && request.method !== 'HEAD')) {
    response.writeHead(request.method === 'GET' || request.method === 'HEAD' ? 404 : 405).end();
    return;
  }
  let fd: number;
  try {
    fd = openSync(join(root, relative), 'r');
  } catch {
    response.writeHead(404).end();
    return;
  }
  try {
    const info = fstatSync(fd);
    if (!info.isFile()) {
      response.writeHead(404).end();
      return;
    }
    const headers: Record<string, string | number> = { 'accept-ranges': 'bytes', 'content-type': 'application/octet-stream' };
    const rangeHeader = request.headers.range;
    let ranges = [{ start: 0, end: info.size - 1 }];
    let status = 200;
    if (rangeHeader !== undefined) {
      const parsed = parseRangesHeader(rangeHeader, info.size);
      if (parsed === undefined) {
        response.writeHead(416, { 'content-range': `bytes */${info.size}` }).end();
        return;
      }
      ranges = parsed;
      status = 206;
    }
    if (ranges.length > 1) {
      // Several ranges: one multipart/byteranges body (RFC 9110 §14.6), parts in request order.
      const boundary = `psyche-${randomBytes(12).toString('hex')}`;
      const parts = byterangesParts(boundary, ranges, info.size);
      const closing = byterangesClosing(boundary);
      headers['content-type'] = `multipart/byteranges; boundary=${boundary}`;
      headers['content-length'] = parts.reduce((sum, part) => sum + Buffer.byteLength(part.head) + part.end - part.start + 1, Buffer.byteLength(closing));
      response.writeHead(206, headers);
      if (request.method === 'HEAD') return void response.end();
      await sendParts(fd, parts, response, io, adaptiveState, writeTimeoutMs);
      response.end(closing);
      return;
    }
    const { start, end } = ranges[0]!;
    if (status === 206) headers['content-range'] = `bytes ${start}-${end}/${info.size}`;
    headers['content-length'] = info.size === 0 ? 0 : end - start + 1;
    response.writeHead(status, headers);
    if (request.method === 'HEAD' || info.size === 0) return void response.end();
    await sendParts(fd, [{ head: '', start, end }], response, io, adaptiveState, writeTimeoutMs);
    response.end();
  } finally {
    closeSync(fd);
  }
}

/**
 * A minimal static file server with GET/HEAD and Range support, single and multiple ranges
 * (RFC 9110 §14), for serving a dataset directory to HTTP providers on a local network and in
 * tests. Paths are confined to `root`. Reads fill ≤ 1 MiB slices with readRangesCoalesced (`io`,
 * default 'adaptive': readSync from the page cache, concurrent reads on the thread pool once the
 * data comes from the disk), written with backpressure.
 */
export async function startStaticHttpServer(options: {
  root: string;
  host?: string;
  port?: number;
  io?: ReadMode;
  /** A client that reads nothing for this long while a response waits to be sent is dropped (default 30 000). */
  writeTimeoutMs?: number;
  /** Connections open at once; more are closed as they arrive (default 256: each holds a socket and maybe an fd). */
  maxConnections?: number;
}): Promise<StaticHttpServer> {
  const io = options.io ?? 'adaptive';
  // A limit of 0, negative or fractional would drop every client or none; a deadline past MAX_TIMER_MS fires after 1 ms.
  const writeTimeoutMs = timeoutOption('writeTimeoutMs', options.writeTimeoutMs ?? 30_000);
  const maxConnections = integerOption('maxConnections', options.maxConnections ?? 256, 1);
  if (options.port !== undefined) integerOption('port', options.port, 0, 65_535);
  // One for the server: whether its files are being read from the disk, learnt across requests.
  const adaptiveState = new AdaptiveReadState();
  const root = resolve(options.root);
  const server = createServer({ keepAliveTimeout: 5000 }, (request, response) => {
    serveFile(root, request, response, io, adaptiveState, writeTimeoutMs).catch(() => response.destroy());
  });
  server.maxConnections = maxConnections;
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
