import { Agent as HttpAgent, request as httpRequest } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import {
  DATA_ABORTED,
  DATA_HTTP_FAILED,
  DATA_HTTP_SHORT_READ,
  DATA_HTTP_STATUS,
  DATA_INVALID_CONFIG,
  DATA_MANIFEST_MISMATCH,
  DATA_TIMEOUT,
  PsycheError,
  createRng,
  isPsycheError,
  type Rng,
  describeValue,
} from '@psyche/core';
import { MAX_TIMER_MS } from './config-checks-internal.ts';
import { RangeHttpClient, type ResponseHandlers, type ResponseHead } from './range-http-client.ts';
import { MultipartByterangesParser, byterangesBoundary, multiRangeHeader, type ByteRangeTarget } from './multipart-byteranges.ts';

export interface HttpRetryOptions {
  /** Per-attempt deadline for the whole response, in ms (default 30 000). */
  timeoutMs?: number;
  /** Further attempts after the first on timeouts, network errors, 408/429/5xx and short reads (default 4). */
  retries?: number;
  /** First backoff in ms, doubled per attempt with jitter in [0.5, 1.5), capped by maxBackoffMs (defaults 100, 5 000); a delay never exceeds 2^31 − 1 ms. */
  backoffMs?: number;
  maxBackoffMs?: number;
  /** Seed of the backoff jitter (deterministic; default 'psyche-http'). */
  jitterSeed?: string;
  /** Extra request headers (e.g. authorization). */
  headers?: Record<string, string>;
}

/** A keep-alive HTTP(S) client with deadlines, bounded bodies and retries with backoff. */
export class HttpFetcher {
  private readonly httpAgent = new HttpAgent({ keepAlive: true, maxSockets: 16 });
  private readonly httpsAgent = new HttpsAgent({ keepAlive: true, maxSockets: 16 });
  private readonly timeoutMs: number;
  private readonly retries: number;
  private readonly backoffMs: number;
  private readonly maxBackoffMs: number;
  private readonly headers: Record<string, string>;
  private readonly jitter: Rng;
  private readonly rangeClient = new RangeHttpClient();
  /** Origins (host:port) that answered the RangeHttpClient with responses it cannot frame: node:http from then on. */
  private readonly rangeClientRefused = new Set<string>();
  /** Extra headers free of CR/LF (node:http validates its own; the RangeHttpClient writes them as they are). */
  private readonly plainHeaders: boolean;

