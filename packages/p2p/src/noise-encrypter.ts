import { noise } from '@chainsafe/libp2p-noise';
import type { NoiseComponents, NoiseExtensions, NoiseInit } from '@chainsafe/libp2p-noise';
import { publicKeyFromProtobuf } from '@libp2p/crypto/keys';
import type { ConnectionEncrypter, MessageStream, PrivateKey, PublicKey, SecureConnectionOptions, SecuredConnection, StreamMuxerFactory } from '@libp2p/interface';
import { peerIdFromPublicKey } from '@libp2p/peer-id';
import { AbstractMessageStream, lpStream } from '@libp2p/utils';
import type { SendResult } from '@libp2p/utils';
import { P2P_MALFORMED_NOISE_FRAME, PsycheError } from '@psyche/core';
import type { AbortOptions } from '@libp2p/interface';
import { Uint8ArrayList } from 'uint8arraylist';

/** Largest noise transport message (ciphertext + tag), from the libp2p noise spec. */
export const NOISE_MAX_MESSAGE_BYTES = 65_535;
const TAG_BYTES = 16;
const NOISE_MAX_PLAINTEXT_BYTES = NOISE_MAX_MESSAGE_BYTES - TAG_BYTES;
/**
 * Messages are joined into socket writes of up to one full message with its length prefix. Larger
 * joins (16 messages, 1 MiB) cost more than they saved: allocations above glibc's mmap threshold
 * (128 KiB) come fresh from the kernel and page-fault on every 4 KiB (measured: 65 ms of the
 * provider's CPU per 64 MiB, against about 10 for the copy itself).
 */
const WRITE_BATCH_BYTES = NOISE_MAX_MESSAGE_BYTES + 2;

/** The transport ciphers noise's XX handshake ends with (nonces and keys stay inside them). */
export interface NoiseTransportCiphers {
  encrypt(plaintext: Uint8Array | Uint8ArrayList): Uint8Array | Uint8ArrayList;
  decrypt(ciphertext: Uint8Array | Uint8ArrayList, dst?: Uint8Array): Uint8Array | Uint8ArrayList;
}

interface HandshakeResult extends NoiseTransportCiphers {
  payload: { identityKey: Uint8Array; extensions?: NoiseExtensions & { streamMuxers?: string[] } };
}

/** The parts of @chainsafe/libp2p-noise 17.0.0's Noise class reused here (private in its types). */
interface StockNoise extends ConnectionEncrypter<NoiseExtensions> {
  performHandshakeInitiator(connection: unknown, key: PrivateKey, log: unknown, remote: PublicKey | undefined, options?: SecureConnectionOptions): Promise<HandshakeResult>;
  performHandshakeResponder(connection: unknown, key: PrivateKey, log: unknown, remote: PublicKey | undefined, options?: SecureConnectionOptions): Promise<HandshakeResult>;
  getStreamMuxer(protocols?: string[]): StreamMuxerFactory | undefined;
}

function malformed(reason: string): PsycheError {
  return new PsycheError(P2P_MALFORMED_NOISE_FRAME, { reason }, `malformed noise transport message: ${reason}`);
}

const uint16BEEncode = Object.assign(
  (value: number) => {
    const out = new Uint8Array(2);
    out[0] = value >> 8;
    out[1] = value & 0xff;
    return out;
  },
  { bytes: 2 },
);
const uint16BEDecode = Object.assign(
  (data: Uint8ArrayList) => {
    if (data.length < 2) throw new RangeError('Could not decode int16BE');
    return data.getUint16(0);
  },
  { bytes: 2 },
);

/**
 * The encrypted side of a noise connection, on the wire identical to @chainsafe/libp2p-noise's
 * (2-byte big-endian length, then ChaCha20-Poly1305 ciphertext and tag, at most 65,535 bytes),
 * with fewer copies on the receive path, which is where a blob fetch spends its CPU:
 * - a message split across socket reads is decrypted part by part, where the stock stream first
 *   joins the parts into a new buffer (one copy of nearly every byte received: socket reads are
 *   64 KiB and messages 65,537 bytes, so almost every message straddles two reads);
 * - what one socket read decrypts to is handed up as one list, without joining.
 * The ciphers (keys, nonces, the cipher itself) are the stock handshake's, unchanged.
 */
export class NoiseTransportStream extends AbstractMessageStream {
  readonly #wire: MessageStream;
  readonly #ciphers: NoiseTransportCiphers;
  /** Received bytes not yet forming a whole message: at most one message and its length prefix. */
  readonly #pending = new Uint8ArrayList();

  constructor(wire: MessageStream, ciphers: NoiseTransportCiphers) {
    super({
      log: wire.log,
      inactivityTimeout: wire.inactivityTimeout,
      maxReadBufferLength: wire.maxReadBufferLength,
      direction: wire.direction,
    });
    this.#wire = wire;
    this.#ciphers = ciphers;
    wire.addEventListener('message', (event) => {
      try {
        this.#receive(event.data);
      } catch (e) {
        this.abort(e instanceof Error ? e : new Error(String(e)));
      }
    });
    wire.addEventListener('close', (event) => {
      if (event.error != null) {
        if (event.local === true) this.abort(event.error);
        else this.onRemoteReset();
      } else {
        this.onTransportClosed();
      }
    });
    wire.addEventListener('drain', () => this.safeDispatchEvent('drain'));
    wire.addEventListener('remoteCloseWrite', () => this.onRemoteCloseWrite());
  }

