import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DATA_FRAME_MALFORMED, DATA_FRAME_TOO_LARGE, isPsycheError } from '@psyche/core';
import { FrameDecoder, decodeMessage, encodeMessage, splitFramesReference, type DataMessage } from '../index.ts';

const runs = Number(process.env['FUZZ_RUNS'] ?? 10_000);

const messageArbitrary: fc.Arbitrary<DataMessage> = fc.oneof(
  fc.record({ type: fc.constant('hello' as const), version: fc.integer({ min: 0, max: 255 }), clientId: fc.string({ maxLength: 50 }) }),
  fc.record({
    type: fc.constant('welcome' as const),
    version: fc.integer({ min: 0, max: 255 }),
    dtype: fc.constantFrom('u16' as const, 'u32' as const),
    vocabSize: fc.maxSafeNat().map((n) => n % 2 ** 32), // the whole u32 range, MAX_U32_VOCAB_SIZE included
    seqLen: fc.nat(),
    sequenceCount: fc.maxSafeNat(),
    maxIdsPerRequest: fc.nat(),
    name: fc.string({ maxLength: 40 }),
  }),
  fc.record({ type: fc.constant('request' as const), requestId: fc.nat(), step: fc.maxSafeNat(), batchIds: fc.array(fc.maxSafeNat(), { maxLength: 20 }) }),
  fc.record({ type: fc.constant('sequences' as const), requestId: fc.nat(), rows: fc.nat(), tokens: fc.uint8Array({ maxLength: 64 }) }),
  fc.record({ type: fc.constant('rejected' as const), requestId: fc.nat(), reason: fc.constantFrom('not-in-this-round' as const, 'wrong-data-id-for-step' as const), message: fc.string({ maxLength: 30 }) }),
  fc.record({ type: fc.constant('error' as const), requestId: fc.nat(), code: fc.integer({ min: 0, max: 65535 }), message: fc.string({ maxLength: 30 }) }),
);

/** Splits bytes at the given cut points. */
function chunked(bytes: Uint8Array, cuts: number[]): Uint8Array[] {
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const out: Uint8Array[] = [];
  let last = 0;
  for (const point of [...points, bytes.length]) {
    out.push(bytes.slice(last, point));
    last = point;
  }
  return out;
}

function concat(parts: Uint8Array[]): Uint8Array {
  return Uint8Array.from(parts.flatMap((part) => [...part]));
}