  constructor(options: HttpRetryOptions = {}) {
    this.timeoutMs = options.timeoutMs ?? 30_000;
    this.retries = options.retries ?? 4;
    this.backoffMs = options.backoffMs ?? 100;
    this.maxBackoffMs = options.maxBackoffMs ?? 5_000;
    this.headers = options.headers ?? {};
    this.jitter = createRng(options.jitterSeed ?? 'psyche-http');
    this.plainHeaders = Object.entries(this.headers).every(([name, value]) => /^[!#$%&'*+.^`|~\w-]+$/.test(name) && !/[\r\n]/.test(value));
    for (const [field, value] of Object.entries({ timeoutMs: this.timeoutMs, retries: this.retries, backoffMs: this.backoffMs, maxBackoffMs: this.maxBackoffMs })) {
      // A delay past MAX_TIMER_MS fires after 1 ms in node: a 2^31 ms timeoutMs timed out every attempt.
      if (!Number.isFinite(value) || value < 0 || (field !== 'retries' && value > MAX_TIMER_MS)) {
        throw new PsycheError(DATA_INVALID_CONFIG, { field, value: describeValue(value), expected: field === 'retries' ? 'a non-negative number' : `a non-negative number of ms up to ${MAX_TIMER_MS}` }, `${field} must be a non-negative number${field === 'retries' ? '' : ` up to ${MAX_TIMER_MS}`}`);
      }
    }
  }

  /**
   * GETs bytes [start, start + target.length) of `url` into `target`, requiring a 206 whose
   * Content-Range matches (and whose total equals `expectedTotal` when given). Retries transient failures.
   */
  async getRange(url: string, start: number, target: Uint8Array, expectedTotal: number | undefined, signal?: AbortSignal): Promise<void> {
    if (target.length === 0) return;
    await this.withRetries(url, signal, () =>
      this.once(url, { range: `bytes=${start}-${start + target.length - 1}` }, signal, (response) => {
        if (response.statusCode !== 206) throw statusError(url, response.statusCode ?? 0);
        const match = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(response.headers['content-range'] ?? '');
        if (match === null || Number(match[1]) !== start || Number(match[2]) !== start + target.length - 1) {
          throw new PsycheError(DATA_HTTP_SHORT_READ, { url, expectedBytes: target.length, receivedBytes: match === null ? 0 : Number(match[2]) - Number(match[1]) + 1 }, `${url}: Content-Range ${response.headers['content-range'] ?? '(none)'} does not match the requested range`);
        }
        if (expectedTotal !== undefined && match[3] !== '*' && Number(match[3]) !== expectedTotal) {
          throw new PsycheError(DATA_MANIFEST_MISMATCH, { file: url, field: 'bytes', expected: String(expectedTotal), actual: match[3]! }, `${url}: the file is ${match[3]} bytes, the manifest says ${expectedTotal}`);
        }
        return target;
      }),
    );
  }

  /**
   * One multi-range GET (`Range: bytes=a-b,c-d,…`) filling every range's target from a 206
   * multipart/byteranges answer, checked part by part (MultipartByterangesParser). Resolves
   * 'unsupported' without reading the body when the server answers anything else (200 with the
   * whole file, a single range, 416): the caller then asks range by range. Not retried here: the
   * caller's single-range fallback has the retries.
   */
  async getRanges(url: string, ranges: readonly ByteRangeTarget[], expectedTotal: number | undefined, signal?: AbortSignal): Promise<'done' | 'unsupported'> {
    let parser: MultipartByterangesParser | undefined;
    try {
      await this.once(url, { range: multiRangeHeader(ranges) }, signal, (response) => {
        const status = response.statusCode ?? 0;
        const boundary = byterangesBoundary(response.headers['content-type']);
        // 200 (Range ignored), a single-part 206 or 416 say "not multi-range"; 5xx and the like are failures.
        if (status === 200 || status === 416 || (status === 206 && boundary === undefined)) throw new MultiRangeUnsupported();
        if (status !== 206 || boundary === undefined) throw statusError(url, status);
        const current = new MultipartByterangesParser(boundary, ranges, url, expectedTotal);
        parser = current;
        return (chunk) => current.push(chunk);
      });
    } catch (error) {
      if (error instanceof MultiRangeUnsupported) return 'unsupported';
      throw error;
    }
    parser!.finish();
    return 'done';
  }

  /** GETs a whole (small) resource, refusing bodies over maxBytes. */
  async getAll(url: string, maxBytes: number, signal?: AbortSignal): Promise<Uint8Array> {
    return this.withRetries(url, signal, () =>
      this.once(url, {}, signal, (response) => {
        if (response.statusCode !== 200) throw statusError(url, response.statusCode ?? 0);
        const length = Number(response.headers['content-length'] ?? Number.NaN);
        if (Number.isFinite(length) && length > maxBytes) {
          throw new PsycheError(DATA_HTTP_SHORT_READ, { url, expectedBytes: maxBytes, receivedBytes: length }, `${url}: ${length} bytes, more than the ${maxBytes} allowed`);
        }
        return 'grow';
      }, maxBytes),
    );
  }

  /** Streams a whole resource through the chunk callback `begin()` returns; `begin` runs again on each retry, so state restarts. */
  async stream(url: string, begin: () => (chunk: Uint8Array) => void, signal?: AbortSignal): Promise<void> {
    await this.withRetries(url, signal, () =>
      this.once(url, {}, signal, (response) => {
        if (response.statusCode !== 200) throw statusError(url, response.statusCode ?? 0);
        return begin();
      }),
    );
  }

  /** HEAD: the Content-Length of `url`. */
  async contentLength(url: string, signal?: AbortSignal): Promise<number> {
    let length = 0;
    await this.withRetries(url, signal, () =>
      this.once(url, {}, signal, (response) => {
        if (response.statusCode !== 200) throw statusError(url, response.statusCode ?? 0);
        length = Number(response.headers['content-length']);
        if (!Number.isSafeInteger(length) || length < 0) throw new PsycheError(DATA_HTTP_FAILED, { url, attempts: 1, reason: 'no Content-Length' }, `${url}: HEAD gave no Content-Length`);
        return new Uint8Array(0);
      }, 0, 'HEAD'),
    );
    return length;
  }

  close(): void {
    this.rangeClient.close();
    this.httpAgent.destroy();
    this.httpsAgent.destroy();
  }

  private async withRetries<T>(url: string, signal: AbortSignal | undefined, attempt: () => Promise<T>): Promise<T> {
    for (let tries = 0; ; tries++) {
      try {
        return await attempt();
      } catch (error) {
        if (!isRetryable(error) || tries >= this.retries || signal?.aborted) throw error;
        // The jitter can take maxBackoffMs up to 1.5 times itself; past MAX_TIMER_MS node would fire after 1 ms (a hot retry loop).
        const delay = Math.min(MAX_TIMER_MS, Math.min(this.maxBackoffMs, this.backoffMs * 2 ** tries) * (0.5 + this.jitter.nextFloat()));
        await sleep(delay, signal, url);
      }
    }
  }

  /**
   * One attempt. `onResponse` checks status and headers and returns the target to fill (exactly),
   * 'grow' (collect up to maxBytes) or a chunk callback (stream). Range GETs over plain http go
   * through the RangeHttpClient (no allocation per chunk); everything else, and servers whose
   * responses it cannot frame, through node:http.
   */
  private once<T extends Uint8Array>(
    url: string,
    headers: Record<string, string>,
    signal: AbortSignal | undefined,
    onResponse: (response: ResponseHead) => T | 'grow' | ((chunk: Uint8Array) => void),
    maxBytes = 0,
    method = 'GET',
  ): Promise<Uint8Array> {
    return new Promise<Uint8Array>((resolvePromise, reject) => {
      let parsed: URL;
      try {
        parsed = new URL(url);
      } catch (cause) {
        reject(new PsycheError(DATA_INVALID_CONFIG, { field: 'url', value: url, expected: 'an absolute http(s) URL' }, `not a URL: ${url}`, { cause }));
        return;
      }
      const secure = parsed.protocol === 'https:';
      if (!secure && parsed.protocol !== 'http:') {
        reject(new PsycheError(DATA_INVALID_CONFIG, { field: 'url', value: url, expected: 'http: or https:' }, `unsupported protocol in ${url}`));
        return;
      }
      let settled = false;
      let cancel = (): void => {};
      const finish = (error: unknown, value?: Uint8Array): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        if (error === undefined) resolvePromise(value!);
        else {
          cancel();
          reject(error);
        }
      };
      const onAbort = (): void => finish(new PsycheError(DATA_ABORTED, { operation: `GET ${url}` }, `GET ${url}: aborted`, { cause: signal?.reason }));
      const timer = setTimeout(
        () => finish(new PsycheError(DATA_TIMEOUT, { operation: `${method} ${url}`, timeoutMs: this.timeoutMs }, `${method} ${url}: no complete response within ${this.timeoutMs} ms`)),
        this.timeoutMs,
      );
      let sink: T | 'grow' | ((chunk: Uint8Array) => void) = 'grow';
      const chunks: Uint8Array[] = [];
      let received = 0;
      const handlers: ResponseHandlers = {
        head: (head) => {
          try {
            sink = onResponse(head);
            return true;
          } catch (error) {
            finish(error);
            return false;
          }
        },
        data: (chunk) => {
          if (settled) return;
          if (typeof sink === 'function') {
            received += chunk.length;
            try {
              sink(chunk);
            } catch (error) {
              finish(error);
            }
            return;
          }
          const limit = sink === 'grow' ? maxBytes : sink.length;
          if (received + chunk.length > limit) {
            finish(new PsycheError(DATA_HTTP_SHORT_READ, { url, expectedBytes: limit, receivedBytes: received + chunk.length }, `${url}: response longer than the ${limit} bytes expected`));
            return;
          }
          // 'grow' keeps chunks past this call: only node:http's (fresh Buffers) reach it.
          if (sink === 'grow') chunks.push(chunk);
          else sink.set(chunk, received);
          received += chunk.length;
        },
        end: () => {
          if (typeof sink === 'function') return finish(undefined, new Uint8Array(0));
          if (sink === 'grow') return finish(undefined, new Uint8Array(Buffer.concat(chunks)));
          if (received !== sink.length) {
            return finish(new PsycheError(DATA_HTTP_SHORT_READ, { url, expectedBytes: sink.length, receivedBytes: received }, `${url}: got ${received} of ${sink.length} bytes`));
          }
          finish(undefined, sink);
        },
        fail: (error) => finish(error),
        unsupported: () => {
          this.rangeClientRefused.add(parsed.host);
          if (!settled) cancel = this.nodeRequest(parsed, secure, method, headers, handlers);
        },
      };
      if (signal?.aborted) return onAbort();
      signal?.addEventListener('abort', onAbort, { once: true });
      const fast = !secure && method === 'GET' && headers['range'] !== undefined && this.plainHeaders && !this.rangeClientRefused.has(parsed.host);
      cancel = fast ? this.rangeClient.get(parsed, { ...this.headers, ...headers }, handlers) : this.nodeRequest(parsed, secure, method, headers, handlers);
    });
  }

  /** One request through node:http(s), feeding `handlers`; returns its cancel function. */
  private nodeRequest(parsed: URL, secure: boolean, method: string, headers: Record<string, string>, handlers: ResponseHandlers): () => void {
    const url = parsed.toString();
    const request = (secure ? httpsRequest : httpRequest)(parsed, { method, headers: { ...this.headers, ...headers }, agent: secure ? this.httpsAgent : this.httpAgent }, (response) => {
      const head: ResponseHead = { statusCode: response.statusCode ?? 0, headers: {} };
      for (const [name, value] of Object.entries(response.headers)) head.headers[name] = Array.isArray(value) ? value.join(', ') : value;
      if (!handlers.head(head)) {
        response.resume();
        return;
      }
      let ended = false;
      response.on('data', (chunk: Buffer) => handlers.data(chunk));
      response.on('end', () => {
        ended = true;
        handlers.end();
      });
      response.on('error', (cause) => handlers.fail(new PsycheError(DATA_HTTP_SHORT_READ, { url, expectedBytes: -1, receivedBytes: -1 }, `${url}: response broke off`, { cause })));
      response.on('aborted', () => handlers.fail(new PsycheError(DATA_HTTP_SHORT_READ, { url, expectedBytes: -1, receivedBytes: -1 }, `${url}: response aborted`)));
      response.on('close', () => {
        if (!ended) handlers.fail(new PsycheError(DATA_HTTP_SHORT_READ, { url, expectedBytes: -1, receivedBytes: -1 }, `${url}: response broke off`));
      });
    });
    request.on('error', (cause) => handlers.fail(new PsycheError(DATA_HTTP_FAILED, { url, attempts: 1, reason: cause.message }, `${method} ${url}: ${cause.message}`, { cause })));
    request.end();
    return () => request.destroy();
  }
}

class MultiRangeUnsupported extends Error {}

function statusError(url: string, status: number): PsycheError {
  return new PsycheError(DATA_HTTP_STATUS, { url, status }, `${url}: HTTP ${status}`);
}

/** Transient: timeouts, connection failures, short reads, 408, 429 and 5xx. Never 4xx client errors or aborts. */
function isRetryable(error: unknown): boolean {
  if (isPsycheError(error, DATA_HTTP_STATUS)) {
    const status = error.context.status;
    return status === 408 || status === 429 || status >= 500;
  }
  return isPsycheError(error, DATA_TIMEOUT) || isPsycheError(error, DATA_HTTP_FAILED) || isPsycheError(error, DATA_HTTP_SHORT_READ);
}

function sleep(ms: number, signal: AbortSignal | undefined, url: string): Promise<void> {
  return new Promise((resolvePromise, reject) => {
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolvePromise();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(new PsycheError(DATA_ABORTED, { operation: `retry ${url}` }, `retry of ${url}: aborted`, { cause: signal?.reason }));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
