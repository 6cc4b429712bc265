import { connect, type Socket } from 'node:net';
import { DATA_HTTP_FAILED, DATA_HTTP_SHORT_READ, PsycheError } from '@psyche/core';

/** Status and the (lower-case, single-valued) headers of a response. */
export interface ResponseHead {
  statusCode: number;
  headers: Record<string, string | undefined>;
  /** '1.0' or '1.1' where known (HTTP/1.0 closes unless it says keep-alive). */
  httpVersion?: string;
}

/** What a request's caller does with its response; `data` views are valid only during the call. */
export interface ResponseHandlers {
  /** Returns false to drop the response (the connection is closed, not reused). */
  head(head: ResponseHead): boolean;
  data(chunk: Uint8Array): void;
  end(): void;
  fail(error: PsycheError): void;
  /** The response is not Content-Length framed (chunked, close-delimited): the caller asks another client. */
  unsupported(): void;
}

/** Largest status line + headers accepted. */
const MAX_HEAD_BYTES = 16 * 1024;
/** Size of each connection's read buffer (reused for every read). */
const READ_BUFFER_BYTES = 1024 * 1024;
const CRLFCRLF = Buffer.from('\r\n\r\n');

class Connection {
  readonly socket: Socket;
  handlers: ResponseHandlers | undefined;
  private head: Buffer[] = [];
  private headBytes = 0;
  private bodyLeft = -1;
  private keepAlive = false;
  private done = false;

  constructor(host: string, port: number, private readonly release: (connection: Connection) => void, private readonly url: () => string) {
    this.socket = connect({
      host,
      port,
      onread: {
        buffer: Buffer.allocUnsafe(READ_BUFFER_BYTES),
        callback: (bytesRead, buffer) => {
          this.onBytes(buffer.subarray(0, bytesRead));
          return true;
        },
      },
    });
    this.socket.setNoDelay(true);
    this.socket.on('error', (cause) => this.broken(cause.message));
    this.socket.on('close', () => this.broken('connection closed'));
  }

  send(request: string, handlers: ResponseHandlers): void {
    this.handlers = handlers;
    this.head = [];
    this.headBytes = 0;
    this.bodyLeft = -1;
    this.done = false;
    this.socket.ref();
    this.socket.write(request, 'latin1');
  }

  /** Called by the caller to abandon the response (abort, timeout, a failed check): the connection is not reused. */
  cancel(): void {
    this.handlers = undefined;
    this.socket.destroy();
  }

  private onBytes(chunk: Uint8Array): void {
    const handlers = this.handlers;
    if (handlers === undefined || this.done) {
      // Bytes nobody asked for: a server speaking out of turn. Not reusable.
      this.socket.destroy();
      return;
    }
    let at = 0;
    if (this.bodyLeft < 0) {
      // Head: keep (a copy of) at most MAX_HEAD_BYTES + 4 bytes until the blank line, then parse it.
      const before = this.headBytes;
      const kept = chunk.subarray(0, Math.min(chunk.length, MAX_HEAD_BYTES + 4 - before));
      this.head.push(Buffer.from(kept));
      this.headBytes += kept.length;
      const joined = this.head.length === 1 ? this.head[0]! : Buffer.concat(this.head);
      const end = joined.indexOf(CRLFCRLF, Math.max(0, before - 3));
      if (end < 0) {
        if (this.headBytes >= MAX_HEAD_BYTES + 4) this.fail(handlers, DATA_HTTP_FAILED, `response head longer than ${MAX_HEAD_BYTES} bytes`);
        return;
      }
      const parsed = parseHead(joined.toString('latin1', 0, end));
      if (parsed === undefined) return this.fail(handlers, DATA_HTTP_FAILED, 'malformed response head');
      const length = parsed.headers['content-length'];
      if (parsed.headers['transfer-encoding'] !== undefined || length === undefined || !/^\d{1,15}$/.test(length)) {
        this.handlers = undefined;
        this.socket.destroy();
        handlers.unsupported();
        return;
      }
      this.bodyLeft = Number(length);
      const connection = (parsed.headers['connection'] ?? '').toLowerCase();
      this.keepAlive = parsed.httpVersion === '1.0' ? connection === 'keep-alive' : connection !== 'close';
      // The body starts right after the blank line, in this chunk (earlier chunks held no blank line).
      at = end + 4 - before;
      if (!handlers.head(parsed)) {
        this.cancel();
        return;
      }
      if (this.handlers !== handlers) return;
    }
    const take = Math.min(this.bodyLeft, chunk.length - at);
    if (take > 0) {
      this.bodyLeft -= take;
      handlers.data(chunk.subarray(at, at + take));
      if (this.handlers !== handlers) return;
      at += take;
    }
    if (this.bodyLeft === 0) {
      this.done = true;
      this.handlers = undefined;
      handlers.end();
      if (at < chunk.length || !this.keepAlive) this.socket.destroy();
      else {
        this.socket.unref();
        this.release(this);
      }
    }
  }

