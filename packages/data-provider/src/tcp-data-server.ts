import { createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import {
  DATA_FRAME_MALFORMED,
  DATA_INVALID_CONFIG,
  DATA_PROTOCOL_VERSION_MISMATCH,
  DATA_SERVER_BUSY,
  DATA_TIMEOUT,
  PsycheError,
  isPsycheError,
  type DataRejectionReason,
  describeValue,
  toWellFormedUtf16,
} from '@psyche/core';
import { integerOption, timeoutOption } from './config-checks-internal.ts';
import { drainWithin } from './drain-deadline-internal.ts';
import type { DataProvider } from './data-provider.ts';
import { allocateTokensUninitialized, bytesOfTokens, bytesPerToken, type TokenArray } from './token-dtype.ts';
import {
  CONNECTION_REQUEST_ID,
  FrameDecoder,
  TCP_PROTOCOL_VERSION,
  decodeMessage,
  encodeMessage,
  encodeSequencesHeader,
  type DataMessage,
} from './tcp-frames.ts';

/** A request as the authorization hook sees it. */
export interface DataRequest {
  clientId: string;
  step: number;
  batchIds: readonly number[];
}

export type AuthorizationResult = 'ok' | { rejected: DataRejectionReason };

/**
 * Decides whether `clientId` may have `batchIds` at `step`: the coordinator client fills it with
 * the round's assignment (which ids each trainer got in the current round).
 */
export type AuthorizeHook = (request: DataRequest) => AuthorizationResult | Promise<AuthorizationResult>;

export interface TcpDataServerOptions {
  provider: DataProvider;
  authorize: AuthorizeHook;
  host?: string;
  /** 0 (default) picks a free port. */
  port?: number;
  /** Connections beyond this are told DATA_SERVER_BUSY and closed (default 64). */
  maxConnections?: number;
  /** Ids in one request (default 1024); bigger requests are a malformed frame. */
  maxIdsPerRequest?: number;
  /** A connection that has not said hello within this is closed (default 5 000 ms). */
  handshakeTimeoutMs?: number;
  /** A connection that sends nothing for this long is closed (default 120 000 ms). */
  idleTimeoutMs?: number;
  /** A client that does not read its responses for this long is dropped (default 30 000 ms). */
  writeTimeoutMs?: number;
  /**
   * Responses may queue in the socket up to this many bytes before the server waits for the client
   * to read (default 16 MiB): the next request is prepared while the client still reads the last one.
   */
  maxQueuedBytes?: number;
  /**
   * Requests of one connection read at once (default 4): a client pipelines a batch as several
   * requests, and reading them together gives the disk a queue; responses still go out in request
   * order. Each holds at most maxIdsPerRequest rows.
   */
  maxRequestsInFlight?: number;
  /** Called with each connection-level failure (malformed frames, timeouts); for logs. */
  onPeerError?: (peer: string, error: PsycheError) => void;
}

export interface TcpDataServer {
  readonly host: string;
  readonly port: number;
  readonly connections: number;
  close(): Promise<void>;
}

/** A prepared answer: frames to write in order, and what to do once the socket has sent them. */
interface Response {
  parts: Uint8Array[];
  onSent?: () => void;
}

/** Request frames are tiny: type, id, step, count and 8 bytes per id. */
function maxRequestFrameBytes(maxIds: number): number {
  return 1 + 4 + 8 + 4 + 8 * maxIds;
}

function asPsycheError(error: unknown): PsycheError {
  if (isPsycheError(error)) return error;
  return new PsycheError(DATA_FRAME_MALFORMED, { offset: 0, reason: String(error) }, String(error));
}

/**
 * Serves a DataProvider to trainers over TCP (length-prefixed frames, docs/data.md). A client says
 * hello with its id, gets the data description, then asks for batch ids at a step; the server
 * serves only what `authorize` allows and answers others with a rejection reason. Hostile peers
 * are bounded: frame size limit, handshake / idle / write deadlines, max connections, at most
 * maxRequestsInFlight requests prepared at once per connection (reading pauses while that many
 * more wait, which is the backpressure).
 */
export async function startTcpDataServer(options: TcpDataServerOptions): Promise<TcpDataServer> {
  const description = options.provider.describe();
  // A NaN maxConnections let every client in; NaN or 0 deadlines fired at once (every client dropped), and a NaN
  // idleTimeoutMs made socket.setTimeout throw in the connection handler (an uncaught exception).
  const maxConnections = integerOption('maxConnections', options.maxConnections ?? 64, 1);
  const maxIds = options.maxIdsPerRequest ?? 1024;
  if (!Number.isInteger(maxIds) || maxIds < 1 || maxIds > 1_000_000) {
    throw new PsycheError(DATA_INVALID_CONFIG, { field: 'maxIdsPerRequest', value: describeValue(maxIds), expected: 'integer in [1, 1e6]' }, 'maxIdsPerRequest must be in [1, 1e6]');
  }
  const handshakeTimeoutMs = timeoutOption('handshakeTimeoutMs', options.handshakeTimeoutMs ?? 5_000);
  const idleTimeoutMs = timeoutOption('idleTimeoutMs', options.idleTimeoutMs ?? 120_000);
  const writeTimeoutMs = timeoutOption('writeTimeoutMs', options.writeTimeoutMs ?? 30_000);
  const maxQueuedBytes = integerOption('maxQueuedBytes', options.maxQueuedBytes ?? 16 * 1024 * 1024, 0);
  if (options.port !== undefined) integerOption('port', options.port, 0, 65_535);
  const maxRequestsInFlight = options.maxRequestsInFlight ?? 4;
  if (!Number.isInteger(maxRequestsInFlight) || maxRequestsInFlight < 1 || maxRequestsInFlight > 64) {
    throw new PsycheError(DATA_INVALID_CONFIG, { field: 'maxRequestsInFlight', value: describeValue(maxRequestsInFlight), expected: 'integer in [1, 64]' }, 'maxRequestsInFlight must be in [1, 64]');
  }
  const sockets = new Set<Socket>();
  // The provider fills the server's own buffers (GetSequencesOptions.into): reused once the socket has sent them.
  const buffers = new OutputBufferPool(maxQueuedBytes);
  const welcome = encodeMessage({
    type: 'welcome',
    version: TCP_PROTOCOL_VERSION,
    dtype: description.dtype,
    vocabSize: description.vocabSize,
    seqLen: description.seqLen,
    sequenceCount: description.sequenceCount,
    maxIdsPerRequest: maxIds,
    // Informational, and a manifest's JSON may hold a lone surrogate (or the cut may split a pair).
    name: toWellFormedUtf16(description.name.slice(0, 200)),
  });

  const serve = (socket: Socket): void => {
    const peer = `${socket.remoteAddress}:${socket.remotePort}`;
    socket.setNoDelay(true);
    if (sockets.size >= maxConnections) {
      socket.end(encodeMessage({ type: 'error', requestId: CONNECTION_REQUEST_ID, code: DATA_SERVER_BUSY, message: `server busy (${maxConnections} connections)` }));
      socket.destroySoon();
      return;
    }
    sockets.add(socket);
    const decoder = new FrameDecoder(Math.max(maxRequestFrameBytes(maxIds), 1 + 1 + 2 + 1024));
    const queue: Uint8Array[] = [];
    let clientId: string | undefined;
    let busy = false;

    const drop = (error: PsycheError): void => {
      options.onPeerError?.(peer, error);
      if (!socket.destroyed) socket.end(encodeMessage({ type: 'error', requestId: CONNECTION_REQUEST_ID, code: error.code, message: error.message }));
      socket.destroySoon();
      setTimeout(() => socket.destroy(), 1000).unref();
    };
    const handshakeTimer = setTimeout(
      () => drop(new PsycheError(DATA_TIMEOUT, { operation: 'hello', timeoutMs: handshakeTimeoutMs }, `no hello within ${handshakeTimeoutMs} ms`)),
      handshakeTimeoutMs,
    );
    socket.setTimeout(idleTimeoutMs, () => drop(new PsycheError(DATA_TIMEOUT, { operation: 'idle', timeoutMs: idleTimeoutMs }, `idle for ${idleTimeoutMs} ms`)));

    const write = async (parts: Uint8Array[], onSent?: () => void): Promise<void> => {
      socket.cork();
      parts.forEach((part, index) => (index === parts.length - 1 && onSent !== undefined ? socket.write(part, onSent) : socket.write(part)));
      socket.uncork();
      if (socket.writableLength <= maxQueuedBytes || socket.destroyed) return;
      await drainWithin(socket, writeTimeoutMs);
    };

    /**
     * Everything a message needs before its response can be written: the handshake, the
     * authorization, the provider's read. Runs synchronously up to its first await, so a hello
     * sets clientId before the next message is looked at.
     */
    const prepare = async (message: DataMessage): Promise<Response> => {
      if (clientId === undefined) {
        if (message.type !== 'hello') throw new PsycheError(DATA_FRAME_MALFORMED, { offset: 0, reason: `expected hello, got ${message.type}` }, `expected hello, got ${message.type}`);
        if (message.version !== TCP_PROTOCOL_VERSION) {
          throw new PsycheError(DATA_PROTOCOL_VERSION_MISMATCH, { received: message.version, supported: TCP_PROTOCOL_VERSION }, `protocol version ${message.version}, this server speaks ${TCP_PROTOCOL_VERSION}`);
        }
        clearTimeout(handshakeTimer);
        clientId = message.clientId;
        return { parts: [welcome] };
      }
      if (message.type !== 'request') throw new PsycheError(DATA_FRAME_MALFORMED, { offset: 0, reason: `unexpected ${message.type}` }, `unexpected ${message.type} from a client`);
      const { requestId, step, batchIds } = message;
      if (batchIds.length > maxIds) throw new PsycheError(DATA_FRAME_MALFORMED, { offset: 0, reason: `${batchIds.length} ids > ${maxIds}` }, `request of ${batchIds.length} ids exceeds ${maxIds}`);
      let verdict: AuthorizationResult;
      try {
        verdict = await options.authorize({ clientId, step, batchIds });
      } catch (error) {
        return { parts: [encodeMessage({ type: 'error', requestId, code: asPsycheError(error).code, message: 'authorization failed' })] };
      }
      if (verdict !== 'ok') {
        return { parts: [encodeMessage({ type: 'rejected', requestId, reason: verdict.rejected, message: `${verdict.rejected} (step ${step})` })] };
      }
      let tokens: Uint8Array;
      const rowTokens = description.seqLen + 1;
      const buffer = buffers.take(description.dtype, batchIds.length * rowTokens);
      try {
        tokens = bytesOfTokens((await options.provider.getSequences(batchIds, { step, into: buffer })).tokens);
      } catch (error) {
        buffers.give(buffer);
        const coded = asPsycheError(error);
        return { parts: [encodeMessage({ type: 'error', requestId, code: coded.code, message: coded.message })] };
      }
      // The buffer goes back to the pool once the socket has handed it to the kernel (or dropped it).
      return { parts: [encodeSequencesHeader(requestId, batchIds.length, tokens.length), tokens], onSent: () => buffers.give(buffer) };
    };

    // Up to maxRequestsInFlight messages are prepared at once; their responses are written in arrival order.
    // Reading pauses while that many wait undecoded (the backpressure on a client that sends faster than it reads).
    const preparing: Promise<Response>[] = [];
    const startPreparing = (): void => {
      while (queue.length > 0 && preparing.length < maxRequestsInFlight && !socket.destroyed) {
        const started = prepare(decodeMessage(queue.shift()!));
        // Failures are reported in order by the pump's await; this keeps a later one from being unhandled meanwhile.
        started.catch(() => {});
        preparing.push(started);
      }
      if (socket.destroyed) return;
      if (queue.length >= maxRequestsInFlight) socket.pause();
      else if (socket.isPaused()) socket.resume();
    };
    const pump = async (): Promise<void> => {
      if (busy) return;
      busy = true;
      try {
        startPreparing();
        while (preparing.length > 0 && !socket.destroyed) {
          // Shifted only once settled: the one awaited still counts against maxRequestsInFlight.
          const response = await preparing[0]!;
          preparing.shift();
          startPreparing();
          await write(response.parts, response.onSent);
        }
      } catch (error) {
        preparing.length = 0;
        queue.length = 0;
        drop(asPsycheError(error));
      } finally {
        busy = false;
      }
    };

    socket.on('data', (chunk: Buffer) => {
      try {
        queue.push(...decoder.push(chunk));
        if (decoder.failure !== undefined) throw decoder.failure;
        if (busy) startPreparing();
      } catch (error) {
        drop(asPsycheError(error));
        return;
      }
      void pump();
    });
    socket.on('error', () => socket.destroy());
    socket.on('close', () => {
      clearTimeout(handshakeTimer);
      sockets.delete(socket);
      queue.length = 0;
    });
  };

  const server: Server = createServer(serve);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve());
  });
  const address = server.address() as AddressInfo;
  return {
    host: address.address,
    port: address.port,
    get connections() {
      return sockets.size;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

/**
 * Reusable output arrays of a server, kept up to `maxBytes` in all (the bytes a connection may
 * queue); a request takes one at least as long as it needs and gets a view of exactly its length.
 */
class OutputBufferPool {
  private readonly free: TokenArray[] = [];
  private freeBytes = 0;
  private readonly owner = new WeakMap<TokenArray, TokenArray>();

  constructor(private readonly maxBytes: number) {}

  take(dtype: 'u16' | 'u32', length: number): TokenArray {
    const index = this.free.findIndex((array) => array.length >= length && (dtype === 'u16') === array instanceof Uint16Array);
    const whole = index >= 0 ? this.free.splice(index, 1)[0]! : allocateTokensUninitialized(dtype, length);
    if (index >= 0) this.freeBytes -= whole.byteLength;
    const view = whole.length === length ? whole : whole.subarray(0, length);
    this.owner.set(view, whole);
    return view;
  }

  give(view: TokenArray): void {
    const whole = this.owner.get(view) ?? view;
    this.owner.delete(view);
    if (this.freeBytes + whole.byteLength > this.maxBytes) return;
    this.free.push(whole);
    this.freeBytes += whole.byteLength;
  }
}

/** Row bytes of one sequence as served (for sizing client limits). */
export function sequenceRowBytes(description: { dtype: 'u16' | 'u32'; seqLen: number }): number {
  return (description.seqLen + 1) * bytesPerToken(description.dtype);
}
