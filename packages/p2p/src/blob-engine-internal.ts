import {
  P2P_ABORTED,
  P2P_BLOB_FETCH_FAILED,
  P2P_BLOB_HASH_MISMATCH,
  P2P_BLOB_NOT_FOUND,
  P2P_BLOB_SIZE_MISMATCH,
  P2P_BLOB_STALLED,
  P2P_BLOB_TOO_LARGE,
  P2P_MALFORMED_BLOB_FRAME,
  P2P_PROVIDER_UNREACHABLE,
  P2P_INVALID_CONFIG,
  P2P_STOPPED,
  PsycheError,
  bytesEqual,
  describeValue,
  isPsycheError,
} from '@psyche/core';
import { BLAKE3_LENGTH, IncrementalBlake3 } from './blake3.ts';
import {
  BLOB_HEADER_LENGTH,
  BlobStatus,
  decodeBlobHeader,
  decodeBlobRequest,
  encodeBlobHeader,
  readExactly,
} from './blob-frames.ts';
import type { BlobRequest } from './blob-frames.ts';
import type { BlobStorage, BlobWriter } from './blob-storage.ts';
import type { BlobStore, BlobStoreLimits, FetchOptions, FetchResult, GcOptions, GcResult } from './blob-store.ts';
import { blobHashToString } from './blob-ticket.ts';
import type { BlobProvider, BlobTicket } from './blob-ticket.ts';
import { nodeIdEquals, nodeIdToString } from './node-id.ts';
import type { NodeId } from './node-id.ts';
import { PeerScores } from './peer-scores.ts';

/**
 * Opens a request to a provider and returns the raw response bytes (header frame, then data).
 * Aborting `signal` must close the underlying stream.
 */
export type BlobConnector = (provider: BlobProvider, request: BlobRequest, signal: AbortSignal) => Promise<AsyncIterable<Uint8Array>>;

/** Longest delay setTimeout honours; past it Node fires after 1 ms. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** Throws P2P_INVALID_CONFIG unless `value` is undefined or an integer in [min, max]. */
export function checkCountOption(field: string, value: unknown, min: number, max = Number.MAX_SAFE_INTEGER): void {
  if (value !== undefined && !(Number.isSafeInteger(value) && (value as number) >= min && (value as number) <= max)) {
    throw new PsycheError(P2P_INVALID_CONFIG, { field, value: describeValue(value), expected: `an integer in [${min}, ${max}]` }, `blob store option ${field}: expected an integer in [${min}, ${max}], got ${describeValue(value)}`);
  }
}

/**
 * Limits from a JS caller are checked when the store is made: a symbol or {toString: null} limit threw
 * a TypeError at its first comparison or in the too-large message's template literal, and a NaN one
 * disabled the limit.
 */
function checkBlobLimits(limits: BlobStoreLimits): void {
  if (typeof limits !== 'object') {
    throw new PsycheError(P2P_INVALID_CONFIG, { field: 'limits', value: describeValue(limits), expected: 'an object' }, `blob store limits: expected an object, got ${describeValue(limits)}`);
  }
  checkCountOption('limits.maxBlobBytes', limits.maxBlobBytes, 0);
  checkCountOption('limits.maxConcurrentFetches', limits.maxConcurrentFetches, 1);
  checkCountOption('limits.maxConcurrentServes', limits.maxConcurrentServes, 0);
  checkCountOption('limits.stallTimeoutMs', limits.stallTimeoutMs, 1, MAX_TIMER_MS);
  checkCountOption('limits.fetchRounds', limits.fetchRounds, 1);
}

