import {
  ByteReader,
  ByteWriter,
  DATA_FRAME_MALFORMED,
  DATA_FRAME_TOO_LARGE,
  PsycheError,
  isPsycheError,
  type DataRejectionReason,
  toWellFormedUtf16,
} from '@psyche/core';
import type { TokenDtype } from './token-dtype.ts';

/**
 * The TCP data protocol (docs/data.md): every message is one frame, u32 little-endian payload
 * length then the payload, whose first byte is the message type.
 */
export const TCP_PROTOCOL_VERSION = 1;
export const FRAME_HEADER_BYTES = 4;

export const MessageType = {
  hello: 1,
  welcome: 2,
  request: 3,
  sequences: 4,
  rejected: 5,
  error: 6,
} as const;

/** requestId of errors about the connection rather than one request. */
export const CONNECTION_REQUEST_ID = 0xffff_ffff;

const rejectionCodes: Record<DataRejectionReason, number> = { 'not-in-this-round': 1, 'wrong-data-id-for-step': 2 };
const rejectionByCode = new Map(Object.entries(rejectionCodes).map(([reason, code]) => [code, reason as DataRejectionReason]));

export type DataMessage =
  | { type: 'hello'; version: number; clientId: string }
  | {
      type: 'welcome';
      version: number;
      dtype: TokenDtype;
      vocabSize: number;
      seqLen: number;
      sequenceCount: number;
      maxIdsPerRequest: number;
      name: string;
    }
  | { type: 'request'; requestId: number; step: number; batchIds: number[] }
  /** `tokens` are the raw little-endian bytes of rows × (seqLen + 1) tokens. */
  | { type: 'sequences'; requestId: number; rows: number; tokens: Uint8Array }
  | { type: 'rejected'; requestId: number; reason: DataRejectionReason; message: string }
  | { type: 'error'; requestId: number; code: number; message: string };

function malformed(offset: number, reason: string): never {
  throw new PsycheError(DATA_FRAME_MALFORMED, { offset, reason }, `malformed frame at byte ${offset}: ${reason}`);
}

/** A u64 that must fit a double exactly; read as two u32 (no BigInt: requests carry up to 1024 ids). */
function safeU64(reader: ByteReader, what: string): number {
  const at = reader.offset;
  const low = reader.u32();
  const high = reader.u32();
  if (high >= 2 ** 21) malformed(at, `${what} ${(BigInt(high) << 32n) | BigInt(low)} exceeds 2^53 − 1`);
  return high * 2 ** 32 + low;
}

/** Encodes one message as a whole frame (header included). Sequences frames are better sent with encodeSequencesHeader + the token bytes. */
export function encodeMessage(message: DataMessage): Uint8Array {
  const writer = new ByteWriter(64);
  writer.u32(0);
  writer.u8(MessageType[message.type]);
  switch (message.type) {
    case 'hello':
      writer.u8(message.version).shortString(message.clientId);
      break;
    case 'welcome':
      writer
        .u8(message.version)
        .u8(message.dtype === 'u16' ? 0 : 1)
        .u32(message.vocabSize)
        .u32(message.seqLen)
        .u64(BigInt(message.sequenceCount))
        .u32(message.maxIdsPerRequest)
        .shortString(message.name);
      break;
    case 'request':
      writer.u32(message.requestId).u64(BigInt(message.step)).u32(message.batchIds.length);
      // Ids are safe integers: two u32 halves, as safeU64 reads them.
      for (const id of message.batchIds) writer.u32(id % 2 ** 32).u32(Math.floor(id / 2 ** 32));
      break;
    case 'sequences':
      // Three zero bytes put the tokens at payload offset 12, so a fresh frame buffer can be viewed as u16/u32 without a copy.
      writer.u8(0).u8(0).u8(0).u32(message.requestId).u32(message.rows).bytes(message.tokens);
      break;
    case 'rejected':
      writer.u32(message.requestId).u8(rejectionCodes[message.reason]).shortString(toWellFormedUtf16(message.message.slice(0, 200)));
      break;
    case 'error':
      writer.u32(message.requestId).u16(message.code).shortString(toWellFormedUtf16(message.message.slice(0, 200)));
      break;
  }
  const frame = writer.finish();
  new DataView(frame.buffer, frame.byteOffset, 4).setUint32(0, frame.length - FRAME_HEADER_BYTES, true);
  return frame;
}

/** Payload bytes of a sequences message before its tokens: type, 3 zero bytes, requestId, rows. */
export const SEQUENCES_HEADER_BYTES = 12;

