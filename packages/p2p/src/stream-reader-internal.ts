import type { Stream } from '@libp2p/interface';

/**
 * Reads a libp2p stream with backpressure. The stream's own async iterator queues every message
 * without limit, so a consumer slower than the network (a disk write) would buffer the whole blob;
 * here the stream is paused when `highWaterBytes` are queued, which stops yamux window updates and
 * so the sender, and resumed below half of it.
 */
export async function* readStream(stream: Stream, highWaterBytes = 2 * 1024 * 1024): AsyncGenerator<Uint8Array> {
  const queue: Uint8Array[] = [];
  let queued = 0;
  let ended = stream.readableEnded;
  let error: Error | undefined;
  let wake: (() => void) | undefined;
  let resuming = false;
  const pauseIfFull = () => {
    if (queued >= highWaterBytes && stream.readStatus === 'readable') stream.pause();
  };
  const onMessage = (event: Event) => {
    const data = (event as Event & { data: Uint8Array | Iterable<Uint8Array> }).data;
    // A Uint8ArrayList (what yamux delivers when its frame spans noise messages) is queued part by
    // part: joining it (its subarray()) copied nearly every byte of a fetch once more.
    for (const part of data instanceof Uint8Array ? [data] : data) {
      if (part.byteLength === 0) continue;
      queue.push(part);
      queued += part.byteLength;
    }
    if (!resuming) pauseIfFull();
    wake?.();
  };
  const onEnd = () => {
    ended = true;
    wake?.();
  };
  const onClose = (event: Event) => {
    ended = true;
    const closeError = (event as Event & { error?: Error }).error;
    if (closeError !== undefined) error = closeError;
    wake?.();
  };
  stream.addEventListener('message', onMessage);
  stream.addEventListener('end', onEnd);
  stream.addEventListener('close', onClose);
  try {
    for (;;) {
      const chunk = queue.shift();
      if (chunk !== undefined) {
        queued -= chunk.length;
        if (queued < highWaterBytes / 2 && stream.readStatus === 'paused') {
          // resume() hands over what the stream buffered while paused (our onMessage runs inside
          // it) and only then re-opens yamux's window. A pause() from inside that handover would be
          // undone by the re-opening and leave the window open on a "paused" stream, which then
          // buffers without bound (measured: 8 MiB against a 4 MiB limit). So pause after it.
          resuming = true;
          try {
            stream.resume();
          } finally {
            resuming = false;
          }
          pauseIfFull();
        }
        yield chunk;
        continue;
      }
      if (error !== undefined) throw error;
      if (ended) return;
      await new Promise<void>((resolve) => {
        wake = resolve;
      });
      wake = undefined;
    }
  } finally {
    stream.removeEventListener('message', onMessage);
    stream.removeEventListener('end', onEnd);
    stream.removeEventListener('close', onClose);
  }
}
