import { P2P_MALFORMED_BLOB_FRAME, PsycheError } from '@psyche/core';
import { BLAKE3_LENGTH } from './blake3.ts';

/** Stream protocol id of blob transfer (libp2p multistream-select name). */
export const BLOB_PROTOCOL = '/psyche/blob/1.0.0';

/** First byte of every blob frame: identifies protocol version 1. */
export const BLOB_FRAME_MAGIC = 0xb1;
export const BLOB_FRAME_GET = 1;
export const BLOB_FRAME_HEADER = 2;
/** magic u8 ‖ type u8 ‖ BLAKE3 hash (32) ‖ offset u64 BE */
export const BLOB_REQUEST_LENGTH = 2 + BLAKE3_LENGTH + 8;
/** magic u8 ‖ type u8 ‖ status u8 ‖ size u64 BE */
export const BLOB_HEADER_LENGTH = 3 + 8;

export const BlobStatus = { ok: 0, notFound: 1, busy: 2, badRequest: 3 } as const;
export type BlobStatus = (typeof BlobStatus)[keyof typeof BlobStatus];

export interface BlobRequest {
  readonly hash: Uint8Array;
  /** First byte wanted: a fetch resumed on another provider continues where the last one stopped. */
  readonly offset: number;
}

export interface BlobResponseHeader {
  readonly status: BlobStatus;
  /** Total blob size (not size minus offset). 0 unless status is ok. */
  readonly size: number;
}

function malformed(frame: string, reason: string): never {
  throw new PsycheError(P2P_MALFORMED_BLOB_FRAME, { frame, reason }, `malformed blob ${frame} frame: ${reason}`);
}

function readU64(view: DataView, offset: number, frame: string): number {
  const value = view.getBigUint64(offset, false);
  if (value > BigInt(Number.MAX_SAFE_INTEGER)) malformed(frame, 'u64 above 2^53 - 1');
  return Number(value);
}

export function encodeBlobRequest(request: BlobRequest): Uint8Array {
  const out = new Uint8Array(BLOB_REQUEST_LENGTH);
  out[0] = BLOB_FRAME_MAGIC;
  out[1] = BLOB_FRAME_GET;
  out.set(request.hash, 2);
  new DataView(out.buffer).setBigUint64(2 + BLAKE3_LENGTH, BigInt(request.offset), false);
  return out;
}

export function decodeBlobRequest(bytes: Uint8Array): BlobRequest {
  if (bytes.length !== BLOB_REQUEST_LENGTH) malformed('request', `expected ${BLOB_REQUEST_LENGTH} bytes, got ${bytes.length}`);
  if (bytes[0] !== BLOB_FRAME_MAGIC) malformed('request', 'bad magic');
  if (bytes[1] !== BLOB_FRAME_GET) malformed('request', `unknown type ${String(bytes[1])}`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return { hash: bytes.slice(2, 2 + BLAKE3_LENGTH), offset: readU64(view, 2 + BLAKE3_LENGTH, 'request') };
}

export function encodeBlobHeader(header: BlobResponseHeader): Uint8Array {
  const out = new Uint8Array(BLOB_HEADER_LENGTH);
  out[0] = BLOB_FRAME_MAGIC;
  out[1] = BLOB_FRAME_HEADER;
  out[2] = header.status;
  new DataView(out.buffer).setBigUint64(3, BigInt(header.size), false);
  return out;
}

export function decodeBlobHeader(bytes: Uint8Array): BlobResponseHeader {
  if (bytes.length !== BLOB_HEADER_LENGTH) malformed('header', `expected ${BLOB_HEADER_LENGTH} bytes, got ${bytes.length}`);
  if (bytes[0] !== BLOB_FRAME_MAGIC) malformed('header', 'bad magic');
  if (bytes[1] !== BLOB_FRAME_HEADER) malformed('header', `unknown type ${String(bytes[1])}`);
  const status = bytes[2]!;
  if (status > BlobStatus.badRequest) malformed('header', `unknown status ${status}`);
  const size = readU64(new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength), 3, 'header');
  if (status !== BlobStatus.ok && size !== 0) malformed('header', 'size must be 0 unless status is ok');
  return { status: status as BlobStatus, size };
}

/**
 * Reads exactly `length` bytes from the front of a chunk stream. Returns them and whatever was read
 * past them (the start of the next part). Throws on end of stream before `length` bytes.
 */
export async function readExactly(
  chunks: AsyncIterator<Uint8Array>,
  length: number,
  frame: string,
): Promise<{ bytes: Uint8Array; rest: Uint8Array | undefined }> {
  const bytes = new Uint8Array(length);
  let filled = 0;
  while (filled < length) {
    const next = await chunks.next();
    if (next.done === true) malformed(frame, `stream ended after ${filled} of ${length} bytes`);
    const chunk = next.value;
    const take = Math.min(chunk.length, length - filled);
    bytes.set(chunk.subarray(0, take), filled);
    filled += take;
    if (take < chunk.length) return { bytes, rest: chunk.subarray(take) };
  }
  return { bytes, rest: undefined };
}