/** Frame header + fixed fields of a sequences message whose token bytes follow (lets the server send tokens without copying). */
export function encodeSequencesHeader(requestId: number, rows: number, tokenBytes: number): Uint8Array {
  const header = new Uint8Array(FRAME_HEADER_BYTES + SEQUENCES_HEADER_BYTES);
  const view = new DataView(header.buffer);
  view.setUint32(0, SEQUENCES_HEADER_BYTES + tokenBytes, true);
  view.setUint8(4, MessageType.sequences);
  view.setUint32(8, requestId, true);
  view.setUint32(12, rows, true);
  return header;
}

/** Decodes one frame payload (without the length header). Throws DATA_FRAME_MALFORMED on anything else. */
export function decodeMessage(payload: Uint8Array): DataMessage {
  const reader = new ByteReader(payload);
  try {
    const type = reader.u8();
    let message: DataMessage;
    switch (type) {
      case MessageType.hello:
        message = { type: 'hello', version: reader.u8(), clientId: reader.shortString() };
        break;
      case MessageType.welcome: {
        const version = reader.u8();
        const dtypeCode = reader.u8();
        if (dtypeCode > 1) malformed(reader.offset - 1, `unknown dtype ${dtypeCode}`);
        message = {
          type: 'welcome',
          version,
          dtype: dtypeCode === 0 ? 'u16' : 'u32',
          vocabSize: reader.u32(),
          seqLen: reader.u32(),
          sequenceCount: safeU64(reader, 'sequenceCount'),
          maxIdsPerRequest: reader.u32(),
          name: reader.shortString(),
        };
        break;
      }
      case MessageType.request: {
        const requestId = reader.u32();
        const step = safeU64(reader, 'step');
        const count = reader.u32();
        if (count * 8 !== reader.remaining) malformed(reader.offset, `${count} ids need ${count * 8} bytes, ${reader.remaining} left`);
        const batchIds = new Array<number>(count);
        for (let i = 0; i < count; i++) batchIds[i] = safeU64(reader, 'batch id');
        message = { type: 'request', requestId, step, batchIds };
        break;
      }
      case MessageType.sequences: {
        if (reader.u8() !== 0 || reader.u8() !== 0 || reader.u8() !== 0) malformed(reader.offset - 1, 'padding bytes must be zero');
        message = { type: 'sequences', requestId: reader.u32(), rows: reader.u32(), tokens: reader.bytes(reader.remaining) };
        break;
      }
      case MessageType.rejected: {
        const requestId = reader.u32();
        const code = reader.u8();
        const reason = rejectionByCode.get(code);
        if (reason === undefined) malformed(reader.offset - 1, `unknown rejection reason ${code}`);
        message = { type: 'rejected', requestId, reason, message: reader.shortString() };
        break;
      }
      case MessageType.error:
        message = { type: 'error', requestId: reader.u32(), code: reader.u16(), message: reader.shortString() };
        break;
      default:
        malformed(0, `unknown message type ${type}`);
    }
    reader.expectEnd();
    return message;
  } catch (error) {
    if (isPsycheError(error, DATA_FRAME_MALFORMED)) throw error;
    // Truncation, trailing bytes and bad UTF-8 from the core reader all mean the same thing here.
    throw new PsycheError(DATA_FRAME_MALFORMED, { offset: reader.offset, reason: error instanceof Error ? error.message : String(error) }, `malformed frame: ${String(error)}`, { cause: error });
  }
}

const REUSED_ASSEMBLY_BYTES = 16 * 1024 * 1024;

/**
 * Incremental frame splitter for a byte stream. Holds at most one frame (≤ maxFrameBytes) plus a
 * partial header: a peer announcing a bigger frame gets DATA_FRAME_TOO_LARGE before anything is
 * allocated, and a zero-length frame is DATA_FRAME_MALFORMED. A big frame is assembled in one
 * buffer allocated from its header, so chunks are copied once.
 */
export class FrameDecoder {
  private readonly maxFrameBytes: number;
  private header = new Uint8Array(FRAME_HEADER_BYTES);
  private headerFilled = 0;
  private frame: Uint8Array | undefined;
  private frameFilled = 0;
  private consumed = 0;
  private failed: PsycheError | undefined;
  private readonly transient: boolean;
  /**
   * Transient mode's two reusable assembly buffers, used in turn: a push can return one assembled
   * frame and start assembling the next, which must not overwrite it.
   */
  private readonly assemblies: (Uint8Array | undefined)[] = [undefined, undefined];
  private nextAssembly = 0;

