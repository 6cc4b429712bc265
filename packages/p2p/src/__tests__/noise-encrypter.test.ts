import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { defaultCrypto } from '@chainsafe/libp2p-noise/crypto';
import type { Logger, MessageStream } from '@libp2p/interface';
import { AbstractMessageStream } from '@libp2p/utils';
import type { SendResult } from '@libp2p/utils';
import { P2P_MALFORMED_NOISE_FRAME, createRng, isPsycheError, toHex } from '@psyche/core';
import fc from 'fast-check';
import { Uint8ArrayList } from 'uint8arraylist';
import { describe, expect, it } from 'vitest';
import { blake3 } from '../blake3.ts';
import { generateIdentity } from '../identity.ts';
import { createLibp2pBlobStore } from '../libp2p-blob-store.ts';
import { NoiseTransportStream } from '../noise-encrypter.ts';
import type { NoiseTransportCiphers } from '../noise-encrypter.ts';
import { createP2pNode } from '../p2p-node.ts';
import { PACKAGE_DIR } from './netns-internal.ts';

// The reference: @chainsafe/libp2p-noise's own transport stream (not exported, so by file path).
const stockUtils = (await import(
  pathToFileURL(resolve(PACKAGE_DIR, '../../node_modules/@chainsafe/libp2p-noise/dist/src/utils.js')).href
)) as { toMessageStream(wire: MessageStream, ciphers: NoiseTransportCiphers): MessageStream };

const silentLog: Logger = Object.assign(() => {}, {
  error: () => {},
  trace: () => {},
  enabled: false,
  newScope: () => silentLog,
}) as unknown as Logger;

/** The socket under a noise stream: records what is sent, delivers bytes as the test splits them. */
class FakeWire extends AbstractMessageStream {
  readonly sent: Uint8Array[] = [];
  constructor() {
    super({ log: silentLog, direction: 'outbound' });
  }
  deliver(bytes: Uint8Array): void {
    this.onData(bytes);
  }
  sentBytes(): Uint8Array {
    return new Uint8ArrayList(...this.sent).subarray();
  }
  sendData(data: Uint8ArrayList): SendResult {
    for (const part of data) this.sent.push(Uint8Array.from(part));
    return { sentBytes: data.byteLength, canSendMore: true };
  }
  sendReset(): void {}
  sendPause(): void {}
  sendResume(): void {}
  async close(): Promise<void> {}
}

/** Transport ciphers as noise's CipherState drives them: the package's crypto, a counting nonce. */
function ciphers(key: Uint8Array): NoiseTransportCiphers {
  let sendNonce = 0;
  let receiveNonce = 0;
  const nonce = (n: number) => {
    const bytes = new Uint8Array(12);
    new DataView(bytes.buffer).setUint32(4, n, true);
    return bytes;
  };
  const none = new Uint8Array(0);
  return {
    encrypt: (plaintext) => defaultCrypto.chaCha20Poly1305Encrypt(plaintext as never, nonce(sendNonce++), none, key) as Uint8Array,
    // The package's list type is another version of uint8arraylist: same objects, other types.
    decrypt: (ciphertext, dst) => defaultCrypto.chaCha20Poly1305Decrypt(ciphertext as never, nonce(receiveNonce++), none, key, dst) as Uint8Array,
  };
}

/** A stream of either kind on a fake wire; collects what it decrypts and how it closed. */
function open(kind: 'ours' | 'stock', key: Uint8Array) {
  const wire = new FakeWire();
  const stream: MessageStream = kind === 'ours' ? new NoiseTransportStream(wire, ciphers(key)) : stockUtils.toMessageStream(wire, ciphers(key));
  const received: Uint8Array[] = [];
  let closeError: unknown;
  stream.addEventListener('message', (event) => {
    for (const part of event.data instanceof Uint8Array ? [event.data] : event.data) received.push(Uint8Array.from(part));
  });
  stream.addEventListener('close', (event) => {
    closeError = event.error ?? 'closed';
  });
  return {
    wire,
    stream,
    received: () => new Uint8ArrayList(...received).subarray(),
    closeError: () => closeError,
  };
}

function randomBytes(seed: number, length: number): Uint8Array {
  const rng = createRng(seed);
  const out = new Uint8Array(length);
  const view = new DataView(out.buffer);
  for (let i = 0; i + 4 <= length; i += 4) view.setUint32(i, rng.nextU32());
  for (let i = length & ~3; i < length; i++) out[i] = rng.nextU32() & 255;
  return out;
}

/** Splits `bytes` at the given cut points (any order, any values). */
function split(bytes: Uint8Array, cuts: number[]): Uint8Array[] {
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const parts: Uint8Array[] = [];
  let from = 0;
  for (const point of [...points, bytes.length]) {
    if (point > from) parts.push(bytes.subarray(from, point));
    from = Math.max(from, point);
  }
  return parts;
}

/** Byte equality by digest: vitest's toEqual walks typed arrays element by element (seconds per MiB). */
const digest = (bytes: Uint8Array) => `${bytes.length}:${toHex(blake3(bytes))}`;

