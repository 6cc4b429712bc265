import { DATA_MANIFEST_MALFORMED, PsycheError, utf8Decode, describeValue } from '@psyche/core';
import { bytesPerToken, type TokenDtype } from './token-dtype.ts';

export const MANIFEST_FORMAT = 'psyche-token-shards';
export const MANIFEST_VERSION = 1;
/** Conventional file name of the manifest beside the shards. */
export const MANIFEST_FILE_NAME = 'manifest.json';
/** A manifest is small (one line per shard); anything bigger is refused before parsing. */
export const MAX_MANIFEST_BYTES = 16 * 1024 * 1024;
const MAX_FILES = 100_000;
/** Longest sequence a dataset (and a TCP server's welcome) may declare. */
export const MAX_SEQ_LEN = 2 ** 24;
/** Largest vocabulary of u32 data: the TCP protocol's welcome carries it as a u32. */
export const MAX_U32_VOCAB_SIZE = 2 ** 32 - 1;

export interface ShardFile {
  /** Relative path (or URL path segment) from the manifest's location: no `..`, no leading `/`. */
  path: string;
  /** Exact byte size; a multiple of the token width. */
  bytes: number;
  /** Lowercase hex SHA-256 of the whole file. */
  sha256: string;
}

/**
 * What readers check before serving a token: the JSON document beside the shards.
 * Sequence s covers tokens [s·seqLen, s·seqLen + seqLen + 1) of the files concatenated in order
 * (inputs and the targets shifted by one), so consecutive sequences share one boundary token.
 */
export interface DatasetManifest {
  format: typeof MANIFEST_FORMAT;
  version: typeof MANIFEST_VERSION;
  dtype: TokenDtype;
  vocabSize: number;
  seqLen: number;
  files: ShardFile[];
  /** Informational: the tokenizer that produced the shards ('byte', 'gpt2', …). */
  tokenizer?: string;
  /** Token placed between documents, when the tokenizer has one. */
  eotToken?: number;
}

function malformed(source: string, reason: string): never {
  throw new PsycheError(DATA_MANIFEST_MALFORMED, { source, reason }, `${source}: malformed manifest: ${reason}`);
}

function integerField(source: string, object: Record<string, unknown>, field: string, min: number, max: number): number {
  const value = object[field];
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    malformed(source, `${field} must be an integer in [${min}, ${max}], got ${describeValue(value)}`);
  }
  // JSON's -0 parses to -0 and serializes as 0: + 0 makes it 0, so a parsed manifest serializes to itself.
  return value + 0;
}

/** A path that cannot escape the dataset's directory or base URL. */
export function isSafeRelativePath(path: string): boolean {
  if (path.length === 0 || path.length > 1024) return false;
  if (path.startsWith('/') || path.includes('\\') || path.includes('\0') || /^[a-zA-Z][a-zA-Z0-9+.-]*:/.test(path)) return false;
  return path.split('/').every((segment) => segment !== '' && segment !== '.' && segment !== '..');
}

/** Validates an already-parsed JSON value; every field is checked, unknown fields are ignored. */
export function validateManifest(value: unknown, source = 'manifest'): DatasetManifest {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) malformed(source, 'not a JSON object');
  const object = value as Record<string, unknown>;
  if (object['format'] !== MANIFEST_FORMAT) malformed(source, `format must be '${MANIFEST_FORMAT}'`);
  if (object['version'] !== MANIFEST_VERSION) malformed(source, `unsupported version ${describeValue(object['version'])}`);
  const dtype = object['dtype'];
  if (dtype !== 'u16' && dtype !== 'u32') malformed(source, `dtype must be 'u16' or 'u32'`);
  // u32 data: at most 2^32 − 1, the largest a u32 field (the TCP welcome) carries.
  const vocabSize = integerField(source, object, 'vocabSize', 1, dtype === 'u16' ? 65_536 : MAX_U32_VOCAB_SIZE);
  const seqLen = integerField(source, object, 'seqLen', 1, MAX_SEQ_LEN);
  const files = object['files'];
  if (!Array.isArray(files) || files.length === 0 || files.length > MAX_FILES) {
    malformed(source, `files must be a non-empty array of at most ${MAX_FILES}`);
  }
  const width = bytesPerToken(dtype);
  const seen = new Set<string>();
  let totalBytes = 0;
  const checkedFiles = files.map((entry: unknown, index): ShardFile => {
    if (typeof entry !== 'object' || entry === null) malformed(source, `files[${index}] is not an object`);
    const file = entry as Record<string, unknown>;
    const path = file['path'];
    if (typeof path !== 'string' || !isSafeRelativePath(path)) malformed(source, `files[${index}].path is not a safe relative path`);
    if (seen.has(path)) malformed(source, `files[${index}].path ${path} is listed twice`);
    seen.add(path);
    const bytes = integerField(source, file, 'bytes', 0, Number.MAX_SAFE_INTEGER);
    if (bytes % width !== 0) malformed(source, `files[${index}].bytes ${bytes} is not a multiple of ${width}`);
    // Token offsets across files are plain numbers: past 2^53 they would silently round.
    totalBytes += bytes;
    if (totalBytes > Number.MAX_SAFE_INTEGER) malformed(source, `files total more than ${Number.MAX_SAFE_INTEGER} bytes`);
    const sha256 = file['sha256'];
    if (typeof sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(sha256)) malformed(source, `files[${index}].sha256 must be 64 lowercase hex digits`);
    return { path, bytes, sha256 };
  });
  const manifest: DatasetManifest = { format: MANIFEST_FORMAT, version: MANIFEST_VERSION, dtype, vocabSize, seqLen, files: checkedFiles };
  if (object['tokenizer'] !== undefined) {
    if (typeof object['tokenizer'] !== 'string' || object['tokenizer'].length > 256) malformed(source, 'tokenizer must be a short string');
    manifest.tokenizer = object['tokenizer'];
  }
  if (object['eotToken'] !== undefined) manifest.eotToken = integerField(source, object, 'eotToken', 0, vocabSize - 1);
  return manifest;
}

/** Parses manifest bytes (strict UTF-8, bounded size) and validates them. */
export function parseManifest(bytes: Uint8Array, source = 'manifest'): DatasetManifest {
  if (bytes.length > MAX_MANIFEST_BYTES) malformed(source, `larger than ${MAX_MANIFEST_BYTES} bytes`);
  let value: unknown;
  try {
    value = JSON.parse(utf8Decode(bytes));
  } catch (cause) {
    throw new PsycheError(DATA_MANIFEST_MALFORMED, { source, reason: 'not valid UTF-8 JSON' }, `${source}: manifest is not valid JSON`, { cause });
  }
  return validateManifest(value, source);
}

export function serializeManifest(manifest: DatasetManifest): string {
  return `${JSON.stringify(validateManifest(manifest), null, 2)}\n`;
}

export function manifestTokenCount(manifest: Pick<DatasetManifest, 'dtype' | 'files'>): number {
  const width = bytesPerToken(manifest.dtype);
  return manifest.files.reduce((sum, file) => sum + file.bytes / width, 0);
}

/** Whole sequences of seqLen + 1 tokens at stride seqLen in `tokenCount` tokens. */
export function sequenceCountFor(tokenCount: number, seqLen: number): number {
  return tokenCount <= seqLen ? 0 : Math.floor((tokenCount - 1) / seqLen);
}

export function manifestSequenceCount(manifest: DatasetManifest): number {
  return sequenceCountFor(manifestTokenCount(manifest), manifest.seqLen);
}
