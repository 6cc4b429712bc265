import type { BlobTicket } from './blob-ticket.ts';
import type { NodeId } from './node-id.ts';
import type { PeerScores } from './peer-scores.ts';

export interface FetchOptions {
  signal?: AbortSignal;
}

export interface FetchResult {
  readonly hash: Uint8Array;
  readonly size: number;
  /** Who delivered the verified bytes; undefined when the blob was already local. */
  readonly provider: NodeId | undefined;
  /** Providers tried before one succeeded (0 when the first worked). */
  readonly failedAttempts: number;
}

export interface GcOptions {
  /** Remove blobs added more than this many ms ago. */
  maxAgeMs?: number;
  /** Then remove the oldest until the total is at most this many bytes. */
  maxTotalBytes?: number;
  /** Hex hashes never removed (blobs still needed by the current round). */
  keep?: ReadonlySet<string>;
}

export interface GcResult {
  readonly removed: number;
  readonly freedBytes: number;
}

/**
 * Content-addressed blobs (BLAKE3), served to peers and fetched from any provider of a ticket,
 * independent of the transport. Every implementation runs `runBlobStoreCompliance`.
 */
export interface BlobStore {
  readonly nodeId: NodeId;
  readonly scores: PeerScores;
  /** Stores the bytes (a buffer or a stream of chunks) and returns a ticket naming this node. */
  add(data: Uint8Array | AsyncIterable<Uint8Array>): Promise<BlobTicket>;
  has(hash: Uint8Array): boolean;
  /** A ticket naming this node as provider of a blob it holds. */
  ticket(hash: Uint8Array): BlobTicket;
  /** The whole blob; for large blobs prefer {@link BlobStore.readStream}. */
  read(hash: Uint8Array): Promise<Uint8Array>;
  readStream(hash: Uint8Array): AsyncIterable<Uint8Array>;
  /**
   * Fetches into the local store from any provider, verifying size and BLAKE3 before the blob
   * becomes visible; retries other providers when one stalls, fails or lies.
   */
  fetch(ticket: BlobTicket, options?: FetchOptions): Promise<FetchResult>;
  delete(hash: Uint8Array): Promise<boolean>;
  gc(options: GcOptions): Promise<GcResult>;
  stop(): Promise<void>;
}

export interface BlobStoreLimits {
  /** Largest blob accepted by add or fetch. Default 2 GiB. */
  maxBlobBytes?: number;
  /** Fetches running at once; more wait their turn. Default 4. */
  maxConcurrentFetches?: number;
  /** Requests served at once; more get status busy. Default 32. */
  maxConcurrentServes?: number;
  /** A provider that sends no byte for this long is abandoned for the next, and a fetcher that accepts no byte for this long is dropped by the server. Default 10 s. */
  stallTimeoutMs?: number;
  /** Passes over the provider list before giving up. Default 2. */
  fetchRounds?: number;
}
