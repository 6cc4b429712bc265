import { encode } from '@msgpack/msgpack';
import {
  P2P_MALFORMED_BLOB_FRAME,
  P2P_MALFORMED_ENVELOPE,
  P2P_INVALID_CONFIG,
  P2P_MALFORMED_NODE_ID,
  P2P_MALFORMED_TICKET,
  P2P_MESSAGE_TOO_LARGE,
  P2P_SIGNATURE_INVALID,
  createRng,
  isPsycheError,
  psycheErrorCodeOf,
} from '@psyche/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  BLOB_HEADER_LENGTH,
  BLOB_REQUEST_LENGTH,
  decodeBlobHeader,
  decodeBlobRequest,
  encodeBlobHeader,
  encodeBlobRequest,
} from '../blob-frames.ts';
import { decodeTicket, ticketFromString, ticketToString } from '../blob-ticket.ts';
import { decodeEnvelope, encodeEnvelope, sealEnvelope, verifyEnvelope } from '../envelope.ts';
import { gossipTopic } from '../gossip.ts';
import { generateIdentity } from '../identity.ts';
import { nodeIdFromString } from '../node-id.ts';

const runs = Number(process.env.FUZZ_RUNS ?? 2_000);
const identity = generateIdentity(createRng(3));

/** msgpack of `levels` nested one-element arrays around 1; the encoder recurses, so these bytes are written by hand. */
function nestedArrays(levels: number): Uint8Array {
  const bytes = new Uint8Array(levels + 1).fill(0x91);
  bytes[levels] = 0x01;
  return bytes;
}

/**
 * One msgpack field of any kind a peer can send: scalars, bytes, strings, arrays and maps, and arrays
 * nested deeper than any recursive walk over the decoded value (String(), JSON.stringify) survives.
 */
const hostileField = fc.oneof(
  fc
    .oneof(fc.jsonValue({ maxDepth: 2 }), fc.uint8Array({ maxLength: 40 }), fc.double(), fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }))
    .map((value) => encode(value, { useBigInt64: true })),
  fc.constantFrom(...[64, 6_000, 20_000].map(nestedArrays)),
);

/** An array header for `count` fields followed by their bytes, as msgpack writes a fixarray. */
function fixArray(fields: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(1 + fields.reduce((sum, field) => sum + field.length, 0));
  out[0] = 0x90 | fields.length;
  let at = 1;
  for (const field of fields) {
    out.set(field, at);
    at += field.length;
  }
  return out;
}

/** Decoders either return a value or throw one of the allowed coded errors; nothing else. */
function onlyCoded(fn: () => unknown, codes: number[]): void {
  try {
    fn();
  } catch (e) {
    if (!isPsycheError(e) || !codes.includes(e.code)) throw e;
  }
}