  private fail(handlers: ResponseHandlers, code: typeof DATA_HTTP_FAILED, reason: string): void {
    this.handlers = undefined;
    this.socket.destroy();
    handlers.fail(new PsycheError(code, { url: this.url(), attempts: 1, reason }, `${this.url()}: ${reason}`));
  }

  private broken(reason: string): void {
    const handlers = this.handlers;
    this.handlers = undefined;
    this.done = true;
    if (handlers === undefined) return;
    if (this.bodyLeft > 0) {
      handlers.fail(new PsycheError(DATA_HTTP_SHORT_READ, { url: this.url(), expectedBytes: -1, receivedBytes: -1 }, `${this.url()}: response broke off (${reason})`));
    } else {
      handlers.fail(new PsycheError(DATA_HTTP_FAILED, { url: this.url(), attempts: 1, reason }, `${this.url()}: ${reason}`));
    }
  }
}

/** `HTTP/1.x 206 Partial Content\r\nName: value…` → status and lower-cased headers (last value wins). */
export function parseHead(text: string): ResponseHead | undefined {
  const lines = text.split('\r\n');
  const status = /^HTTP\/(1\.[01]) (\d{3})(?: .*)?$/.exec(lines[0] ?? '');
  if (status === null) return undefined;
  const headers: Record<string, string | undefined> = {};
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(':');
    if (colon <= 0) return undefined;
    headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  return { statusCode: Number(status[2]), headers, httpVersion: status[1]! };
}

/**
 * A small HTTP/1.1 client for Range GETs over plain http: keep-alive connections per origin, each
 * reading into one reused 1 MiB buffer whose views go straight to the caller (which copies them
 * into its targets), so receiving allocates nothing per chunk, unlike node:http's stream of 64 KiB
 * Buffers. Only Content-Length-framed responses: anything else (chunked, close-delimited) is
 * reported `unsupported` and the caller uses node:http.
 */
export class RangeHttpClient {
  private readonly idle = new Map<string, Connection[]>();
  private readonly live = new Set<Connection>();

  constructor(private readonly maxIdlePerOrigin = 16) {}

  /** Sends `GET url` with `headers`; returns a cancel function (abort, deadline). */
  get(url: URL, headers: Record<string, string>, handlers: ResponseHandlers): () => void {
    const origin = `${url.hostname}:${url.port || '80'}`;
    const pool = this.idle.get(origin) ?? [];
    let connection = pool.pop();
    while (connection !== undefined && connection.socket.destroyed) connection = pool.pop();
    if (connection === undefined) {
      const created: Connection = new Connection(url.hostname.replace(/^\[|\]$/g, ''), Number(url.port || 80), (released) => {
        const list = this.idle.get(origin) ?? [];
        if (list.length < this.maxIdlePerOrigin) {
          list.push(released);
          this.idle.set(origin, list);
        } else released.socket.destroy();
      }, () => url.toString());
      created.socket.on('close', () => {
        this.live.delete(created);
        const list = this.idle.get(origin);
        if (list !== undefined) this.idle.set(origin, list.filter((entry) => entry !== created));
      });
      this.live.add(created);
      connection = created;
    }
    const lines = [`GET ${url.pathname}${url.search} HTTP/1.1`, `Host: ${url.host}`, 'Connection: keep-alive'];
    for (const [name, value] of Object.entries(headers)) lines.push(`${name}: ${value}`);
    const current = connection;
    current.send(`${lines.join('\r\n')}\r\n\r\n`, handlers);
    return () => {
      if (current.handlers === handlers) current.cancel();
    };
  }

  close(): void {
    for (const connection of this.live) connection.socket.destroy();
    this.live.clear();
    this.idle.clear();
  }
}
