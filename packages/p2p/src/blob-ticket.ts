import { decode, encode } from '@msgpack/msgpack';
import { P2P_MALFORMED_TICKET, PsycheError, describeValue, toHex } from '@psyche/core';
import { BLAKE3_LENGTH } from './blake3.ts';
import { NODE_ID_LENGTH } from './node-id.ts';
import type { NodeId } from './node-id.ts';

/** A node that holds a blob, and how to reach it (transport addresses; multiaddrs for libp2p). */
export interface BlobProvider {
  readonly nodeId: NodeId;
  readonly addrs: readonly string[];
}

/** Everything needed to fetch a blob from any holder and check it: BLAKE3 hash, size, providers. */
export interface BlobTicket {
  readonly hash: Uint8Array;
  readonly size: number;
  readonly providers: readonly BlobProvider[];
}

export const TICKET_PREFIX = 'blob1';
const TICKET_VERSION = 1;
const MAX_PROVIDERS = 32;
const MAX_ADDRS = 16;
const MAX_ADDR_LENGTH = 512;
/** Bound on the text form, checked before decoding. */
export const MAX_TICKET_LENGTH = 64 * 1024;

export function blobHashToString(hash: Uint8Array): string {
  return toHex(hash);
}

/** Binary form: msgpack `[1, hash, size, [[nodeId, [addr, ...]], ...]]`. */
export function encodeTicket(ticket: BlobTicket): Uint8Array {
  return encode([TICKET_VERSION, ticket.hash, ticket.size, ticket.providers.map((p) => [p.nodeId, [...p.addrs]])]);
}

/** Text form: `blob1` followed by base64url of the binary form. */
export function ticketToString(ticket: BlobTicket): string {
  return TICKET_PREFIX + Buffer.from(encodeTicket(ticket)).toString('base64url');
}

function malformed(reason: string, cause?: unknown): never {
  throw new PsycheError(P2P_MALFORMED_TICKET, { reason }, `malformed blob ticket: ${reason}`, { cause });
}

export function decodeTicket(bytes: Uint8Array): BlobTicket {
  if (bytes.length > MAX_TICKET_LENGTH) malformed(`longer than ${MAX_TICKET_LENGTH} bytes`);
  let value: unknown;
  try {
    value = decode(bytes, {
      maxStrLength: MAX_ADDR_LENGTH,
      maxBinLength: NODE_ID_LENGTH,
      maxArrayLength: MAX_PROVIDERS,
      maxMapLength: 0,
      maxExtLength: 0,
    });
  } catch (cause) {
    malformed('not msgpack within limits', cause);
  }
  if (!Array.isArray(value) || value.length !== 4) malformed('expected an array of 4 fields');
  const [version, hash, size, providers] = value as unknown[];
  if (version !== TICKET_VERSION) malformed(`unsupported version ${describeValue(version)}`);
  if (!(hash instanceof Uint8Array) || hash.length !== BLAKE3_LENGTH) malformed('hash is not 32 bytes');
  if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) malformed('size is not an unsigned integer');
  if (!Array.isArray(providers)) malformed('providers is not an array');
  const parsed: BlobProvider[] = providers.map((entry: unknown) => {
    if (!Array.isArray(entry) || entry.length !== 2) malformed('provider is not [nodeId, addrs]');
    const [id, addrs] = entry as unknown[];
    if (!(id instanceof Uint8Array) || id.length !== NODE_ID_LENGTH) malformed('provider node id is not 32 bytes');
    if (!Array.isArray(addrs) || addrs.length > MAX_ADDRS || !addrs.every((a) => typeof a === 'string')) {
      malformed('provider addrs are not a short list of strings');
    }
    return { nodeId: id as NodeId, addrs: addrs as string[] };
  });
  return { hash, size, providers: parsed };
}

export function ticketFromString(text: string): BlobTicket {
  // typeof first: text.startsWith on a JS caller's non-string threw a TypeError.
  if (typeof text !== 'string') malformed(`expected a string, got ${describeValue(text)}`);
  if (text.length > MAX_TICKET_LENGTH * 2) malformed('text too long');
  if (!text.startsWith(TICKET_PREFIX)) malformed(`missing ${TICKET_PREFIX} prefix`);
  const body = text.slice(TICKET_PREFIX.length);
  if (!/^[A-Za-z0-9_-]*$/.test(body)) malformed('not base64url');
  return decodeTicket(new Uint8Array(Buffer.from(body, 'base64url')));
}
