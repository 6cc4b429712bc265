import { connect, type Socket } from 'node:net';
import {
  DATA_ABORTED,
  DATA_CONNECTION_CLOSED,
  DATA_FRAME_MALFORMED,
  DATA_INVALID_CONFIG,
  DATA_PROTOCOL_VERSION_MISMATCH,
  DATA_PROVIDER_CLOSED,
  DATA_REMOTE_ERROR,
  DATA_REQUEST_REJECTED,
  DATA_SERVER_BUSY,
  DATA_TIMEOUT,
  DATA_TOKEN_OUT_OF_RANGE,
  PsycheError,
  describeValue,
  isPsycheError,
  isWellFormedUtf16,
} from '@psyche/core';
import { outputArray, throwIfAborted, type DataDescription, type DataProvider, type GetSequencesOptions, type TokenBatch } from './data-provider.ts';
import { assertBatchId } from './sequence-order.ts';
import { forEachLimited } from './concurrency-internal.ts';
import { integerOption, timeoutOption } from './config-checks-internal.ts';
import { bytesOfTokens, bytesPerToken, findTokenOutOfRange } from './token-dtype.ts';
import { CONNECTION_REQUEST_ID, FrameDecoder, SEQUENCES_HEADER_BYTES, TCP_PROTOCOL_VERSION, decodeMessage, encodeMessage, type DataMessage } from './tcp-frames.ts';
import { MAX_SEQ_LEN } from './dataset-manifest.ts';

export interface TcpDataClientOptions {
  host: string;
  port: number;
  /** Who this node is; the server's authorization hook decides by it. At most 200 characters. */
  clientId: string;
  /** Step used when a request does not name one. */
  defaultStep?: number;
  connectTimeoutMs?: number;
  /** Deadline of one request (default 30 000 ms). */
  requestTimeoutMs?: number;
  /** Largest response frame accepted whatever the server says (default 256 MiB). */
  maxFrameBytes?: number;
  /**
   * A call is split into requests of at most this many ids (and at most the server's limit and
   * what fits maxFrameBytes), pipelined: the server reads the next while this side receives the
   * last (default DEFAULT_TCP_IDS_PER_REQUEST).
   */
  idsPerRequest?: number;
  /** Requests of one call in flight at once (default 8). */
  maxInFlight?: number;
}

/**
 * Ids per request unless the caller sets idsPerRequest: a batch of 256 sequences goes out as one
 * request. Measured against 64 (BENCHMARKS.md, 2026-12-06): contiguous ids 20–35% faster warm and
 * ~10 points of the cold raw read better; shuffled ids unchanged.
 */
export const DEFAULT_TCP_IDS_PER_REQUEST = 256;

/** Largest frame accepted from the server unless the caller sets maxFrameBytes. */
const DEFAULT_MAX_FRAME_BYTES = 256 * 1024 * 1024;

/** Size of the buffer the socket reads into (reused for every read: no allocation per chunk). */
const READ_BUFFER_BYTES = 1 << 20;

interface Pending {
  resolve(message: DataMessage): void;
  reject(error: unknown): void;
}

/** The client side of the TCP data protocol, as a DataProvider (the server's provider, remote). */
export class TcpDataClient implements DataProvider {
  private readonly socket: Socket;
  private readonly description: DataDescription;
  private readonly maxIdsPerRequest: number;
  private readonly options: TcpDataClientOptions;
  private readonly pending: Map<number, Pending>;
  private nextRequestId = 0;
  private closedError: PsycheError | undefined;

  private constructor(socket: Socket, welcome: Extract<DataMessage, { type: 'welcome' }>, pending: Map<number, Pending>, options: TcpDataClientOptions) {
    this.socket = socket;
    this.pending = pending;
    this.options = options;
    this.maxIdsPerRequest = welcome.maxIdsPerRequest;
    this.description = {
      name: `tcp://${options.host}:${options.port} (${welcome.name})`,
      dtype: welcome.dtype,
      vocabSize: welcome.vocabSize,
      seqLen: welcome.seqLen,
      sequenceCount: welcome.sequenceCount,
    };
  }

