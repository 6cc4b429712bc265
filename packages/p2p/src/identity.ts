import { createPrivateKey, createPublicKey, sign as cryptoSign, verify as cryptoVerify, randomBytes } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { chmod, mkdir, open, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { P2P_MALFORMED_KEY_FILE, PsycheError, assertBytes, fromHex, isPsycheError, toHex } from '@psyche/core';
import type { Rng } from '@psyche/core';
import { NODE_ID_LENGTH, nodeIdFromString, nodeIdToString } from './node-id.ts';
import type { NodeId } from './node-id.ts';

/** Ed25519 seed length (RFC 8032 §5.1.5: the 32-byte private key). */
export const SECRET_KEY_LENGTH = 32;
export const SIGNATURE_LENGTH = 64;

// DER prefixes wrapping a raw Ed25519 key for node:crypto (RFC 8410 §7 and §4).
const PKCS8_ED25519_PREFIX = fromHex('302e020100300506032b657004220420');
const SPKI_ED25519_PREFIX = fromHex('302a300506032b6570032100');

/**
 * A node's Ed25519 key pair. Signing and verification use node:crypto (OpenSSL, about 20x faster
 * than pure JS); `@noble/ed25519` is the reference the tests compare it with.
 */
export interface Identity {
  readonly nodeId: NodeId;
  /** The 32-byte Ed25519 seed. Keep secret. */
  readonly secretKey: Uint8Array;
  sign(message: Uint8Array): Uint8Array;
}

class Ed25519Identity implements Identity {
  readonly nodeId: NodeId;
  readonly secretKey: Uint8Array;
  readonly #key: KeyObject;

  constructor(secretKey: Uint8Array) {
    this.secretKey = Uint8Array.from(secretKey);
    this.#key = createPrivateKey({
      key: Buffer.concat([PKCS8_ED25519_PREFIX, this.secretKey]),
      format: 'der',
      type: 'pkcs8',
    });
    const spki = createPublicKey(this.#key).export({ format: 'der', type: 'spki' });
    this.nodeId = new Uint8Array(spki.subarray(spki.length - NODE_ID_LENGTH)) as NodeId;
  }

  sign(message: Uint8Array): Uint8Array {
    return new Uint8Array(cryptoSign(null, message, this.#key));
  }
}

/** Builds the identity of a 32-byte Ed25519 seed. Anything else is CORE_INVALID_ARGUMENT. */
export function identityFromSecretKey(secretKey: Uint8Array): Identity {
  // assertBytes, not String(secretKey?.length) in a TypeError: a {length: {toString: null}} made that String() throw another TypeError.
  return new Ed25519Identity(assertBytes('secretKey', secretKey, SECRET_KEY_LENGTH));
}

/**
 * A fresh identity. Keys come from the OS CSPRNG; pass a seeded `Rng` only in tests and
 * benchmarks where reproducible node ids matter more than secrecy.
 */
export function generateIdentity(rng?: Rng): Identity {
  if (rng === undefined) return identityFromSecretKey(randomBytes(SECRET_KEY_LENGTH));
  const seed = new Uint8Array(SECRET_KEY_LENGTH);
  for (let i = 0; i < SECRET_KEY_LENGTH; i += 4) {
    const word = rng.nextU32();
    seed[i] = word & 255;
    seed[i + 1] = (word >>> 8) & 255;
    seed[i + 2] = (word >>> 16) & 255;
    seed[i + 3] = word >>> 24;
  }
  return identityFromSecretKey(seed);
}

const publicKeyCache = new Map<string, KeyObject>();
const PUBLIC_KEY_CACHE_LIMIT = 4096;

/** Ed25519 verification (RFC 8032) of `signature` over `message` by `signer`. Never throws. */
export function verifySignature(signer: NodeId, message: Uint8Array, signature: Uint8Array): boolean {
  // instanceof first: reading .length of a null signature from a JS caller threw, and this never throws.
  if (!(signature instanceof Uint8Array) || !(signer instanceof Uint8Array) || signature.length !== SIGNATURE_LENGTH || signer.length !== NODE_ID_LENGTH) return false;
  const cacheKey = toHex(signer);
  let key = publicKeyCache.get(cacheKey);
  if (key === undefined) {
    try {
      key = createPublicKey({ key: Buffer.concat([SPKI_ED25519_PREFIX, signer]), format: 'der', type: 'spki' });
    } catch {
      return false;
    }
    if (publicKeyCache.size >= PUBLIC_KEY_CACHE_LIMIT) publicKeyCache.clear();
    publicKeyCache.set(cacheKey, key);
  }
  try {
    return cryptoVerify(null, message, key, signature);
  } catch {
    return false;
  }
}

const MAX_KEY_FILE_BYTES = 4096;

/** Key file format: one JSON object `{"type":"ed25519","secretKey":"<hex>","nodeId":"<hex>"}`. */
interface KeyFileContent {
  type: 'ed25519';
  secretKey: string;
  nodeId: string;
}

/** Writes the identity to `path` with owner-only permissions (0600), atomically (temp file + rename). */
export async function saveIdentity(identity: Identity, path: string): Promise<void> {
  const content: KeyFileContent = {
    type: 'ed25519',
    secretKey: toHex(identity.secretKey),
    nodeId: nodeIdToString(identity.nodeId),
  };
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  const temp = `${path}.${process.pid}.tmp`;
  await writeFile(temp, `${JSON.stringify(content)}\n`, { mode: 0o600, flag: 'w' });
  await chmod(temp, 0o600); // the umask never widens 0600, but an existing temp file could have other bits
  await rename(temp, path);
}

/** Reads a key file written by {@link saveIdentity}; checks that the stored node id matches the key. */
export async function loadIdentity(path: string): Promise<Identity> {
  const fail = (reason: string, cause?: unknown): never => {
    throw new PsycheError(P2P_MALFORMED_KEY_FILE, { path, reason }, `key file ${path}: ${reason}`, { cause });
  };
  // A key file is about 170 bytes: a path pointing at anything big (a log, /dev/zero) is not read whole.
  const handle = await open(path, 'r');
  let text: string;
  try {
    const buffer = Buffer.alloc(MAX_KEY_FILE_BYTES + 1);
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, 0);
    if (bytesRead > MAX_KEY_FILE_BYTES) return fail(`longer than ${MAX_KEY_FILE_BYTES} bytes`);
    text = buffer.toString('utf8', 0, bytesRead);
  } finally {
    await handle.close();
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (cause) {
    return fail('not JSON', cause);
  }
  const content = parsed as Partial<KeyFileContent> | null;
  if (typeof content !== 'object' || content === null || content.type !== 'ed25519') return fail('type is not ed25519');
  if (typeof content.secretKey !== 'string' || !/^[0-9a-f]{64}$/.test(content.secretKey)) {
    return fail('secretKey is not 64 hex characters');
  }
  const identity = identityFromSecretKey(fromHex(content.secretKey));
  if (content.nodeId !== undefined) {
    // A parsed key file can hold any JSON here: String() of {"toString": null} throws a TypeError.
    if (typeof content.nodeId !== 'string') return fail('nodeId is not a string');
    let stored: NodeId;
    try {
      stored = nodeIdFromString(content.nodeId);
    } catch (cause) {
      if (!isPsycheError(cause)) throw cause;
      return fail('nodeId is malformed', cause);
    }
    if (nodeIdToString(stored) !== nodeIdToString(identity.nodeId)) return fail('nodeId does not match secretKey');
  }
  return identity;
}

/** Loads the key file at `path`, or creates one with a fresh identity when it does not exist. */
export async function loadOrCreateIdentity(path: string): Promise<Identity> {
  try {
    return await loadIdentity(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  const identity = generateIdentity();
  await saveIdentity(identity, path);
  return identity;
}
