import { createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DATA_ABORTED,
  DATA_CHECKSUM_MISMATCH,
  DATA_FILE_TRUNCATED,
  DATA_HTTP_FAILED,
  DATA_HTTP_SHORT_READ,
  DATA_HTTP_STATUS,
  DATA_MANIFEST_MALFORMED,
  DATA_MANIFEST_MISMATCH,
  DATA_TIMEOUT,
  DATA_TOKEN_OUT_OF_RANGE,
  sha256,
  toHex,
} from '@psyche/core';
import {
  HttpFetcher,
  MultipartByterangesParser,
  byterangesBoundary,
  createInMemoryProvider,
  dataProviderComplianceTests,
  numberedFileUrls,
  openHttpProvider,
  parseRangeHeader,
  startStaticHttpServer,
  writeDataset,
  type StaticHttpServer,
} from '../index.ts';
import { makeTempDir, randomTokens, rejectionCode } from './helpers.ts';

const vocabSize = 5000;
const seqLen = 20;
const shards = [randomTokens(400, vocabSize, 'h1'), randomTokens(257, vocabSize, 'h2'), randomTokens(300, vocabSize, 'h3')];
const fast = { retries: 2, backoffMs: 1, maxBackoffMs: 5, timeoutMs: 2000 };

const codeOf = rejectionCode;

