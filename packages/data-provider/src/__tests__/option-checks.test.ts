import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DATA_BATCH_ID_OUT_OF_RANGE, DATA_INVALID_CONFIG, isPsycheError } from '@psyche/core';
import {
  DatasetWriter,
  HttpFetcher,
  MAX_SEQ_LEN,
  assertBatchId,
  buildExampleDataset,
  byteTokenizer,
  createMixtureProvider,
  connectTcpDataProvider,
  createInMemoryProvider,
  createRoundAuthorizer,
  numberedFileUrls,
  openLocalProvider,
  startStaticHttpServer,
  startTcpDataServer,
  tokenizeDocuments,
  writeDataset,
  type TcpDataServer,
} from '../index.ts';
import { makeTempDir, randomTokens } from './helpers.ts';

// Each option below used to be taken as given: NaN counts gave batches of zeros (TCP client
// maxInFlight / idsPerRequest, local queueDepth, maxConcurrentReads), NaN or 0 deadlines dropped every
// client or fired at once, deadlines past 2^31 − 1 ms fired after 1 ms (node's timer limit).
const temp = makeTempDir('option-checks');
const vocabSize = 300;
const seqLen = 8;
const shards = [randomTokens(1000, vocabSize, 'options')];
const memory = (extra: { maxConcurrentReads?: number } = {}): ReturnType<typeof createInMemoryProvider> => createInMemoryProvider({ shards, vocabSize, seqLen, ...extra });
const counts = [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY];
const deadlines = [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 31];

/** The field of the DATA_INVALID_CONFIG it failed with; what else happened otherwise (anything it started is closed). */
async function refusedField(start: () => Promise<{ close(): Promise<void> }> | { close(): Promise<void> } | unknown): Promise<string> {
  try {
    const started = await start();
    if (typeof started === 'object' && started !== null && 'close' in started && typeof started.close === 'function') await (started.close as () => Promise<void>)();
    return 'accepted';
  } catch (error) {
    return isPsycheError(error, DATA_INVALID_CONFIG) ? error.context.field : `other error: ${String(error)}`;
  }
}

let server: TcpDataServer;
beforeAll(async () => {
  server = await startTcpDataServer({ provider: memory(), authorize: () => 'ok' });
});
afterAll(async () => {
  await server.close();
  temp.remove();
});

describe('options whose String() throws', () => {
  // {toString: null} (as JSON.parse makes it) and a symbol: printing either with String() or a template
  // literal, or comparing it, threw a TypeError instead of DATA_INVALID_CONFIG naming the field.
  const hostile = [{ toString: null }, Symbol('s')] as unknown as number[];

  it('are DATA_INVALID_CONFIG naming the field (batch ids DATA_BATCH_ID_OUT_OF_RANGE), not a TypeError', async () => {
    for (const bad of hostile) {
      const start = (extra: Record<string, number>) => () => startTcpDataServer({ provider: memory(), authorize: () => 'ok', ...extra });
      expect(await refusedField(start({ maxIdsPerRequest: bad }))).toBe('maxIdsPerRequest');
      expect(await refusedField(start({ maxRequestsInFlight: bad }))).toBe('maxRequestsInFlight');
      expect(await refusedField(() => createInMemoryProvider({ shards, vocabSize, seqLen, maxReadBytes: bad }))).toBe('maxReadBytes');
      expect(await refusedField(() => createMixtureProvider({ providers: [{ provider: memory(), weight: bad }], seed: 1 }))).toBe('providers[0].weight');
      expect(await refusedField(() => new DatasetWriter({ dir: join(temp.dir, 'hostile-vocab'), vocabSize: bad, seqLen }))).toBe('vocabSize');
      expect(await refusedField(() => new DatasetWriter({ dir: join(temp.dir, 'hostile-shard'), vocabSize, seqLen, maxShardBytes: bad }))).toBe('maxShardBytes');
      expect(await refusedField(() => tokenizeDocuments([], { outDir: join(temp.dir, 'hostile-split'), tokenizer: byteTokenizer, seqLen, validationFraction: bad }))).toBe('validationFraction');
      expect(await refusedField(() => buildExampleDataset({ outDir: join(temp.dir, 'hostile-example'), tokenizer: bad as unknown as 'byte' }))).toBe('tokenizer');
      expect(await refusedField(() => connectTcpDataProvider({ host: '127.0.0.1', port: server.port, clientId: bad as unknown as string }))).toBe('clientId');
      expect(await refusedField(() => connectTcpDataProvider({ host: '127.0.0.1', port: server.port, clientId: 'lone \uD800' }))).toBe('clientId');
      expect(await refusedField(() => connectTcpDataProvider({ host: '127.0.0.1', port: server.port, clientId: 'hostile' }).then(async (client) => {
        try {
          await client.getSequences([0], { step: bad });
        } finally {
          await client.close();
        }
      }))).toBe('step');
      let batchError: unknown;
      try {
        assertBatchId(bad);
      } catch (e) {
        batchError = e;
      }
      expect(isPsycheError(batchError, DATA_BATCH_ID_OUT_OF_RANGE), String(batchError)).toBe(true);
    }
  });
});