describe('TCP frames', () => {
  it('every message round-trips (fuzz)', () => {
    fc.assert(
      fc.property(messageArbitrary, (message) => {
        const frame = encodeMessage(message);
        expect(decodeMessage(frame.subarray(4))).toEqual(message);
      }),
      { numRuns: Math.min(runs, 5000) },
    );
  });

  it('the streaming decoder equals the reference splitter for any stream cut anywhere, transient mode and reused input included (fuzz)', () => {
    fc.assert(
      fc.property(
        fc.array(messageArbitrary, { maxLength: 6 }),
        fc.uint8Array({ maxLength: 12 }),
        fc.array(fc.nat(), { maxLength: 8 }),
        fc.integer({ min: 1, max: 400 }),
        fc.boolean(),
        (messages, garbage, cuts, maxFrameBytes, transient) => {
          const stream = concat([...messages.map(encodeMessage), garbage]);
          const expected = splitFramesReference(stream, maxFrameBytes);
          const decoder = new FrameDecoder(maxFrameBytes, { transient });
          const frames: Uint8Array[] = [];
          let errorCode: number | undefined;
          // Transient mode: one input buffer refilled for every push (as a socket onread buffer), and
          // scribbled over after each push, so a frame kept past its push would show up as corrupt.
          const reused = new Uint8Array(stream.length);
          for (const original of chunked(stream, cuts)) {
            const chunk = transient ? reused.subarray(0, original.length) : original;
            if (transient) chunk.set(original);
            try {
              const completed = decoder.push(chunk);
              frames.push(...completed.map((frame) => frame.slice()));
              if (transient) {
                reused.fill(0xee);
                for (const frame of completed) frame.fill(0xdd);
              }
            } catch (error) {
              expect(isPsycheError(error)).toBe(true);
              errorCode = (error as { code: number }).code;
              break;
            }
            expect(decoder.bufferedBytes).toBeLessThanOrEqual(maxFrameBytes + 4);
            if (decoder.failure !== undefined) {
              errorCode = decoder.failure.code;
              break;
            }
          }
          expect(frames).toEqual(expected.frames);
          expect(errorCode).toBe(expected.error);
        },
      ),
      { numRuns: runs },
    );
  });

  it('arbitrary bytes never crash the decoders: frames or DATA_FRAME_* errors only (fuzz)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), fc.array(fc.nat(), { maxLength: 5 }), (bytes, cuts) => {
        const decoder = new FrameDecoder(128);
        try {
          for (const chunk of chunked(bytes, cuts)) {
            for (const frame of decoder.push(chunk)) {
              try {
                decodeMessage(frame);
              } catch (error) {
                expect(isPsycheError(error, DATA_FRAME_MALFORMED)).toBe(true);
              }
            }
          }
        } catch (error) {
          expect(isPsycheError(error, DATA_FRAME_MALFORMED) || isPsycheError(error, DATA_FRAME_TOO_LARGE)).toBe(true);
        }
      }),
      { numRuns: runs },
    );
  });

  it('mutated, cut and extended payloads of valid messages: DATA_FRAME_MALFORMED, or a message that encodes to exactly those bytes (fuzz)', () => {
    // Arbitrary bytes above almost never pass the frame header (a length ≤ 128 needs three zero
    // bytes), so the message decoder itself is fuzzed here, starting from valid payloads.
    let decodedMutations = 0;
    // A small step (±1, ±2) turns an enum, a count or a length into its neighbour; a replacement is anything.
    const change = fc.oneof(fc.integer({ min: -2, max: 2 }).map((step) => (byte: number) => (byte + step) & 0xff), fc.nat(255).map((value) => () => value));
    fc.assert(
      fc.property(messageArbitrary, fc.array(fc.tuple(fc.nat(), change), { minLength: 1, maxLength: 2 }), fc.integer({ min: -3, max: 3 }), fc.nat(255), (message, changes, lengthChange, fill) => {
        const valid = encodeMessage(message).subarray(4);
        const payload = new Uint8Array(Math.max(0, valid.length + lengthChange)).fill(fill);
        payload.set(valid.subarray(0, payload.length));
        for (const [at, apply] of changes) if (payload.length > 0) payload[at % payload.length] = apply(payload[at % payload.length]!);
        let decoded: DataMessage;
        try {
          decoded = decodeMessage(payload);
        } catch (error) {
          expect(isPsycheError(error, DATA_FRAME_MALFORMED), String(error)).toBe(true);
          return;
        }
        decodedMutations++;
        // A UTF-8 byte-order mark at the start of a string is dropped by the decoder: not canonical.
        if (Buffer.from(payload).includes(Buffer.of(0xef, 0xbb, 0xbf))) return;
        expect(encodeMessage(decoded).subarray(4)).toEqual(payload);
      }),
      { numRuns: Math.min(runs, 5000) },
    );
    expect(decodedMutations).toBeGreaterThan(0);
  });

  it('error and rejection messages are cut to 200 units and carried as well-formed UTF-8: a lone surrogate or a pair split by the cut becomes U+FFFD, not a throw', () => {
    for (const text of ['bad \uD800 input', `${'x'.repeat(199)}\uD83D\uDE00`]) {
      for (const message of [{ type: 'error', requestId: 1, code: 7001, message: text }, { type: 'rejected', requestId: 1, reason: 'not-in-this-round', message: text }] as DataMessage[]) {
        const { message: decoded } = decodeMessage(encodeMessage(message).subarray(4)) as { message: string };
        expect(decoded).toBe(text.slice(0, 200).replace(/[\uD800-\uDFFF]/g, '\uFFFD'));
      }
    }
  });

  it('rejects announced oversize frames before allocating, and keeps failing', () => {
    const decoder = new FrameDecoder(1024);
    const header = Uint8Array.of(0xff, 0xff, 0xff, 0xff);
    expect(() => decoder.push(header)).toThrow(expect.objectContaining({ code: DATA_FRAME_TOO_LARGE }));
    expect(() => decoder.push(Uint8Array.of(1, 0, 0, 0, 1))).toThrow(expect.objectContaining({ code: DATA_FRAME_TOO_LARGE }));
    expect(decoder.bufferedBytes).toBeLessThanOrEqual(4);
  });

  it('rejects malformed payloads: unknown types, truncation, trailing bytes, id count mismatch, ids ≥ 2^53', () => {
    const request = encodeMessage({ type: 'request', requestId: 1, step: 2, batchIds: [3, 4] }).subarray(4);
    const cases = [
      Uint8Array.of(99),
      request.subarray(0, request.length - 1),
      Uint8Array.from([...request, 0]),
      Uint8Array.from([...request.subarray(0, 13), 9, 0, 0, 0, ...request.subarray(17)]),
      Uint8Array.from([...request.subarray(0, request.length - 8), 0, 0, 0, 0, 0, 0, 0x20, 0]),
      Uint8Array.of(5, 1, 0, 0, 0, 7, 0, 0),
      Uint8Array.of(1, 1, 2, 0, 0xff, 0xfe),
    ];
    for (const payload of cases) expect(() => decodeMessage(payload)).toThrow(expect.objectContaining({ code: DATA_FRAME_MALFORMED }));
  });
});