/** A loopback server whose handler the test chooses (hostile behaviours). */
async function customServer(handler: (request: IncomingMessage, response: ServerResponse) => void): Promise<{ url: string; server: Server; close(): Promise<void> }> {
  const server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/`,
    server,
    close: () => new Promise((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}

describe('parseRangeHeader', () => {
  it('parses single ranges and refuses the rest', () => {
    expect(parseRangeHeader('bytes=0-9', 100)).toEqual({ start: 0, end: 9 });
    expect(parseRangeHeader('bytes=90-', 100)).toEqual({ start: 90, end: 99 });
    expect(parseRangeHeader('bytes=-5', 100)).toEqual({ start: 95, end: 99 });
    expect(parseRangeHeader('bytes=95-200', 100)).toEqual({ start: 95, end: 99 });
    for (const bad of ['bytes=100-', 'bytes=5-1', 'bytes=0-1,4-5', 'items=0-1', 'bytes=-']) expect(parseRangeHeader(bad, 100)).toBeUndefined();
  });
});

describe('HTTP provider against a real loopback server', () => {
  const temp = makeTempDir('http');
  let server: StaticHttpServer;
  let manifest: ReturnType<typeof writeDataset>;
  beforeAll(async () => {
    manifest = writeDataset({ dir: temp.dir, vocabSize, seqLen, shards });
    server = await startStaticHttpServer({ root: temp.dir });
  });
  afterAll(async () => {
    await server.close();
    temp.remove();
  });

  const sources = {
    'manifest URL': () => ({ manifestUrl: `${server.url}manifest.json` }),
    'numbered files template + manifest': () => ({ urls: numberedFileUrls({ template: `${server.url}shard-{index}.bin`, start: 0, count: 3, zeroPad: 5 }), manifest }),
  };
  for (const [label, source] of Object.entries(sources)) {
    for (const verify of ['size', 'full'] as const) {
      describe(`compliance: ${label}, verify ${verify}`, () => {
        for (const test of dataProviderComplianceTests({
          setup: async () => ({
            provider: await openHttpProvider({ source: source(), verify, shuffleSeed: 9, ...fast }),
            reference: createInMemoryProvider({ shards, vocabSize, seqLen, shuffleSeed: 9 }),
          }),
          teardown: async ({ provider, reference }) => {
            await provider.close();
            await reference?.close();
          },
        })) it(test.name, test.run);
      });
    }
  }

  describe('compliance: one URL, raw (no manifest, sizes by HEAD)', () => {
    for (const test of dataProviderComplianceTests({
      setup: async () => ({
        provider: await openHttpProvider({ source: { urls: [`${server.url}shard-00000.bin`], format: { dtype: 'u16', vocabSize, seqLen } }, ...fast }),
        reference: createInMemoryProvider({ shards: [shards[0]!], vocabSize, seqLen }),
      }),
      teardown: async ({ provider, reference }) => {
        await provider.close();
        await reference?.close();
      },
    })) it(test.name, test.run);
  });

  it('a pinned manifest sha256 is checked', async () => {
    const bytes = readFileSync(join(temp.dir, 'manifest.json'));
    const good = await openHttpProvider({ source: { manifestUrl: `${server.url}manifest.json`, manifestSha256: toHex(sha256(bytes)) }, ...fast });
    await good.close();
    expect(await codeOf(openHttpProvider({ source: { manifestUrl: `${server.url}manifest.json`, manifestSha256: '0'.repeat(64) }, ...fast }))).toBe(DATA_CHECKSUM_MISMATCH);
  });

  it('404 (missing shard or manifest) → DATA_HTTP_STATUS without retrying', async () => {
    expect(await codeOf(openHttpProvider({ source: { manifestUrl: `${server.url}nope.json` }, ...fast }))).toBe(DATA_HTTP_STATUS);
    const urls = [`${server.url}shard-00000.bin`, `${server.url}missing.bin`, `${server.url}shard-00002.bin`];
    expect(await codeOf(openHttpProvider({ source: { urls, manifest }, ...fast }))).toBe(DATA_HTTP_STATUS);
  });

  it('a shard of the wrong size → DATA_FILE_TRUNCATED / DATA_MANIFEST_MISMATCH; wrong bytes → DATA_CHECKSUM_MISMATCH (full)', async () => {
    const other = makeTempDir('http-bad');
    writeDataset({ dir: other.dir, vocabSize, seqLen, shards });
    const local = await startStaticHttpServer({ root: other.dir });
    try {
      const path = join(other.dir, 'shard-00001.bin');
      const original = readFileSync(path);
      writeFileSync(path, original.subarray(0, 100));
      expect(await codeOf(openHttpProvider({ source: { manifestUrl: `${local.url}manifest.json` }, ...fast }))).toBe(DATA_FILE_TRUNCATED);
      writeFileSync(path, Buffer.concat([original, Buffer.alloc(2)]));
      expect(await codeOf(openHttpProvider({ source: { manifestUrl: `${local.url}manifest.json` }, ...fast }))).toBe(DATA_MANIFEST_MISMATCH);
      const flipped = Buffer.from(original);
      flipped[11] = flipped[11]! ^ 4;
      writeFileSync(path, flipped);
      expect(await codeOf(openHttpProvider({ source: { manifestUrl: `${local.url}manifest.json` }, verify: 'full', ...fast }))).toBe(DATA_CHECKSUM_MISMATCH);
      // Size-only verification opens, and the file changing size later is caught on the read.
      writeFileSync(path, original);
      const provider = await openHttpProvider({ source: { manifestUrl: `${local.url}manifest.json` }, ...fast });
      writeFileSync(path, Buffer.concat([original, Buffer.alloc(2)]));
      expect(await codeOf(provider.getSequences([20, 21, 22, 23, 24, 25]))).toBe(DATA_MANIFEST_MISMATCH);
      // A token ≥ vocabSize is caught on the read.
      const bad = Buffer.from(original);
      bad.writeUInt16LE(vocabSize + 1, 0);
      writeFileSync(path, bad);
      const shardOneFirstSequence = Math.ceil(400 / seqLen);
      expect(await codeOf(provider.getSequences([shardOneFirstSequence - 1]))).toBe(DATA_TOKEN_OUT_OF_RANGE);
      await provider.close();
    } finally {
      await local.close();
      other.remove();
    }
  });

  it('retries 5xx with backoff and succeeds; gives up with DATA_HTTP_STATUS when it persists', async () => {
    let failuresLeft = 2;
    let requests = 0;
    const flaky = await customServer((request, response) => {
      requests++;
      if (request.url?.endsWith('.bin') && failuresLeft > 0) {
        failuresLeft--;
        response.writeHead(503).end();
        return;
      }
      proxyToStatic(request, response);
    });
    const proxyToStatic = (request: IncomingMessage, response: ServerResponse): void => {
      const path = join(temp.dir, (request.url ?? '/').slice(1));
      let body: Buffer;
      try {
        body = readFileSync(path);
      } catch {
        response.writeHead(404).end();
        return;
      }
      // Like many servers, this one ignores multi-range requests and sends the whole file (the provider falls back).
      const range = parseRangeHeader(request.headers.range ?? 'bytes=0-', body.length) ?? { start: 0, end: body.length - 1 };
      if (request.method === 'HEAD') {
        response.writeHead(200, { 'content-length': body.length }).end();
        return;
      }
      const partial = request.headers.range !== undefined && !request.headers.range.includes(',');
      response.writeHead(partial ? 206 : 200, partial ? { 'content-range': `bytes ${range.start}-${range.end}/${body.length}` } : {});
      response.end(body.subarray(range.start, range.end + 1));
    };
    try {
      const provider = await openHttpProvider({ source: { manifestUrl: `${flaky.url}manifest.json` }, ...fast });
      expect((await provider.getSequences([0, 5])).tokens.length).toBe(2 * (seqLen + 1));
      expect(failuresLeft).toBe(0);
      failuresLeft = 1000;
      const before = requests;
      expect(await codeOf(provider.getSequences([1]))).toBe(DATA_HTTP_STATUS);
      expect(requests - before).toBe(fast.retries + 1);
      await provider.close();
    } finally {
      await flaky.close();
    }
  });

  it('scattered sequences come in one multi-range request, equal to the single-range path and the in-memory reference', async () => {
    let requests = 0;
    const count = (): void => void requests++;
    server.server.on('request', count);
    try {
      const reference = createInMemoryProvider({ shards, vocabSize, seqLen, shuffleSeed: 3 });
      const multi = await openHttpProvider({ source: { manifestUrl: `${server.url}manifest.json` }, shuffleSeed: 3, ...fast });
      // Singles: a group of one range per read is the plain path (maxReadBytes below two sequences).
      const singles = await openHttpProvider({ source: { manifestUrl: `${server.url}manifest.json` }, shuffleSeed: 3, maxReadBytes: 1, ...fast });
      const ids = [0, 7, 3, 3, 40, 12, 25, 1, 44, 8, 30, 0, 19];
      const expected = (await reference.getSequences(ids)).tokens;
      requests = 0;
      expect((await multi.getSequences(ids)).tokens).toEqual(expected);
      // Sequences straddle the three files: at most one request per file.
      expect(requests).toBeLessThanOrEqual(3);
      requests = 0;
      expect((await singles.getSequences(ids)).tokens).toEqual(expected);
      expect(requests).toBeGreaterThan(10);
      await Promise.all([multi.close(), singles.close(), reference.close()]);
    } finally {
      server.server.off('request', count);
    }
  });

  it('the static server answers many ranges as multipart/byteranges, refuses more than 1024, and answers HEAD without a body', async () => {
    const url = `${server.url}shard-00000.bin`;
    const bytes = readFileSync(join(temp.dir, 'shard-00000.bin'));
    const get = (range: string, method = 'GET'): Promise<{ status: number; type: string; body: Buffer }> =>
      new Promise((resolve, reject) => {
        const request = httpRequest(url, { method, headers: { range } }, (response) => {
          const chunks: Buffer[] = [];
          response.on('data', (chunk: Buffer) => chunks.push(chunk));
          response.on('end', () => resolve({ status: response.statusCode ?? 0, type: String(response.headers['content-type']), body: Buffer.concat(chunks) }));
        });
        request.on('error', reject);
        request.end();
      });
    const many = await get('bytes=0-3,10-19,700-799');
    expect(many.status).toBe(206);
    expect(many.type).toMatch(/^multipart\/byteranges; boundary=/);
    const targets = [0, 10, 700].map((start, i) => ({ start, target: new Uint8Array([4, 10, 100][i]!) }));
    const parser = new MultipartByterangesParser(byterangesBoundary(many.type)!, targets, url, bytes.length);
    parser.push(many.body);
    parser.finish();
    for (const { start, target } of targets) expect(Buffer.from(target)).toEqual(bytes.subarray(start, start + target.length));
    // Parts out of file order and repeated (the server reads them merged): each part in request order, byte-exact.
    const repeated = await get('bytes=700-799,0-3,700-799,2-9');
    const body = repeated.body.toString('latin1');
    const boundary = byterangesBoundary(repeated.type)!;
    const partBodies = body.split(`--${boundary}`).slice(1, -1).map((part) => part.slice(part.indexOf('\r\n\r\n') + 4, -2));
    expect(partBodies).toEqual([[700, 800], [0, 4], [700, 800], [2, 10]].map(([a, b]) => bytes.subarray(a, b).toString('latin1')));
    expect((await get(`bytes=${Array.from({ length: 1025 }, (_, i) => `${i}-${i}`).join(',')}`)).status).toBe(416);
    const head = await get('bytes=0-3,10-19', 'HEAD');
    expect([head.status, head.body.length]).toEqual([206, 0]);
  });

  it('the static server streams parts that span its 1 MiB slices, many small, near and overlapping parts and whole files byte-exactly (every io mode)', async () => {
    const big = Buffer.from(randomTokens(1_300_000, 65_536, 'big').buffer);
    writeFileSync(join(temp.dir, 'big.bin'), big);
    const fetcher = new HttpFetcher(fast);
    const others = await Promise.all((['sync', 'async'] as const).map((io) => startStaticHttpServer({ root: temp.dir, io })));
    try {
      for (const { url } of [server, ...others]) {
        const spans = [
          [0, 1_500_000],
          [1_500_003, 10],
          ...Array.from({ length: 300 }, (_, i) => [1_600_000 + i * 3001, 3000]),
          [2_500_000, 100_000],
          // Out of file order, near each other, overlapping: served in request order.
          [2_000_000, 4098],
          [1_990_000, 4098],
          [1_992_000, 9000],
        ] as const;
        const targets = spans.map(([start, length]) => ({ start, target: new Uint8Array(length) }));
        expect(await fetcher.getRanges(`${url}big.bin`, targets, big.length)).toBe('done');
        for (const { start, target } of targets) expect(Buffer.compare(Buffer.from(target), big.subarray(start, start + target.length))).toBe(0);
        const whole = new Uint8Array(big.length - 5);
        await fetcher.getRange(`${url}big.bin`, 5, whole, big.length);
        expect(Buffer.compare(Buffer.from(whole), big.subarray(5))).toBe(0);
      }
    } finally {
      fetcher.close();
      await Promise.all(others.map((other) => other.close()));
    }
  });

  it('multi-range falls back to single ranges: a server that ignores it (200), a broken multipart body, a 5xx', async () => {
    let mode: 'ignore' | 'broken' | 'error' = 'ignore';
    let multiRequests = 0;
    const proxy = await customServer((request, response) => {
      const range = request.headers.range ?? '';
      const path = join(temp.dir, (request.url ?? '/').slice(1));
      if (request.method === 'GET' && range.includes(',')) {
        multiRequests++;
        if (mode === 'ignore') return void response.writeHead(200).end(readFileSync(path));
        if (mode === 'error') return void response.writeHead(503).end();
        response.writeHead(206, { 'content-type': 'multipart/byteranges; boundary=zz' });
        return void response.end('--zz\r\nContent-Range: bytes 0-1/5\r\n\r\nab');
      }
      const file = readFileSync(path);
      const single = parseRangeHeader(range || 'bytes=0-', file.length)!;
      if (request.method === 'HEAD') return void response.writeHead(200, { 'content-length': file.length }).end();
      response.writeHead(range === '' ? 200 : 206, range === '' ? {} : { 'content-range': `bytes ${single.start}-${single.end}/${file.length}` });
      response.end(file.subarray(single.start, single.end + 1));
    });
    try {
      const reference = createInMemoryProvider({ shards, vocabSize, seqLen, shuffleSeed: 4 });
      const ids = [2, 9, 30, 15, 41, 0, 6];
      const expected = (await reference.getSequences(ids)).tokens;
      for (const current of ['broken', 'error', 'ignore'] as const) {
        mode = current;
        multiRequests = 0;
        const provider = await openHttpProvider({ source: { manifestUrl: `${proxy.url}manifest.json` }, shuffleSeed: 4, ...fast });
        expect((await provider.getSequences(ids)).tokens).toEqual(expected);
        expect((await provider.getSequences(ids)).tokens).toEqual(expected);
        // A server that ignores multi-range is asked once per file and never again; failures are retried next call.
        if (current === 'ignore') expect(multiRequests).toBeLessThanOrEqual(3);
        else expect(multiRequests).toBeGreaterThan(1);
        await provider.close();
      }
      await reference.close();
    } finally {
      await proxy.close();
    }
  });

  it('short reads, ignored Range headers, oversized bodies and stalls → coded errors, bounded', async () => {
    const body = readFileSync(join(temp.dir, 'shard-00000.bin'));
    let mode: 'short' | 'ignore-range' | 'oversize' | 'stall' | 'reset' = 'short';
    const hostile = await customServer((request, response) => {
      if (request.method === 'HEAD') return void response.writeHead(200, { 'content-length': body.length }).end();
      const range = parseRangeHeader(request.headers.range ?? 'bytes=0-', body.length)!;
      const length = range.end - range.start + 1;
      if (mode === 'short') {
        response.writeHead(206, { 'content-range': `bytes ${range.start}-${range.end}/${body.length}`, 'content-length': length });
        response.write(body.subarray(range.start, range.start + Math.floor(length / 2)));
        setTimeout(() => response.destroy(), 5);
      } else if (mode === 'ignore-range') {
        response.writeHead(200, { 'content-length': body.length }).end(body);
      } else if (mode === 'oversize') {
        response.writeHead(206, { 'content-range': `bytes ${range.start}-${range.end}/${body.length}` });
        response.end(Buffer.alloc(length * 4));
      } else if (mode === 'reset') {
        request.socket.destroy();
      }
      // 'stall': never answer.
    });
    const source = { urls: [`${hostile.url}shard.bin`], format: { dtype: 'u16' as const, vocabSize, seqLen } };
    try {
      const provider = await openHttpProvider({ source, ...fast, timeoutMs: 200, retries: 1 });
      expect(await codeOf(provider.getSequences([0]))).toBe(DATA_HTTP_SHORT_READ);
      mode = 'ignore-range';
      expect(await codeOf(provider.getSequences([0]))).toBe(DATA_HTTP_STATUS);
      mode = 'oversize';
      expect(await codeOf(provider.getSequences([0]))).toBe(DATA_HTTP_SHORT_READ);
      mode = 'reset';
      expect(await codeOf(provider.getSequences([0]))).toBe(DATA_HTTP_FAILED);
      mode = 'stall';
      const started = Date.now();
      expect(await codeOf(provider.getSequences([0]))).toBe(DATA_TIMEOUT);
      expect(Date.now() - started).toBeLessThan(2000);
      const controller = new AbortController();
      setTimeout(() => controller.abort(), 50);
      expect(await codeOf(provider.getSequences([0], { signal: controller.signal }))).toBe(DATA_ABORTED);
      await provider.close();
    } finally {
      await hostile.close();
    }
  });

  it('a hostile manifest (huge or not JSON) → coded error without reading it all', async () => {
    let kind: 'huge' | 'garbage' = 'huge';
    const hostile = await customServer((_request, response) => {
      if (kind === 'garbage') return void response.writeHead(200).end('<html>');
      response.writeHead(200);
      const chunk = Buffer.alloc(1 << 20, 32);
      let sent = 0;
      const pump = (): void => {
        while (sent < 64 && response.write(chunk)) sent++;
        if (sent < 64) response.once('drain', pump);
        else response.end();
      };
      pump();
    });
    try {
      expect(await codeOf(openHttpProvider({ source: { manifestUrl: `${hostile.url}manifest.json` }, ...fast, retries: 0 }))).toBe(DATA_HTTP_SHORT_READ);
      kind = 'garbage';
      expect(await codeOf(openHttpProvider({ source: { manifestUrl: `${hostile.url}manifest.json` }, ...fast }))).toBe(DATA_MANIFEST_MALFORMED);
    } finally {
      await hostile.close();
    }
  });
});