describe('numeric options are checked where they enter', () => {
  it('TCP data server: connection limit, deadlines, queue size and port, before listening', async () => {
    const start = (extra: Record<string, number>) => () => startTcpDataServer({ provider: memory(), authorize: () => 'ok', ...extra });
    for (const bad of counts) expect(await refusedField(start({ maxConnections: bad })), `maxConnections ${bad}`).toBe('maxConnections');
    for (const field of ['handshakeTimeoutMs', 'idleTimeoutMs', 'writeTimeoutMs']) {
      for (const bad of deadlines) expect(await refusedField(start({ [field]: bad })), `${field} ${bad}`).toBe(field);
    }
    for (const bad of [-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) expect(await refusedField(start({ maxQueuedBytes: bad })), `maxQueuedBytes ${bad}`).toBe('maxQueuedBytes');
    for (const bad of [-1, 1.5, 65_536, Number.NaN]) expect(await refusedField(start({ port: bad })), `port ${bad}`).toBe('port');
  });

  it('TCP data client: request split, in-flight limit, deadlines, frame limit and port, before connecting', async () => {
    const connect = (extra: Record<string, number>) => () => connectTcpDataProvider({ host: '127.0.0.1', port: server.port, clientId: 'opts', defaultStep: 0, ...extra });
    for (const field of ['idsPerRequest', 'maxInFlight']) {
      for (const bad of counts) expect(await refusedField(connect({ [field]: bad })), `${field} ${bad}`).toBe(field);
    }
    for (const field of ['connectTimeoutMs', 'requestTimeoutMs']) {
      for (const bad of deadlines) expect(await refusedField(connect({ [field]: bad })), `${field} ${bad}`).toBe(field);
    }
    for (const bad of [0, 1.5, Number.NaN, 2 ** 32 + 1]) expect(await refusedField(connect({ maxFrameBytes: bad })), `maxFrameBytes ${bad}`).toBe('maxFrameBytes');
    for (const bad of [0, 1.5, 65_536]) expect(await refusedField(connect({ port: bad })), `port ${bad}`).toBe('port');
    // Well-formed options still serve the same rows as the provider itself.
    const client = await connectTcpDataProvider({ host: '127.0.0.1', port: server.port, clientId: 'opts', defaultStep: 0, idsPerRequest: 3, maxInFlight: 2, requestTimeoutMs: 5_000 });
    try {
      const ids = [5, 0, 9, 1, 2, 7, 3];
      expect((await client.getSequences(ids)).tokens).toEqual((await memory().getSequences(ids)).tokens);
    } finally {
      await client.close();
    }
  });

  it('sharded providers: maxConcurrentReads; local provider: queueDepth and maxGapBytes', async () => {
    for (const bad of counts) expect(await refusedField(() => memory({ maxConcurrentReads: bad })), `maxConcurrentReads ${bad}`).toBe('maxConcurrentReads');
    const dir = join(temp.dir, 'local');
    writeDataset({ dir, vocabSize, seqLen, shards });
    for (const bad of counts) expect(await refusedField(() => openLocalProvider({ dir, io: 'async', queueDepth: bad })), `queueDepth ${bad}`).toBe('queueDepth');
    for (const bad of [-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) expect(await refusedField(() => openLocalProvider({ dir, maxGapBytes: bad })), `maxGapBytes ${bad}`).toBe('maxGapBytes');
  });

  it('round authorizer keepSteps', async () => {
    for (const bad of counts) expect(await refusedField(() => createRoundAuthorizer({ keepSteps: bad })), `keepSteps ${bad}`).toBe('keepSteps');
  });

  it('numbered file URLs: count within a manifest, start and zeroPad whole and non-negative', async () => {
    const template = 'http://127.0.0.1/{index}.bin';
    expect(await refusedField(() => numberedFileUrls({ template, count: 100_001 }))).toBe('count');
    expect(await refusedField(() => numberedFileUrls({ template, count: 2 ** 32 }))).toBe('count');
    for (const bad of [-1, 1.5, Number.NaN]) expect(await refusedField(() => numberedFileUrls({ template, count: 2, start: bad })), `start ${bad}`).toBe('start');
    for (const bad of [-1, 1.5, 33, Number.NaN]) expect(await refusedField(() => numberedFileUrls({ template, count: 2, zeroPad: bad })), `zeroPad ${bad}`).toBe('zeroPad');
    expect(numberedFileUrls({ template, count: 2, start: 9, zeroPad: 3 })).toEqual(['http://127.0.0.1/009.bin', 'http://127.0.0.1/010.bin']);
  });

  it('dataset writer: seqLen the manifest can hold, and a NaN maxShardBytes (which dropped every token) refused', async () => {
    for (const bad of [0, 1.5, Number.NaN, MAX_SEQ_LEN + 1]) {
      const dir = join(temp.dir, `seq-${String(bad)}`);
      expect(await refusedField(() => new DatasetWriter({ dir, vocabSize, seqLen: bad })), `seqLen ${bad}`).toBe('seqLen');
      expect(existsSync(dir)).toBe(false);
    }
    expect(await refusedField(() => new DatasetWriter({ dir: join(temp.dir, 'nan-shard'), vocabSize, seqLen, maxShardBytes: Number.NaN }))).toBe('maxShardBytes');
  });

  it('example dataset: a tokenizer name is checked before its directory is deleted', async () => {
    const outDir = join(temp.dir, 'example');
    const sibling = join(temp.dir, 'escape-256');
    mkdirSync(sibling, { recursive: true });
    writeFileSync(join(sibling, 'keep.txt'), 'not the example');
    // join(outDir, '../escape-256') is the sibling: the previous code removed it, then refused the tokenizer.
    expect(await refusedField(() => buildExampleDataset({ outDir, tokenizer: '../escape' as 'byte' }))).toBe('tokenizer');
    expect(existsSync(join(sibling, 'keep.txt'))).toBe(true);
    expect(await refusedField(() => buildExampleDataset({ outDir, seqLen: 1.5 }))).toBe('seqLen');
  });

  it('HTTP: deadlines past the timer limit (they fired after 1 ms); static server writeTimeoutMs and port', async () => {
    for (const field of ['timeoutMs', 'backoffMs', 'maxBackoffMs']) expect(await refusedField(() => new HttpFetcher({ [field]: 2 ** 31 })), field).toBe(field);
    expect(await refusedField(() => new HttpFetcher({ retries: 2 ** 31, timeoutMs: 2 ** 31 - 1 }))).toBe('accepted');
    const root = temp.dir;
    expect(await refusedField(() => startStaticHttpServer({ root, writeTimeoutMs: 2 ** 31 }))).toBe('writeTimeoutMs');
    for (const bad of [-1, 1.5, 65_536, Number.NaN]) expect(await refusedField(() => startStaticHttpServer({ root, port: bad })), `port ${bad}`).toBe('port');
  });
});