  /**
   * `transient`: the caller uses each returned frame before its next push (a socket `onread`
   * buffer refilled on every read): frames are then views of the input chunk or of one assembly
   * buffer the decoder reuses, so receiving allocates nothing per frame.
   */
  constructor(maxFrameBytes: number, options: { transient?: boolean } = {}) {
    this.maxFrameBytes = maxFrameBytes;
    this.transient = options.transient ?? false;
  }

  /** Bytes currently held (bounded by maxFrameBytes + 4). */
  get bufferedBytes(): number {
    return this.headerFilled + this.frameFilled;
  }

  /** The stream error seen so far, if any (set when frames completed before it were returned). */
  get failure(): PsycheError | undefined {
    return this.failed;
  }

  /**
   * Feeds bytes; returns the frame payloads completed by them. A stream error throws, unless frames
   * completed earlier in the same chunk: then those are returned, `failure` is set, and the next call throws.
   */
  push(chunk: Uint8Array): Uint8Array[] {
    if (this.failed !== undefined) throw this.failed;
    const out: Uint8Array[] = [];
    try {
      this.consume(chunk, out);
    } catch (error) {
      if (out.length === 0) throw error;
    }
    return out;
  }

  private consume(chunk: Uint8Array, out: Uint8Array[]): void {
    let at = 0;
    while (at < chunk.length) {
      if (this.frame === undefined) {
        const take = Math.min(FRAME_HEADER_BYTES - this.headerFilled, chunk.length - at);
        this.header.set(chunk.subarray(at, at + take), this.headerFilled);
        this.headerFilled += take;
        at += take;
        if (this.headerFilled < FRAME_HEADER_BYTES) break;
        const length = new DataView(this.header.buffer).getUint32(0, true);
        if (length === 0) this.fail(new PsycheError(DATA_FRAME_MALFORMED, { offset: this.consumed, reason: 'empty frame' }, `empty frame at byte ${this.consumed}`));
        if (length > this.maxFrameBytes) this.fail(new PsycheError(DATA_FRAME_TOO_LARGE, { length, limit: this.maxFrameBytes }, `frame of ${length} bytes exceeds the limit of ${this.maxFrameBytes}`));
        // A whole frame inside this chunk is returned as a view (no copy); otherwise assemble it.
        if (chunk.length - at >= length) {
          out.push(chunk.subarray(at, at + length));
          at += length;
          this.headerFilled = 0;
          this.consumed += FRAME_HEADER_BYTES + length;
          continue;
        }
        this.frame = this.assemblyBuffer(length);
        this.frameFilled = 0;
      }
      const take = Math.min(this.frame.length - this.frameFilled, chunk.length - at);
      this.frame.set(chunk.subarray(at, at + take), this.frameFilled);
      this.frameFilled += take;
      at += take;
      if (this.frameFilled === this.frame.length) {
        out.push(this.frame);
        this.consumed += FRAME_HEADER_BYTES + this.frame.length;
        this.frame = undefined;
        this.frameFilled = 0;
        this.headerFilled = 0;
      }
    }
  }

  private assemblyBuffer(length: number): Uint8Array {
    if (!this.transient) return new Uint8Array(length);
    const index = this.nextAssembly;
    this.nextAssembly = 1 - index;
    const kept = this.assemblies[index];
    if (kept !== undefined && kept.length >= length) return kept.subarray(0, length);
    const buffer = new Uint8Array(length);
    // A rare huge frame is not kept: REUSED_ASSEMBLY_BYTES, not the largest frame seen, bounds what stays allocated.
    if (length <= REUSED_ASSEMBLY_BYTES) this.assemblies[index] = buffer;
    return buffer;
  }

  private fail(error: PsycheError): never {
    this.failed = error;
    this.frame = undefined;
    throw error;
  }
}

/** Reference splitter: concatenate everything, then cut frames off the front. Slow and obviously right; tests compare against it. */
export function splitFramesReference(stream: Uint8Array, maxFrameBytes: number): { frames: Uint8Array[]; rest: number; error?: number } {
  const frames: Uint8Array[] = [];
  let at = 0;
  while (stream.length - at >= FRAME_HEADER_BYTES) {
    const length = new DataView(stream.buffer, stream.byteOffset + at, 4).getUint32(0, true);
    if (length === 0) return { frames, rest: stream.length - at, error: DATA_FRAME_MALFORMED };
    if (length > maxFrameBytes) return { frames, rest: stream.length - at, error: DATA_FRAME_TOO_LARGE };
    if (stream.length - at - FRAME_HEADER_BYTES < length) break;
    frames.push(stream.slice(at + FRAME_HEADER_BYTES, at + FRAME_HEADER_BYTES + length));
    at += FRAME_HEADER_BYTES + length;
  }
  return { frames, rest: stream.length - at };
}
