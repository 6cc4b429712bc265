import { COORDINATOR_RPC_ERROR, COORDINATOR_RPC_MESSAGE_TOO_LARGE, PsycheError } from '@psyche/core';
import {
  SOLANA_ERROR__RPC_SUBSCRIPTIONS__CHANNEL_CLOSED_BEFORE_MESSAGE_BUFFERED,
  SOLANA_ERROR__RPC_SUBSCRIPTIONS__CHANNEL_CONNECTION_CLOSED,
  SOLANA_ERROR__RPC_SUBSCRIPTIONS__CHANNEL_FAILED_TO_CONNECT,
  SolanaError,
  createDefaultRpcSubscriptionsTransport,
  createSolanaRpcSubscriptionsFromTransport,
  getChannelPoolingChannelCreator,
  getDataPublisherFromEventEmitter,
  getRpcSubscriptionsChannelWithAutoping,
  getRpcSubscriptionsChannelWithBigIntJSONSerialization,
  type RpcSubscriptions,
  type RpcSubscriptionsChannel,
  type SolanaRpcSubscriptionsApi,
} from '@solana/kit';
import WebSocket from 'ws';

const NORMAL_CLOSURE = 1000;
// kit's own defaults for createSolanaRpcSubscriptions (rpc-subscriptions-channel.ts).
const SEND_BUFFER_HIGH_WATERMARK = 128 * 1024;
const PING_INTERVAL_MS = 5_000;
const MAX_SUBSCRIPTIONS_PER_CHANNEL = 100;
const DRAIN_POLL_MS = 16;
/**
 * Deepest JSON nesting a message may have. kit's parsing and response walks recurse: a message of
 * arrays nested a few thousand deep overflowed the stack inside the message listener, an uncaught
 * exception that ended the process. Solana's notifications nest under 10 levels.
 */
export const MAX_SUBSCRIPTION_MESSAGE_NESTING = 64;

/** Whether `text`, read as JSON, holds more than `limit` arrays and objects inside one another (strings skipped). */
export function nestsDeeperThan(text: string, limit: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++; // a backslash escapes the next character (a quote included)
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) {
      if (++depth > limit) return true;
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  return false;
}

/**
 * kit's WebSocket channel (rpc-subscriptions-channel-websocket) over the `ws` package, which can
 * refuse a message by the length its frame header declares (`maxPayload`, also applied to the
 * inflated size of a compressed message) instead of buffering it whole; Node's built-in WebSocket,
 * which kit picks, has no such limit. An oversized message fails the channel with
 * COORDINATOR_RPC_MESSAGE_TOO_LARGE and drops the connection.
 */