describe('envelope codec', () => {
  it('round-trips and verifies; any change to a signed field breaks the signature', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 512 }), fc.nat(), fc.nat(), (payload, seq, timestampMs) => {
        const envelope = sealEnvelope({ identity, topic: '/psyche/run/r/gossip/1', seq, timestampMs, payload });
        const decoded = decodeEnvelope(encodeEnvelope(envelope), 4096);
        verifyEnvelope(decoded);
        expect([...decoded.payload]).toEqual([...payload]);
        expect(() => verifyEnvelope({ ...decoded, seq: seq + 1 })).toThrow();
      }),
      { numRuns: 200 },
    );
  });

  it('fuzz: arbitrary bytes and mutated envelopes only ever produce coded errors', () => {
    const valid = encodeEnvelope(sealEnvelope({ identity, topic: 't', seq: 1, timestampMs: 2, payload: new Uint8Array(40) }));
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        onlyCoded(() => decodeEnvelope(bytes, 256), [P2P_MALFORMED_ENVELOPE, P2P_MESSAGE_TOO_LARGE]);
      }),
      { numRuns: runs },
    );
    fc.assert(
      fc.property(fc.nat(valid.length - 1), fc.integer({ min: 0, max: 255 }), fc.nat(valid.length), (at, value, cut) => {
        const mutated = Uint8Array.from(valid);
        mutated[at] = value;
        onlyCoded(() => decodeEnvelope(mutated.subarray(0, cut), 4096), [P2P_MALFORMED_ENVELOPE]);
        // What still decodes and verifies carries the signed fields unchanged (only attempt is unsigned).
        let decoded: ReturnType<typeof decodeEnvelope>;
        try {
          decoded = decodeEnvelope(mutated.subarray(0, cut), 4096);
        } catch {
          return;
        }
        try {
          verifyEnvelope(decoded);
        } catch (e) {
          expect(isPsycheError(e, P2P_SIGNATURE_INVALID)).toBe(true);
          return;
        }
        expect({ ...decoded, attempt: 0 }).toEqual(decodeEnvelope(valid, 4096));
      }),
      { numRuns: runs },
    );
  });

  it('a version field nested 6,000 arrays deep is P2P_MALFORMED_ENVELOPE (printing it with String() overflowed the stack: a RangeError the gossip engine rethrew)', () => {
    const valid = sealEnvelope({ identity, topic: 't', seq: 1, timestampMs: 2, payload: new Uint8Array(4) });
    const fields = [valid.topic, valid.sender, valid.seq, valid.timestampMs, valid.payload, valid.signature, valid.attempt].map((v) => encode(v));
    const bytes = fixArray([nestedArrays(6_000), ...fields]);
    expect(bytes.length).toBeLessThan(64 * 1024); // within the default gossip message limit
    expect(() => decodeEnvelope(bytes, 64 * 1024)).toThrow(expect.objectContaining({ code: P2P_MALFORMED_ENVELOPE }));
  });

  it('fuzz: any msgpack value in any field of a valid envelope gives an envelope or P2P_MALFORMED_ENVELOPE', () => {
    const valid = sealEnvelope({ identity, topic: 't', seq: 1, timestampMs: 2, payload: new Uint8Array(4) });
    const fields = [1, valid.topic, valid.sender, valid.seq, valid.timestampMs, valid.payload, valid.signature, valid.attempt].map((v) => encode(v));
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat(fields.length - 1), hostileField), { minLength: 1, maxLength: 3 }), (edits) => {
        const edited: Uint8Array[] = [...fields];
        for (const [at, field] of edits) edited[at] = field;
        onlyCoded(() => decodeEnvelope(fixArray(edited), 1 << 20), [P2P_MALFORMED_ENVELOPE]);
      }),
      { numRuns: runs },
    );
  });

  it('bounds allocation: declared lengths beyond the limit are refused before allocating', () => {
    // msgpack bin32 header declaring 4 GiB followed by nothing.
    const hostile = encode([1, 't', new Uint8Array(32), 0, 0, new Uint8Array(0), new Uint8Array(64), 0]);
    expect(() => decodeEnvelope(hostile, 64)).toThrow(expect.objectContaining({ code: P2P_MESSAGE_TOO_LARGE }));
    const claim = new Uint8Array([0x98, 0x01, 0xa1, 0x74, 0xc6, 0xff, 0xff, 0xff, 0xff]);
    expect(() => decodeEnvelope(claim, 4096)).toThrow(expect.objectContaining({ code: P2P_MALFORMED_ENVELOPE }));
  });
});