  #receive(data: Uint8Array | Uint8ArrayList): void {
    this.#pending.append(data);
    let plaintext: Uint8ArrayList | undefined;
    for (;;) {
      const available = this.#pending.byteLength;
      if (available < 2) break;
      const length = this.#pending.getUint16(0);
      if (available < 2 + length) break;
      // An empty message carries nothing (the stock decoder skips it too).
      if (length === 0) {
        this.#pending.consume(2);
        continue;
      }
      if (length < TAG_BYTES) throw malformed(`message of ${length} bytes is shorter than its tag`);
      // sublist shares the received buffers: no copy of a message that straddles two reads.
      const message = this.#pending.sublist(2, 2 + length);
      this.#pending.consume(2 + length);
      let decrypted: Uint8Array | Uint8ArrayList;
      try {
        decrypted = this.#ciphers.decrypt(message);
      } catch (e) {
        throw malformed(`decryption failed (${(e as Error)?.message ?? String(e)})`);
      }
      plaintext ??= new Uint8ArrayList();
      plaintext.append(decrypted);
    }
    if (plaintext !== undefined && plaintext.byteLength > 0) this.onData(plaintext);
  }

  /**
   * Encrypts in messages of at most 65,519 plaintext bytes, as the stock stream does, and joins
   * each message's length prefix, ciphertext and tag into one buffer (small messages share one, up
   * to WRITE_BATCH_BYTES). The stock stream hands the socket these three as separate writes, two of
   * them of 2 and 16 bytes, which reach the other end as small TCP segments and small reads
   * (measured with strace: median write 16 bytes, median read 2.3 KB). One copy here saves the
   * receiver far more.
   */
  encrypt(chunk: Uint8Array | Uint8ArrayList): Uint8ArrayList {
    const output = new Uint8ArrayList();
    let batch: (Uint8Array | Uint8ArrayList)[] = [];
    let batchBytes = 0;
    const flush = () => {
      if (batch.length === 0) return;
      const joined = Buffer.allocUnsafe(batchBytes);
      let at = 0;
      for (const part of batch) {
        if (part instanceof Uint8Array) {
          joined.set(part, at);
          at += part.byteLength;
        } else {
          for (const piece of part) {
            joined.set(piece, at);
            at += piece.byteLength;
          }
        }
      }
      output.append(joined);
      batch = [];
      batchBytes = 0;
    };
    for (let at = 0; at < chunk.byteLength; at += NOISE_MAX_PLAINTEXT_BYTES) {
      const end = Math.min(chunk.byteLength, at + NOISE_MAX_PLAINTEXT_BYTES);
      const encrypted = this.#ciphers.encrypt(chunk instanceof Uint8Array ? chunk.subarray(at, end) : chunk.sublist(at, end));
      if (batchBytes + 2 + encrypted.byteLength > WRITE_BATCH_BYTES) flush();
      batch.push(uint16BEEncode(encrypted.byteLength), encrypted);
      batchBytes += 2 + encrypted.byteLength;
    }
    flush();
    return output;
  }

  sendData(data: Uint8ArrayList): SendResult {
    return { sentBytes: data.byteLength, canSendMore: this.#wire.send(this.encrypt(data)) };
  }

  sendReset(err: Error): void {
    this.#wire.abort(err);
  }

  sendPause(): void {
    this.#wire.pause();
  }

  sendResume(): void {
    this.#wire.resume();
  }

  async close(options?: AbortOptions): Promise<void> {
    await this.#wire.close(options);
  }
}

/**
 * Noise XX (Noise_XX_25519_ChaChaPoly_SHA256, the libp2p spec) with @chainsafe/libp2p-noise doing
 * the handshake and the ciphers, and NoiseTransportStream carrying the transport messages.
 * Interoperates with any libp2p noise peer. Relies on @chainsafe/libp2p-noise 17.0.0 (pinned):
 * its handshake methods are private in its types.
 */
export function noiseEncrypter(init: NoiseInit = {}): (components: NoiseComponents) => ConnectionEncrypter<NoiseExtensions> {
  return (components) => {
    const stock = noise(init)(components) as unknown as StockNoise;
    const lengthPrefixed = (connection: MessageStream) =>
      lpStream(connection, { lengthEncoder: uint16BEEncode, lengthDecoder: uint16BEDecode, maxDataLength: NOISE_MAX_MESSAGE_BYTES });
    const secured = (handshake: HandshakeResult, wire: MessageStream, options?: SecureConnectionOptions): SecuredConnection<NoiseExtensions> => {
      const muxer = options?.skipStreamMuxerNegotiation === true ? undefined : stock.getStreamMuxer(handshake.payload.extensions?.streamMuxers);
      return {
        connection: new NoiseTransportStream(wire, handshake),
        ...(handshake.payload.extensions === undefined ? {} : { remoteExtensions: handshake.payload.extensions }),
        remotePeer: peerIdFromPublicKey(publicKeyFromProtobuf(handshake.payload.identityKey)),
        ...(muxer === undefined ? {} : { streamMuxer: muxer }),
      };
    };
    return {
      protocol: stock.protocol,
      secureOutbound: async (connection, options) => {
        const wrapped = lengthPrefixed(connection);
        const log = connection.log.newScope('noise');
        const handshake = await stock.performHandshakeInitiator(wrapped, components.privateKey, log, options?.remotePeer?.publicKey, options);
        return secured(handshake, wrapped.unwrap(), options);
      },
      secureInbound: async (connection, options) => {
        const wrapped = lengthPrefixed(connection);
        const log = connection.log.newScope('noise');
        const handshake = await stock.performHandshakeResponder(wrapped, components.privateKey, log, options?.remotePeer?.publicKey, options);
        return secured(handshake, wrapped.unwrap(), options);
      },
    };
  };
}
