import { randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, readdir, rename, rm, stat } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { blobHashToString } from './blob-ticket.ts';

/** Chunk size for reads from storage: 1 MiB writes were fastest on yamux (see the brief). */
export const STORAGE_CHUNK_BYTES = 1024 * 1024;

export interface StoredBlob {
  readonly hash: string;
  readonly size: number;
  readonly addedAtMs: number;
}

/** An in-progress write; nothing is visible under the hash until `commit`. */
export interface BlobWriter {
  write(chunk: Uint8Array): Promise<void>;
  commit(hash: Uint8Array): Promise<void>;
  abort(): Promise<void>;
}

/** Where blobs live: in memory, or one file per blob in a directory. Keys are hex BLAKE3 hashes. */
export interface BlobStorage {
  get(hash: string): StoredBlob | undefined;
  list(): StoredBlob[];
  /** `expectedSize`, when known (a fetch knows it from the ticket), lets storage allocate once. */
  createWriter(expectedSize?: number): BlobWriter;
  /** Streams the blob from `offset` in chunks of at most STORAGE_CHUNK_BYTES. */
  read(hash: string, offset: number): AsyncIterable<Uint8Array>;
  delete(hash: string): Promise<boolean>;
}

export class MemoryBlobStorage implements BlobStorage {
  readonly #blobs = new Map<string, { info: StoredBlob; bytes: Uint8Array }>();
  readonly #now: () => number;

  constructor(options: { now?: () => number } = {}) {
    this.#now = options.now ?? Date.now;
  }

  get(hash: string): StoredBlob | undefined {
    return this.#blobs.get(hash)?.info;
  }

  list(): StoredBlob[] {
    return [...this.#blobs.values()].map((b) => b.info);
  }

  createWriter(expectedSize?: number): BlobWriter {
    // Known size: one allocation, one copy per chunk. Unknown: collect copies, join at commit.
    // allocUnsafe skips zero-filling: commit happens only once every byte has been written.
    let preallocated = expectedSize === undefined ? undefined : new Uint8Array(Buffer.allocUnsafeSlow(expectedSize).buffer, 0, expectedSize);
    let parts: Uint8Array[] = [];
    let size = 0;
    return {
      write: async (chunk) => {
        if (preallocated !== undefined && size + chunk.length <= preallocated.length) {
          preallocated.set(chunk, size);
        } else {
          if (preallocated !== undefined) {
            parts.push(preallocated.subarray(0, size));
            preallocated = undefined;
          }
          parts.push(Uint8Array.from(chunk));
        }
        size += chunk.length;
      },
      commit: async (hash) => {
        let bytes: Uint8Array;
        if (preallocated !== undefined) {
          bytes = preallocated.subarray(0, size);
        } else {
          bytes = new Uint8Array(size);
          let offset = 0;
          for (const part of parts) {
            bytes.set(part, offset);
            offset += part.length;
          }
        }
        parts = [];
        preallocated = undefined;
        const key = blobHashToString(hash);
        if (!this.#blobs.has(key)) this.#blobs.set(key, { info: { hash: key, size, addedAtMs: this.#now() }, bytes });
      },
      abort: async () => {
        parts = [];
        preallocated = undefined;
      },
    };
  }

  async *read(hash: string, offset: number): AsyncIterable<Uint8Array> {
    const entry = this.#blobs.get(hash);
    if (entry === undefined) return;
    for (let at = offset; at < entry.bytes.length; at += STORAGE_CHUNK_BYTES) {
      yield entry.bytes.subarray(at, Math.min(entry.bytes.length, at + STORAGE_CHUNK_BYTES));
    }
  }

  async delete(hash: string): Promise<boolean> {
    return this.#blobs.delete(hash);
  }
}

const HASH_FILE = /^[0-9a-f]{64}$/;

/**
 * One file per blob, named by its hex hash, in `directory`. Writes go to a temp file renamed on
 * commit, so a crash never leaves a partial blob under a hash. Memory stays bounded by one chunk.
 */
export class DirectoryBlobStorage implements BlobStorage {
  readonly directory: string;
  readonly #index = new Map<string, StoredBlob>();
  readonly #now: () => number;

  private constructor(directory: string, now: () => number) {
    this.directory = directory;
    this.#now = now;
  }

  /** Opens (creating if needed) a directory store and indexes the blobs already in it. */
  static async open(directory: string, options: { now?: () => number } = {}): Promise<DirectoryBlobStorage> {
    await mkdir(directory, { recursive: true, mode: 0o700 });
    const storage = new DirectoryBlobStorage(directory, options.now ?? Date.now);
    for (const name of await readdir(directory)) {
      if (name.startsWith('tmp-')) {
        await rm(join(directory, name), { force: true });
        continue;
      }
      if (!HASH_FILE.test(name)) continue;
      const info = await stat(join(directory, name));
      storage.#index.set(name, { hash: name, size: info.size, addedAtMs: info.mtimeMs });
    }
    return storage;
  }

  get(hash: string): StoredBlob | undefined {
    return this.#index.get(hash);
  }

  list(): StoredBlob[] {
    return [...this.#index.values()];
  }

  createWriter(): BlobWriter {
    const temp = join(this.directory, `tmp-${randomBytes(8).toString('hex')}`);
    let handle: FileHandle | undefined;
    let size = 0;
    const close = async () => {
      const h = handle;
      handle = undefined;
      await h?.close();
    };
    return {
      write: async (chunk) => {
        handle ??= await open(temp, 'w', 0o600);
        let written = 0;
        while (written < chunk.length) {
          const { bytesWritten } = await handle.write(chunk, written, chunk.length - written);
          written += bytesWritten;
        }
        size += chunk.length;
      },
      commit: async (hash) => {
        handle ??= await open(temp, 'w', 0o600);
        await close();
        const key = blobHashToString(hash);
        await rename(temp, join(this.directory, key));
        this.#index.set(key, { hash: key, size, addedAtMs: this.#now() });
      },
      abort: async () => {
        await close();
        await rm(temp, { force: true });
      },
    };
  }

  async *read(hash: string, offset: number): AsyncIterable<Uint8Array> {
    if (!this.#index.has(hash)) return;
    const stream = createReadStream(join(this.directory, hash), { start: offset, highWaterMark: STORAGE_CHUNK_BYTES });
    for await (const chunk of stream) yield chunk as Buffer;
  }

  async delete(hash: string): Promise<boolean> {
    if (!this.#index.delete(hash)) return false;
    await rm(join(this.directory, hash), { force: true });
    return true;
  }
}