describe('blob frames and tickets', () => {
  it('round-trip', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), fc.maxSafeNat(), fc.constantFrom(0, 1, 2, 3), (hash, offset, status) => {
        expect(decodeBlobRequest(encodeBlobRequest({ hash, offset }))).toEqual({ hash, offset });
        const size = status === 0 ? offset : 0;
        expect(decodeBlobHeader(encodeBlobHeader({ status: status as 0, size }))).toEqual({ status, size });
        const ticket = { hash, size: offset, providers: [{ nodeId: identity.nodeId, addrs: ['/ip4/127.0.0.1/tcp/1'] }] };
        const parsed = ticketFromString(ticketToString(ticket));
        expect(parsed.size).toBe(offset);
        expect([...parsed.hash]).toEqual([...hash]);
        expect(parsed.providers.map((p) => [[...p.nodeId], p.addrs])).toEqual([[[...identity.nodeId], ['/ip4/127.0.0.1/tcp/1']]]);
      }),
      { numRuns: 300 },
    );
  });

  it('fuzz: arbitrary bytes only ever produce coded errors', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        onlyCoded(() => decodeBlobRequest(bytes), [P2P_MALFORMED_BLOB_FRAME]);
        onlyCoded(() => decodeBlobHeader(bytes), [P2P_MALFORMED_BLOB_FRAME]);
        onlyCoded(() => decodeTicket(bytes), [P2P_MALFORMED_TICKET]);
      }),
      { numRuns: runs },
    );
    fc.assert(
      fc.property(fc.uint8Array({ minLength: BLOB_REQUEST_LENGTH, maxLength: BLOB_REQUEST_LENGTH }), (bytes) => {
        onlyCoded(() => decodeBlobRequest(bytes), [P2P_MALFORMED_BLOB_FRAME]);
      }),
      { numRuns: runs },
    );
    fc.assert(
      fc.property(fc.uint8Array({ minLength: BLOB_HEADER_LENGTH, maxLength: BLOB_HEADER_LENGTH }), (bytes) => {
        onlyCoded(() => decodeBlobHeader(bytes), [P2P_MALFORMED_BLOB_FRAME]);
      }),
      { numRuns: runs },
    );
    fc.assert(
      fc.property(fc.string({ maxLength: 200 }), (text) => {
        onlyCoded(() => ticketFromString(`blob1${text}`), [P2P_MALFORMED_TICKET]);
      }),
      { numRuns: runs },
    );
  });
  it('text parsers given a non-string by a JS caller: the coded error, not the TypeError startsWith, RegExp#test or fromHex threw', () => {
    const hostile = [{ toString: null }, Symbol('s'), null, Object.create(null), { length: 64 }, JSON.parse(`${'['.repeat(6000)}${']'.repeat(6000)}`)] as unknown[];
    for (const bad of hostile) {
      expect(psycheErrorCodeOf(() => ticketFromString(bad as string))).toBe(P2P_MALFORMED_TICKET);
      expect(psycheErrorCodeOf(() => gossipTopic(bad as string))).toBe(P2P_INVALID_CONFIG);
      expect(psycheErrorCodeOf(() => nodeIdFromString(bad as string))).toBe(P2P_MALFORMED_NODE_ID);
    }
  });

  it('a ticket whose version is nested 6,000 arrays deep is P2P_MALFORMED_TICKET (String() of it overflowed the stack)', () => {
    const fields = [new Uint8Array(32), 5, [[identity.nodeId, ['/ip4/127.0.0.1/tcp/1']]]].map((v) => encode(v));
    const bytes = fixArray([nestedArrays(6_000), ...fields]);
    expect(() => decodeTicket(bytes)).toThrow(expect.objectContaining({ code: P2P_MALFORMED_TICKET }));
    expect(() => ticketFromString(`blob1${Buffer.from(bytes).toString('base64url')}`)).toThrow(expect.objectContaining({ code: P2P_MALFORMED_TICKET }));
  });

  it('fuzz: any msgpack value in any field of a valid ticket or its provider gives a ticket or P2P_MALFORMED_TICKET', () => {
    const top = [1, new Uint8Array(32), 5].map((v) => encode(v));
    const provider = [identity.nodeId, ['/ip4/127.0.0.1/tcp/1']].map((v) => encode(v));
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat(top.length + provider.length - 1), hostileField), { minLength: 1, maxLength: 3 }), (edits) => {
        const fields: Uint8Array[] = [...top, ...provider];
        for (const [at, field] of edits) fields[at] = field;
        const bytes = fixArray([...fields.slice(0, top.length), fixArray([fixArray(fields.slice(top.length))])]);
        onlyCoded(() => decodeTicket(bytes), [P2P_MALFORMED_TICKET]);
      }),
      { numRuns: runs },
    );
  });

  it('fuzz: frames with the right magic and type decode exactly when every field is in range, and re-encode to themselves', () => {
    // Random bytes above nearly always fail on the magic byte; these reach the fields.
    const u64 = fc.oneof(fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }), fc.bigInt({ min: 0n, max: 2n ** 53n + 2n }), fc.constant(0n));
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), u64, (hash, offset) => {
        const bytes = new Uint8Array(BLOB_REQUEST_LENGTH);
        bytes.set([0xb1, 1]);
        bytes.set(hash, 2);
        new DataView(bytes.buffer).setBigUint64(34, offset, false);
        if (offset > BigInt(Number.MAX_SAFE_INTEGER)) {
          expect(() => decodeBlobRequest(bytes)).toThrow(expect.objectContaining({ code: P2P_MALFORMED_BLOB_FRAME }));
          return;
        }
        expect(decodeBlobRequest(bytes)).toEqual({ hash, offset: Number(offset) });
        expect(encodeBlobRequest(decodeBlobRequest(bytes))).toEqual(bytes);
      }),
      { numRuns: runs },
    );
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 6 }), u64, (status, size) => {
        const bytes = new Uint8Array(BLOB_HEADER_LENGTH);
        bytes.set([0xb1, 2, status]);
        new DataView(bytes.buffer).setBigUint64(3, size, false);
        const valid = status <= 3 && (status === 0 || size === 0n) && size <= BigInt(Number.MAX_SAFE_INTEGER);
        if (!valid) {
          expect(() => decodeBlobHeader(bytes)).toThrow(expect.objectContaining({ code: P2P_MALFORMED_BLOB_FRAME }));
          return;
        }
        expect(decodeBlobHeader(bytes)).toEqual({ status, size: Number(size) });
        expect(encodeBlobHeader(decodeBlobHeader(bytes))).toEqual(bytes);
      }),
      { numRuns: runs },
    );
  });
});