  /** Connects, says hello, and waits for the server's description. */
  static async connect(options: TcpDataClientOptions): Promise<TcpDataClient> {
    if (typeof options.clientId !== 'string' || options.clientId.length > 200 || !isWellFormedUtf16(options.clientId)) {
      throw new PsycheError(DATA_INVALID_CONFIG, { field: 'clientId', value: describeValue(options.clientId), expected: 'at most 200 characters of well-formed UTF-16' }, 'clientId must be a string of at most 200 characters with no lone surrogate');
    }
    // Checked before connecting: a NaN idsPerRequest or maxInFlight made every call return rows of
    // zeros without asking the server, a NaN maxFrameBytes lifted the frame limit, and NaN, 0 or
    // over-long deadlines fired at once.
    integerOption('port', options.port, 1, 65_535);
    const connectTimeoutMs = timeoutOption('connectTimeoutMs', options.connectTimeoutMs ?? 10_000);
    if (options.requestTimeoutMs !== undefined) timeoutOption('requestTimeoutMs', options.requestTimeoutMs);
    if (options.idsPerRequest !== undefined) integerOption('idsPerRequest', options.idsPerRequest, 1);
    if (options.maxInFlight !== undefined) integerOption('maxInFlight', options.maxInFlight, 1);
    const peer = `${options.host}:${options.port}`;
    const maxFrameBytes = integerOption('maxFrameBytes', options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES, 1, 2 ** 32);
    // Transient frames: every message is handled inside onBytes (tokens copied out there), before the next read reuses the buffer.
    const decoder = new FrameDecoder(maxFrameBytes, { transient: true });
    const pending = new Map<number, Pending>();
    const socket = connect({
      host: options.host,
      port: options.port,
      onread: {
        buffer: Buffer.allocUnsafe(READ_BUFFER_BYTES),
        callback: (bytesRead, buffer) => {
          onBytes(buffer.subarray(0, bytesRead));
          return true;
        },
      },
    });
    socket.setNoDelay(true);
    let client: TcpDataClient | undefined;
    let handshake: Pending | undefined;
    const failAll = (error: PsycheError): void => {
      if (client !== undefined && client.closedError === undefined) client.closedError = error;
      handshake?.reject(error);
      handshake = undefined;
      for (const entry of pending.values()) entry.reject(error);
      pending.clear();
      socket.destroy();
    };
    const onBytes = (chunk: Uint8Array): void => {
      let messages: DataMessage[];
      try {
        messages = decoder.push(chunk).map(decodeMessage);
        if (decoder.failure !== undefined) throw decoder.failure;
      } catch (error) {
        failAll(isPsycheError(error) ? error : new PsycheError(DATA_FRAME_MALFORMED, { offset: 0, reason: String(error) }, String(error)));
        return;
      }
      for (const message of messages) {
        if (handshake !== undefined) {
          const current = handshake;
          handshake = undefined;
          current.resolve(message);
          continue;
        }
        if (message.type === 'welcome' || message.type === 'hello' || message.type === 'request') {
          failAll(new PsycheError(DATA_FRAME_MALFORMED, { offset: 0, reason: `unexpected ${message.type}` }, `server sent an unexpected ${message.type}`));
          return;
        }
        if (message.requestId === CONNECTION_REQUEST_ID && message.type === 'error') {
          failAll(remoteError(peer, message.code, message.message));
          return;
        }
        const entry = pending.get(message.requestId);
        pending.delete(message.requestId);
        entry?.resolve(message);
      }
    };
    socket.on('error', (cause) => failAll(new PsycheError(DATA_CONNECTION_CLOSED, { peer, reason: cause.message }, `${peer}: ${cause.message}`, { cause })));
    socket.on('close', () => failAll(new PsycheError(DATA_CONNECTION_CLOSED, { peer, reason: 'closed' }, `${peer}: connection closed`)));

    const first = await new Promise<DataMessage>((resolve, reject) => {
      const timer = setTimeout(() => failAll(new PsycheError(DATA_TIMEOUT, { operation: `connect ${peer}`, timeoutMs: connectTimeoutMs }, `${peer}: no welcome within ${connectTimeoutMs} ms`)), connectTimeoutMs);
      handshake = {
        resolve: (message) => {
          clearTimeout(timer);
          resolve(message);
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      };
      socket.write(encodeMessage({ type: 'hello', version: TCP_PROTOCOL_VERSION, clientId: options.clientId }));
    });
    if (first.type === 'error') {
      const error = remoteError(peer, first.code, first.message);
      failAll(error);
      throw error;
    }
    if (first.type !== 'welcome') {
      const error = new PsycheError(DATA_FRAME_MALFORMED, { offset: 0, reason: `expected welcome, got ${first.type}` }, `${peer}: expected welcome, got ${first.type}`);
      failAll(error);
      throw error;
    }
    if (first.version !== TCP_PROTOCOL_VERSION || first.seqLen < 1 || first.vocabSize < 1 || first.maxIdsPerRequest < 1 || first.sequenceCount < 1) {
      const error = first.version !== TCP_PROTOCOL_VERSION
        ? new PsycheError(DATA_PROTOCOL_VERSION_MISMATCH, { received: first.version, supported: TCP_PROTOCOL_VERSION }, `${peer}: protocol version ${first.version}`)
        : new PsycheError(DATA_FRAME_MALFORMED, { offset: 0, reason: 'welcome with empty dimensions' }, `${peer}: welcome with empty dimensions`);
      failAll(error);
      throw error;
    }
    // getSequences allocates rows of seqLen + 1 tokens before the server answers: a welcome's
    // dimensions are held to what a manifest allows and a row must fit one frame.
    const rowFrameBytes = SEQUENCES_HEADER_BYTES + (first.seqLen + 1) * bytesPerToken(first.dtype);
    const unservable =
      first.seqLen > MAX_SEQ_LEN ? `seqLen ${first.seqLen} above ${MAX_SEQ_LEN}`
      : first.dtype === 'u16' && first.vocabSize > 65_536 ? `u16 tokens with a vocabulary of ${first.vocabSize}`
      : rowFrameBytes > maxFrameBytes ? `a row of ${rowFrameBytes} bytes does not fit a frame of ${maxFrameBytes}`
      : undefined;
    if (unservable !== undefined) {
      const error = new PsycheError(DATA_FRAME_MALFORMED, { offset: 0, reason: `welcome with ${unservable}` }, `${peer}: welcome with ${unservable}`);
      failAll(error);
      throw error;
    }
    client = new TcpDataClient(socket, first, pending, options);
    return client;
  }

  describe(): DataDescription {
    return { ...this.description };
  }

  async getSequences(batchIds: readonly number[], options: GetSequencesOptions = {}): Promise<TokenBatch> {
    if (this.closedError !== undefined) {
      throw isPsycheError(this.closedError, DATA_PROVIDER_CLOSED)
        ? this.closedError
        : new PsycheError(DATA_PROVIDER_CLOSED, { provider: this.description.name }, `${this.description.name}: connection is gone (${this.closedError.message})`, { cause: this.closedError });
    }
    throwIfAborted(options.signal, 'getSequences');
    for (const id of batchIds) assertBatchId(id);
    const step = options.step ?? this.options.defaultStep;
    if (step === undefined || !Number.isSafeInteger(step) || step < 0) {
      throw new PsycheError(DATA_INVALID_CONFIG, { field: 'step', value: describeValue(step), expected: 'a non-negative integer (options.step or defaultStep)' }, 'a TCP data request needs the step');
    }
    const { dtype, seqLen, vocabSize } = this.description;
    const rowTokens = seqLen + 1;
    const rowBytes = rowTokens * bytesPerToken(dtype);
    // Every row is written by a response before the batch is returned.
    const out = outputArray(this.description, batchIds.length, options.into);
    const outBytes = bytesOfTokens(out);
    // A response must fit one frame: rows per request are held to what maxFrameBytes allows (at least one fits, checked at connect).
    const rowsPerFrame = Math.floor(((this.options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES) - SEQUENCES_HEADER_BYTES) / rowBytes);
    const idsPerRequest = Math.max(1, Math.min(this.maxIdsPerRequest, rowsPerFrame, this.options.idsPerRequest ?? DEFAULT_TCP_IDS_PER_REQUEST));
    await forEachLimited(chunkStarts(batchIds.length, idsPerRequest), this.options.maxInFlight ?? 8, async (start) => {
      const ids = batchIds.slice(start, start + idsPerRequest);
      // Runs inside the socket's read callback: the frame is a view of the reused read buffer, so its tokens are copied out here.
      await this.request(step, ids, options.signal, (response) => {
        if (response.type === 'rejected') {
          throw new PsycheError(DATA_REQUEST_REJECTED, { reason: response.reason, step, batchIds: ids.join(',').slice(0, 200) }, `${this.description.name}: rejected (${response.reason}) at step ${step}`);
        }
        if (response.type === 'error') throw remoteError(this.description.name, response.code, response.message);
        if (response.type !== 'sequences' || response.rows !== ids.length || response.tokens.length !== ids.length * rowBytes) {
          const error = new PsycheError(DATA_FRAME_MALFORMED, { offset: 0, reason: 'response does not match the request' }, `${this.description.name}: response does not match the request`);
          this.abandon(error);
          throw error;
        }
        outBytes.set(response.tokens, start * rowBytes);
        const tokens = out.subarray(start * rowTokens, (start + ids.length) * rowTokens);
        const bad = findTokenOutOfRange(tokens, vocabSize);
        if (bad >= 0) {
          throw new PsycheError(DATA_TOKEN_OUT_OF_RANGE, { source: this.description.name, position: bad, token: tokens[bad]!, vocabSize }, `${this.description.name}: served token ${tokens[bad]!} ≥ vocabSize ${vocabSize}`);
        }
      });
    });
    return { dtype, seqLen, batchIds: [...batchIds], tokens: out };
  }

  async close(): Promise<void> {
    if (this.closedError === undefined || !isPsycheError(this.closedError, DATA_PROVIDER_CLOSED)) {
      this.closedError = new PsycheError(DATA_PROVIDER_CLOSED, { provider: this.description.name }, `${this.description.name}: provider is closed`);
    }
    for (const entry of this.pending.values()) entry.reject(this.closedError);
    this.pending.clear();
    this.socket.destroy();
  }

  private abandon(error: PsycheError): void {
    this.closedError = error;
    for (const entry of this.pending.values()) entry.reject(error);
    this.pending.clear();
    this.socket.destroy();
  }

  /** Sends one request; `handle` runs synchronously on the response (valid only during the call) and settles the promise. */
  private request(step: number, batchIds: number[], signal: AbortSignal | undefined, handle: (response: DataMessage) => void): Promise<void> {
    const requestId = this.nextRequestId;
    this.nextRequestId = (this.nextRequestId + 1) % CONNECTION_REQUEST_ID;
    const timeoutMs = this.options.requestTimeoutMs ?? 30_000;
    return new Promise<void>((resolve, reject) => {
      const settle = (): void => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        this.pending.delete(requestId);
      };
      const onAbort = (): void => {
        settle();
        reject(new PsycheError(DATA_ABORTED, { operation: 'tcp request' }, 'tcp request: aborted', { cause: signal?.reason }));
      };
      const timer = setTimeout(() => {
        settle();
        reject(new PsycheError(DATA_TIMEOUT, { operation: `request ${requestId}`, timeoutMs }, `${this.description.name}: no response within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(requestId, {
        resolve: (message) => {
          settle();
          try {
            handle(message);
            resolve();
          } catch (error) {
            reject(error);
          }
        },
        reject: (error) => {
          settle();
          reject(error);
        },
      });
      signal?.addEventListener('abort', onAbort, { once: true });
      this.socket.write(encodeMessage({ type: 'request', requestId, step, batchIds }));
    });
  }
}

function chunkStarts(length: number, size: number): number[] {
  const starts: number[] = [];
  for (let start = 0; start < length; start += size) starts.push(start);
  return starts;
}

function remoteError(peer: string, code: number, message: string): PsycheError {
  if (code === DATA_SERVER_BUSY) return new PsycheError(DATA_SERVER_BUSY, { peer, maxConnections: 0 }, `${peer}: ${message}`);
  return new PsycheError(DATA_REMOTE_ERROR, { peer, code, message }, `${peer}: server error ${code}: ${message}`);
}

/** Connects a TCP data client (a DataProvider backed by a remote startTcpDataServer). */
export function connectTcpDataProvider(options: TcpDataClientOptions): Promise<TcpDataClient> {
  return TcpDataClient.connect(options);
}