class Semaphore {
  #available: number;
  readonly #waiters: (() => void)[] = [];
  constructor(count: number) {
    this.#available = count;
  }
  async acquire(): Promise<void> {
    if (this.#available > 0) {
      this.#available--;
      return;
    }
    await new Promise<void>((resolve) => this.#waiters.push(resolve));
  }
  release(): void {
    const next = this.#waiters.shift();
    if (next !== undefined) next();
    else this.#available++;
  }
}

/** Races `promise` against a no-progress timer; on expiry aborts `controller` and throws `onStall()`. */
async function withStallTimeout<T>(promise: Promise<T>, ms: number, controller: AbortController, onStall: () => PsycheError): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const error = onStall();
      controller.abort(error);
      reject(error);
    }, ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Transport-independent blob logic: storage, limits, serving, and the fetch algorithm (providers in
 * score order, stall timeout, resume at the received offset on the next provider, BLAKE3 check
 * before commit). Transports supply a connector and feed inbound requests to `respond`.
 */
export class BlobEngine implements BlobStore {
  readonly nodeId: NodeId;
  readonly scores: PeerScores;
  readonly storage: BlobStorage;
  readonly maxBlobBytes: number;
  readonly stallTimeoutMs: number;
  readonly fetchRounds: number;
  readonly maxConcurrentServes: number;
  readonly #connect: BlobConnector;
  readonly #selfAddrs: () => readonly string[];
  readonly #onStop: () => Promise<void>;
  readonly #fetchSlots: Semaphore;
  readonly #inflight = new Map<string, Promise<FetchResult>>();
  readonly #stopController = new AbortController();
  #serving = 0;

  constructor(params: {
    nodeId: NodeId;
    storage: BlobStorage;
    connect: BlobConnector;
    selfAddrs: () => readonly string[];
    onStop: () => Promise<void>;
    limits?: BlobStoreLimits | undefined;
    scores?: PeerScores | undefined;
  }) {
    const limits = params.limits ?? {};
    checkBlobLimits(limits);
    this.nodeId = params.nodeId;
    this.storage = params.storage;
    this.#connect = params.connect;
    this.#selfAddrs = params.selfAddrs;
    this.#onStop = params.onStop;
    this.scores = params.scores ?? new PeerScores();
    this.maxBlobBytes = limits.maxBlobBytes ?? 2 * 1024 ** 3;
    this.stallTimeoutMs = limits.stallTimeoutMs ?? 10_000;
    this.fetchRounds = limits.fetchRounds ?? 2;
    this.maxConcurrentServes = limits.maxConcurrentServes ?? 32;
    this.#fetchSlots = new Semaphore(limits.maxConcurrentFetches ?? 4);
  }

  #checkRunning(): void {
    if (this.#stopController.signal.aborted) throw new PsycheError(P2P_STOPPED, { what: 'blob store' }, 'blob store is stopped');
  }