const key = randomBytes(1, 32);
/** Plaintext writes: sizes around the 65,519-byte message limit, the 1,200-byte cipher switch, and tiny. */
const writesArbitrary = fc.array(fc.oneof(fc.integer({ min: 1, max: 3_000 }), fc.integer({ min: 65_000, max: 140_000 })), { minLength: 1, maxLength: 3 });

describe('NoiseTransportStream against @chainsafe/libp2p-noise 17.0.0', () => {
  it('writes byte for byte what the stock stream writes', () => {
    fc.assert(
      fc.property(writesArbitrary, fc.integer(), (sizes, seed) => {
        const ours = open('ours', key);
        const stock = open('stock', key);
        sizes.forEach((size, i) => {
          const plaintext = randomBytes(seed + i, size);
          ours.stream.send(plaintext);
          stock.stream.send(plaintext);
        });
        expect(digest(ours.wire.sentBytes())).toBe(digest(stock.wire.sentBytes()));
      }),
      { numRuns: 10 },
    );
  });

  it('reads what the stock stream writes, and the stock stream reads what it writes, however the bytes are split', () => {
    fc.assert(
      fc.property(writesArbitrary, fc.array(fc.nat(), { maxLength: 40 }), fc.integer(), (sizes, cuts, seed) => {
        const plaintexts = sizes.map((size, i) => randomBytes(seed + i, size));
        const expected = new Uint8ArrayList(...plaintexts).subarray();
        for (const [writer, reader] of [['stock', 'ours'], ['ours', 'stock']] as const) {
          const from = open(writer, key);
          const to = open(reader, key);
          for (const plaintext of plaintexts) from.stream.send(plaintext);
          for (const part of split(from.wire.sentBytes(), cuts)) to.wire.deliver(part);
          expect(digest(to.received())).toBe(digest(expected));
          expect(to.closeError()).toBeUndefined();
        }
      }),
      { numRuns: 10 },
    );
  });

  it('skips empty messages and waits for the rest of a truncated one', () => {
    const from = open('stock', key);
    const to = open('ours', key);
    from.stream.send(randomBytes(2, 5_000));
    const wire = from.wire.sentBytes();
    to.wire.deliver(new Uint8Array([0, 0]));
    to.wire.deliver(wire.subarray(0, wire.length - 1));
    expect(to.received()).toHaveLength(0);
    to.wire.deliver(wire.subarray(wire.length - 1));
    expect(to.received()).toEqual(randomBytes(2, 5_000));
    expect(to.closeError()).toBeUndefined();
  });

  it('aborts with a coded error on a changed byte, a message shorter than its tag, or arbitrary bytes', () => {
    const codeOf = (error: unknown) => (isPsycheError(error) ? error.code : error);
    for (const size of [100, 70_000]) {
      const from = open('stock', key);
      from.stream.send(randomBytes(3, size));
      const wire = from.wire.sentBytes();
      for (const at of [2, 50, wire.length - 1]) {
        const tampered = Uint8Array.from(wire);
        tampered[at]! ^= 1;
        const to = open('ours', key);
        to.wire.deliver(tampered);
        expect(codeOf(to.closeError())).toBe(P2P_MALFORMED_NOISE_FRAME);
      }
    }
    const short = open('ours', key);
    short.wire.deliver(new Uint8Array([0, 5, 1, 2, 3, 4, 5]));
    expect(codeOf(short.closeError())).toBe(P2P_MALFORMED_NOISE_FRAME);
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 3_000 }), fc.array(fc.nat(), { maxLength: 8 }), (bytes, cuts) => {
        const to = open('ours', key);
        expect(() => {
          for (const part of split(bytes, cuts)) to.wire.deliver(part);
        }).not.toThrow();
        // Never plaintext from bytes nobody encrypted under this key; either waiting or aborted.
        expect(to.received()).toHaveLength(0);
        const error = to.closeError();
        if (error !== undefined) expect(codeOf(error)).toBe(P2P_MALFORMED_NOISE_FRAME);
      }),
      { numRuns: 200 },
    );
  });

  it('interoperates over libp2p with a node using the stock noise stream, blobs both ways', async () => {
    const ours = await createP2pNode({ identity: generateIdentity() });
    const stock = await createP2pNode({ identity: generateIdentity(), stockNoiseStream: true });
    try {
      const ourStore = await createLibp2pBlobStore(ours);
      const stockStore = await createLibp2pBlobStore(stock);
      const fromStock = randomBytes(4, 3 * 1024 * 1024 + 17);
      const fromOurs = randomBytes(5, 2 * 1024 * 1024 + 3);
      const stockTicket = await stockStore.add(fromStock);
      const ourTicket = await ourStore.add(fromOurs);
      await ours.dial(stock.multiaddrs()[0]!);
      await ourStore.fetch(stockTicket);
      await stockStore.fetch(ourTicket);
      expect(digest(await ourStore.read(stockTicket.hash))).toBe(digest(fromStock));
      expect(digest(await stockStore.read(ourTicket.hash))).toBe(digest(fromOurs));
      await Promise.all([ourStore.stop(), stockStore.stop()]);
    } finally {
      await Promise.all([ours.stop(), stock.stop()]);
    }
  });
});
