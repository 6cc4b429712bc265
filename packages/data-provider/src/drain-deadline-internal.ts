import { DATA_TIMEOUT, PsycheError } from '@psyche/core';

/** What both servers write to: a socket, or an HTTP response. */
interface DrainableStream {
  on(event: 'drain' | 'close', listener: () => void): unknown;
  off(event: 'drain' | 'close', listener: () => void): unknown;
}

/**
 * Waits for `stream` to drain (or close); a peer that reads nothing for `writeTimeoutMs` is
 * DATA_TIMEOUT, so a client that stops reading cannot hold a server's buffers forever.
 */
export function drainWithin(stream: DrainableStream, writeTimeoutMs: number): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      cleanup();
      reject(new PsycheError(DATA_TIMEOUT, { operation: 'write', timeoutMs: writeTimeoutMs }, `client did not read for ${writeTimeoutMs} ms`));
    }, writeTimeoutMs);
    const done = (): void => {
      cleanup();
      resolve();
    };
    const cleanup = (): void => {
      clearTimeout(timer);
      stream.off('drain', done);
      stream.off('close', done);
    };
    stream.on('drain', done);
    stream.on('close', done);
  });
}