  #tooLarge(size: number): PsycheError {
    return new PsycheError(
      P2P_BLOB_TOO_LARGE,
      { size, limit: this.maxBlobBytes },
      `blob of ${size} bytes exceeds the limit of ${this.maxBlobBytes}`,
    );
  }

  async add(data: Uint8Array | AsyncIterable<Uint8Array>): Promise<BlobTicket> {
    this.#checkRunning();
    const hasher = new IncrementalBlake3();
    const writer = this.storage.createWriter(data instanceof Uint8Array ? data.length : undefined);
    let size = 0;
    try {
      const chunks = data instanceof Uint8Array ? [data] : data;
      for await (const chunk of chunks) {
        size += chunk.length;
        if (size > this.maxBlobBytes) throw this.#tooLarge(size);
        hasher.update(chunk);
        await writer.write(chunk);
      }
      const hash = hasher.digest();
      await writer.commit(hash);
      return this.ticket(hash);
    } catch (e) {
      await writer.abort();
      throw e;
    }
  }

  has(hash: Uint8Array): boolean {
    return this.storage.get(blobHashToString(hash)) !== undefined;
  }

  #stored(hash: Uint8Array) {
    const key = blobHashToString(hash);
    const info = this.storage.get(key);
    if (info === undefined) {
      throw new PsycheError(P2P_BLOB_NOT_FOUND, { hash: key, provider: 'local' }, `blob ${key} is not stored here`);
    }
    return info;
  }

  ticket(hash: Uint8Array): BlobTicket {
    const info = this.#stored(hash);
    return { hash: Uint8Array.from(hash), size: info.size, providers: [{ nodeId: this.nodeId, addrs: [...this.#selfAddrs()] }] };
  }

  async read(hash: Uint8Array): Promise<Uint8Array> {
    const info = this.#stored(hash);
    const out = new Uint8Array(info.size);
    let offset = 0;
    for await (const chunk of this.storage.read(info.hash, 0)) {
      out.set(chunk, offset);
      offset += chunk.length;
    }
    return out;
  }

  readStream(hash: Uint8Array): AsyncIterable<Uint8Array> {
    return this.storage.read(this.#stored(hash).hash, 0);
  }

  async delete(hash: Uint8Array): Promise<boolean> {
    return this.storage.delete(blobHashToString(hash));
  }

  async gc(options: GcOptions): Promise<GcResult> {
    const now = Date.now();
    const keep = options.keep ?? new Set<string>();
    const candidates = this.storage.list().sort((a, b) => a.addedAtMs - b.addedAtMs);
    let total = candidates.reduce((sum, blob) => sum + blob.size, 0);
    let removed = 0;
    let freedBytes = 0;
    for (const blob of candidates) {
      if (keep.has(blob.hash)) continue;
      const tooOld = options.maxAgeMs !== undefined && now - blob.addedAtMs > options.maxAgeMs;
      const overBudget = options.maxTotalBytes !== undefined && total > options.maxTotalBytes;
      if (!tooOld && !overBudget) continue;
      if (await this.storage.delete(blob.hash)) {
        removed++;
        freedBytes += blob.size;
        total -= blob.size;
      }
    }
    return { removed, freedBytes };
  }

  /** Serves one inbound request: the header frame, then the bytes from the requested offset. */
  async *respond(requestBytes: Uint8Array): AsyncIterable<Uint8Array> {
    let request: BlobRequest;
    try {
      request = decodeBlobRequest(requestBytes);
    } catch {
      yield encodeBlobHeader({ status: BlobStatus.badRequest, size: 0 });
      return;
    }
    const info = this.storage.get(blobHashToString(request.hash));
    if (info === undefined || request.offset > info.size) {
      yield encodeBlobHeader({ status: info === undefined ? BlobStatus.notFound : BlobStatus.badRequest, size: 0 });
      return;
    }
    if (this.#serving >= this.maxConcurrentServes) {
      yield encodeBlobHeader({ status: BlobStatus.busy, size: 0 });
      return;
    }
    this.#serving++;
    try {
      yield encodeBlobHeader({ status: BlobStatus.ok, size: info.size });
      yield* this.storage.read(info.hash, request.offset);
    } finally {
      this.#serving--;
    }
  }

  async fetch(ticket: BlobTicket, options: FetchOptions = {}): Promise<FetchResult> {
    this.#checkRunning();
    if (ticket.hash.length !== BLAKE3_LENGTH) {
      throw new PsycheError(P2P_MALFORMED_BLOB_FRAME, { frame: 'ticket', reason: 'hash is not 32 bytes' }, 'bad ticket hash');
    }
    // A size from the network (a ticket, a chain record) that is NaN, negative or fractional passes `>` checks.
    if (!Number.isSafeInteger(ticket.size) || ticket.size < 0) {
      throw new PsycheError(P2P_MALFORMED_BLOB_FRAME, { frame: 'ticket', reason: `size ${ticket.size} is not a byte count` }, `bad ticket size ${ticket.size}`);
    }
    if (ticket.size > this.maxBlobBytes) throw this.#tooLarge(ticket.size);
    if (this.has(ticket.hash)) return { hash: ticket.hash, size: ticket.size, provider: undefined, failedAttempts: 0 };
    const key = blobHashToString(ticket.hash);
    const running = this.#inflight.get(key);
    if (running !== undefined) return running;
    const promise = (async () => {
      await this.#fetchSlots.acquire();
      try {
        return await this.#fetchFromProviders(ticket, options.signal);
      } finally {
        this.#fetchSlots.release();
      }
    })().finally(() => this.#inflight.delete(key));
    this.#inflight.set(key, promise);
    return promise;
  }

  async #fetchFromProviders(ticket: BlobTicket, signal: AbortSignal | undefined): Promise<FetchResult> {
    const key = blobHashToString(ticket.hash);
    const providers = ticket.providers
      .filter((p) => !nodeIdEquals(p.nodeId, this.nodeId))
      .sort((a, b) => this.scores.score(b.nodeId) - this.scores.score(a.nodeId));
    const reasons: string[] = [];
    let attempts = 0;
    // State carried across providers: bytes already received (and hashed) are not fetched again.
    let hasher = new IncrementalBlake3();
    let writer = this.storage.createWriter(ticket.size);
    let received = 0;
    let contributors: NodeId[] = [];
    try {
      for (let round = 0; round < this.fetchRounds; round++) {
        for (const provider of providers) {
          if (signal?.aborted === true || this.#stopController.signal.aborted) {
            throw new PsycheError(P2P_ABORTED, { what: `fetch of ${key}` }, `fetch of ${key} aborted`);
          }
          if (this.scores.isBanned(provider.nodeId)) continue;
          attempts++;
          const before = received;
          try {
            received = await this.#fetchFrom(provider, ticket, received, hasher, writer, signal);
          } catch (e) {
            if (!isPsycheError(e) || e.code === P2P_ABORTED) throw e;
            received = (e as PsycheError & { received?: number }).received ?? received;
            if (received > before) contributors.push(provider.nodeId);
            this.scores.penalize(provider.nodeId, e.code);
            reasons.push(`${nodeIdToString(provider.nodeId).slice(0, 12)}: ${e.message}`);
            continue;
          }
          contributors.push(provider.nodeId);
          const digest = hasher.digest();
          if (!bytesEqual(digest, ticket.hash)) {
            // Which contributor lied is unknown when several sent parts: all are penalized and the
            // fetch starts over from byte 0.
            for (const liar of contributors) {
              this.scores.penalize(liar, P2P_BLOB_HASH_MISMATCH);
            }
            reasons.push(
              new PsycheError(
                P2P_BLOB_HASH_MISMATCH,
                { expected: key, received: blobHashToString(digest), provider: nodeIdToString(provider.nodeId) },
                `hash mismatch from ${nodeIdToString(provider.nodeId).slice(0, 12)}`,
              ).message,
            );
            await writer.abort();
            hasher = new IncrementalBlake3();
            writer = this.storage.createWriter(ticket.size);
            received = 0;
            contributors = [];
            continue;
          }
          await writer.commit(digest);
          this.scores.reward(provider.nodeId);
          return { hash: ticket.hash, size: ticket.size, provider: provider.nodeId, failedAttempts: attempts - 1 };
        }
      }
    } catch (e) {
      await writer.abort();
      throw e;
    }
    await writer.abort();
    throw new PsycheError(
      P2P_BLOB_FETCH_FAILED,
      { hash: key, attempts, reasons },
      `fetch of ${key} failed after ${attempts} attempts${reasons.length > 0 ? `: ${reasons.join('; ')}` : ' (no providers)'}`,
    );
  }

  /** Reads from one provider from `offset`; returns the new received count or throws (with `.received`). */
  async #fetchFrom(
    provider: BlobProvider,
    ticket: BlobTicket,
    offset: number,
    hasher: IncrementalBlake3,
    writer: BlobWriter,
    signal: AbortSignal | undefined,
  ): Promise<number> {
    const key = blobHashToString(ticket.hash);
    const providerText = nodeIdToString(provider.nodeId);
    const controller = new AbortController();
    const onAbort = () => controller.abort(new PsycheError(P2P_ABORTED, { what: `fetch of ${key}` }, 'aborted'));
    signal?.addEventListener('abort', onAbort);
    this.#stopController.signal.addEventListener('abort', onAbort);
    let received = offset;
    const stall = () =>
      new PsycheError(
        P2P_BLOB_STALLED,
        { hash: key, provider: providerText, idleMs: this.stallTimeoutMs, received },
        `provider ${providerText.slice(0, 12)} sent nothing for ${this.stallTimeoutMs} ms`,
      );
    let iterator: AsyncIterator<Uint8Array> | undefined;
    try {
      let source: AsyncIterable<Uint8Array>;
      try {
        source = await withStallTimeout(
          this.#connect(provider, { hash: ticket.hash, offset }, controller.signal),
          this.stallTimeoutMs,
          controller,
          stall,
        );
      } catch (e) {
        if (isPsycheError(e)) throw e;
        throw new PsycheError(
          P2P_PROVIDER_UNREACHABLE,
          { provider: providerText, reason: String((e as Error)?.message ?? e) },
          `provider ${providerText.slice(0, 12)} unreachable: ${String((e as Error)?.message ?? e)}`,
          { cause: e },
        );
      }
      iterator = source[Symbol.asyncIterator]();
      const it = iterator;
      const { bytes: headerBytes, rest } = await withStallTimeout(
        readExactly(it, BLOB_HEADER_LENGTH, 'header'),
        this.stallTimeoutMs,
        controller,
        stall,
      );
      const header = decodeBlobHeader(headerBytes);
      if (header.status === BlobStatus.notFound) {
        throw new PsycheError(P2P_BLOB_NOT_FOUND, { hash: key, provider: providerText }, `provider ${providerText.slice(0, 12)} does not have ${key}`);
      }
      if (header.status !== BlobStatus.ok) {
        throw new PsycheError(
          P2P_PROVIDER_UNREACHABLE,
          { provider: providerText, reason: `status ${header.status}` },
          `provider ${providerText.slice(0, 12)} answered status ${header.status}`,
        );
      }
      if (header.size !== ticket.size) {
        throw new PsycheError(
          P2P_BLOB_SIZE_MISMATCH,
          { expected: ticket.size, received: header.size, provider: providerText },
          `provider ${providerText.slice(0, 12)} announced ${header.size} bytes, ticket says ${ticket.size}`,
        );
      }
      const accept = async (chunk: Uint8Array) => {
        if (received + chunk.length > ticket.size) {
          throw new PsycheError(
            P2P_BLOB_SIZE_MISMATCH,
            { expected: ticket.size, received: received + chunk.length, provider: providerText },
            `provider ${providerText.slice(0, 12)} sent more than ${ticket.size} bytes`,
          );
        }
        hasher.update(chunk);
        await writer.write(chunk);
        received += chunk.length;
      };
      if (rest !== undefined) await accept(rest);
      while (received < ticket.size) {
        const next = await withStallTimeout(it.next(), this.stallTimeoutMs, controller, stall);
        if (next.done === true) {
          throw new PsycheError(
            P2P_BLOB_SIZE_MISMATCH,
            { expected: ticket.size, received, provider: providerText },
            `provider ${providerText.slice(0, 12)} closed after ${received} of ${ticket.size} bytes`,
          );
        }
        await accept(next.value);
      }
      return received;
    } catch (e) {
      controller.abort(e);
      if (isPsycheError(e)) Object.assign(e, { received });
      if (signal?.aborted === true) {
        throw new PsycheError(P2P_ABORTED, { what: `fetch of ${key}` }, `fetch of ${key} aborted`, { cause: e });
      }
      throw e;
    } finally {
      signal?.removeEventListener('abort', onAbort);
      this.#stopController.signal.removeEventListener('abort', onAbort);
      // Closes the transport stream; a misbehaving source must not block us, so do not await long.
      void iterator?.return?.()?.catch?.(() => undefined);
    }
  }

  async stop(): Promise<void> {
    if (this.#stopController.signal.aborted) return;
    this.#stopController.abort(new PsycheError(P2P_STOPPED, { what: 'blob store' }, 'blob store stopped'));
    await this.#onStop();
  }
}