function openBoundedChannel(url: string, maxMessageBytes: number, signal: AbortSignal): Promise<RpcSubscriptionsChannel<string, string>> {
  if (signal.aborted) return Promise.reject(signal.reason as Error);
  return new Promise((resolve, reject) => {
    const events = new EventTarget();
    let opened = false;
    let failed = false;
    let drain: { promise: Promise<void>; stop: () => void } | undefined;
    // One error per channel: kit's pool and coalescer tear the channel down on the first.
    const fail = (error: unknown): void => {
      if (failed || signal.aborted) return;
      failed = true;
      events.dispatchEvent(new CustomEvent('error', { detail: error }));
    };
    const socket = new WebSocket(url, { maxPayload: maxMessageBytes });
    const onAbort = (): void => {
      if (!opened) reject(signal.reason as Error);
      if (socket.readyState !== WebSocket.CLOSED && socket.readyState !== WebSocket.CLOSING) socket.close(NORMAL_CLOSURE);
    };
    signal.addEventListener('abort', onAbort, { once: true });
    socket.on('error', (error: Error & { code?: string }) => {
      if (signal.aborted) return;
      if (error.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH') {
        // ws has already sent close 1009; a server that never answers it must not hold the socket.
        socket.terminate();
        fail(new PsycheError(COORDINATOR_RPC_MESSAGE_TOO_LARGE, { limit: maxMessageBytes }, `subscription message larger than ${maxMessageBytes} bytes (maxSubscriptionMessageBytes); connection closed`, { cause: error }));
      } else if (!opened) {
        const failure = new SolanaError(SOLANA_ERROR__RPC_SUBSCRIPTIONS__CHANNEL_FAILED_TO_CONNECT, { errorEvent: Object.assign(new Event('error'), { error }) });
        reject(failure);
        fail(failure);
      }
      // Other errors after the handshake end in 'close', which reports them.
    });
    socket.on('close', (code: number) => {
      signal.removeEventListener('abort', onAbort);
      drain?.stop();
      if (!opened) reject(new SolanaError(SOLANA_ERROR__RPC_SUBSCRIPTIONS__CHANNEL_FAILED_TO_CONNECT, { errorEvent: new Event('close') }));
      if (code !== NORMAL_CLOSURE) fail(new SolanaError(SOLANA_ERROR__RPC_SUBSCRIPTIONS__CHANNEL_CONNECTION_CLOSED));
    });
    socket.on('message', (data: WebSocket.RawData) => {
      if (signal.aborted || failed) return;
      const bytes = Buffer.isBuffer(data) ? data : Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data);
      const text = bytes.toString('utf8');
      if (nestsDeeperThan(text, MAX_SUBSCRIPTION_MESSAGE_NESTING)) {
        fail(new PsycheError(COORDINATOR_RPC_ERROR, { method: 'subscription', reason: `message nested deeper than ${MAX_SUBSCRIPTION_MESSAGE_NESTING} levels` }, `subscription message nested deeper than ${MAX_SUBSCRIPTION_MESSAGE_NESTING} levels; connection closed`));
        socket.terminate();
        return;
      }
      events.dispatchEvent(new CustomEvent('message', { detail: text }));
    });
    socket.once('open', () => {
      opened = true;
      resolve({
        ...getDataPublisherFromEventEmitter(events),
        async send(message: string): Promise<void> {
          if (socket.readyState !== WebSocket.OPEN) throw new SolanaError(SOLANA_ERROR__RPC_SUBSCRIPTIONS__CHANNEL_CONNECTION_CLOSED);
          // As kit's channel: past the high watermark, wait until the socket drains (it ends at close).
          if (!drain && socket.bufferedAmount > SEND_BUFFER_HIGH_WATERMARK) {
            let stop = (): void => {};
            const promise = new Promise<void>((done, cancel) => {
              const timer = setInterval(() => {
                if (socket.readyState === WebSocket.OPEN && socket.bufferedAmount > SEND_BUFFER_HIGH_WATERMARK) return;
                clearInterval(timer);
                drain = undefined;
                done();
              }, DRAIN_POLL_MS);
              stop = () => {
                clearInterval(timer);
                drain = undefined;
                cancel(new SolanaError(SOLANA_ERROR__RPC_SUBSCRIPTIONS__CHANNEL_CLOSED_BEFORE_MESSAGE_BUFFERED));
              };
            });
            drain = { promise, stop };
          }
          if (drain) await drain.promise;
          socket.send(message);
        },
      } as RpcSubscriptionsChannel<string, string>);
    });
  });
}

/** Solana RPC subscriptions as kit's createSolanaRpcSubscriptions builds them, with incoming messages of at most `maxMessageBytes`. */
export function createBoundedSolanaRpcSubscriptions(url: string, maxMessageBytes: number): RpcSubscriptions<SolanaRpcSubscriptionsApi> {
  const createChannel = getChannelPoolingChannelCreator(
    ({ abortSignal }: { abortSignal: AbortSignal }) =>
      openBoundedChannel(url, maxMessageBytes, abortSignal)
        .then(getRpcSubscriptionsChannelWithBigIntJSONSerialization)
        .then((channel) => getRpcSubscriptionsChannelWithAutoping({ abortSignal, channel: channel as RpcSubscriptionsChannel<object, unknown>, intervalMs: PING_INTERVAL_MS })),
    { maxSubscriptionsPerChannel: MAX_SUBSCRIPTIONS_PER_CHANNEL, minChannels: 1 },
  );
  return createSolanaRpcSubscriptionsFromTransport(createDefaultRpcSubscriptionsTransport({ createChannel })) as RpcSubscriptions<SolanaRpcSubscriptionsApi>;
}
