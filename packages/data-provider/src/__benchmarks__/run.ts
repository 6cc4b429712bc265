// Throughput of the providers at seq_len 2048 (u16) against raw sequential reads of the same files,
// in one run. Writes ../../BENCHMARKS.md. Run: npm run bench -w @psyche/data-provider
import { execSync } from 'node:child_process';
import { closeSync, createReadStream, mkdtempSync, openSync, readSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { createRng } from '@psyche/core';
import {
  DatasetWriter,
  connectTcpDataProvider,
  openHttpProvider,
  openLocalProvider,
  startStaticHttpServer,
  startTcpDataServer,
  type DataProvider,
} from '../index.ts';

const SEQ_LEN = 2048;
const VOCAB = 50_257;
const DATASET_BYTES = Number(process.env['BENCH_MB'] ?? 256) * 1024 * 1024;
const SHARDS = 4;
const BATCH = 256;
const RUNS = Number(process.env['BENCH_RUNS'] ?? 5);
const SHUFFLED_SEQUENCES = 16_384;
const strideBytes = SEQ_LEN * 2;

const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

function generate(dir: string): string[] {
  const writer = new DatasetWriter({ dir, vocabSize: VOCAB, seqLen: SEQ_LEN, maxShardBytes: DATASET_BYTES / SHARDS, prefix: 'bench' });
  const rng = createRng('bench');
  const block = new Uint16Array(1 << 20);
  for (let written = 0; written < DATASET_BYTES / 2; written += block.length) {
    for (let i = 0; i < block.length; i++) block[i] = rng.nextU32() % VOCAB;
    writer.append(block);
  }
  return writer.finish().files.map((file) => join(dir, file.path));
}

function rawReadSync(paths: string[]): number {
  const buffer = Buffer.allocUnsafe(1 << 20);
  const started = performance.now();
  let bytes = 0;
  for (const path of paths) {
    const fd = openSync(path, 'r');
    for (let n; (n = readSync(fd, buffer, 0, buffer.length, null)) > 0; ) bytes += n;
    closeSync(fd);
  }
  return bytes / ((performance.now() - started) / 1000);
}

async function rawReadStream(paths: string[]): Promise<number> {
  const started = performance.now();
  let bytes = 0;
  for (const path of paths) for await (const chunk of createReadStream(path)) bytes += (chunk as Buffer).length;
  return bytes / ((performance.now() - started) / 1000);
}

/** Sequences per second reading `count` ids from `first` in batches of BATCH, one batch at a time. */
async function throughput(provider: DataProvider, count: number, step?: number): Promise<number> {
  const started = performance.now();
  for (let start = 0; start < count; start += BATCH) {
    const ids = Array.from({ length: Math.min(BATCH, count - start) }, (_, i) => start + i);
    await provider.getSequences(ids, step === undefined ? {} : { step });
  }
  return count / ((performance.now() - started) / 1000);
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'psyche-data-bench-'));
  const rows: { name: string; pattern: string; seqPerSec: number[] }[] = [];
  let rawSync: number[] = [];
  let rawStream: number[] = [];
  try {
    const paths = generate(dir);
    const sequenceCount = Math.floor((DATASET_BYTES / 2 - 1) / SEQ_LEN);
    rawReadSync(paths); // warm the page cache, as every provider below reads from it
    const http = await startStaticHttpServer({ root: dir });
    const tcpBackend = await openLocalProvider({ dir, verify: 'size' });
    const tcp = await startTcpDataServer({ provider: tcpBackend, authorize: () => 'ok' });
    const tcpShuffledBackend = await openLocalProvider({ dir, verify: 'size', shuffleSeed: 1 });
    const tcpShuffled = await startTcpDataServer({ provider: tcpShuffledBackend, authorize: () => 'ok' });
    const verifyStarted = performance.now();
    const verified = await openLocalProvider({ dir, verify: 'full' });
    const verifySeconds = (performance.now() - verifyStarted) / 1000;
    await verified.close();
    const open = {
      'local (readSync)': (seed?: number) => openLocalProvider({ dir, verify: 'size', ...(seed === undefined ? {} : { shuffleSeed: seed }) }),
      'local (thread pool)': (seed?: number) => openLocalProvider({ dir, verify: 'size', io: 'async', ...(seed === undefined ? {} : { shuffleSeed: seed }) }),
      'HTTP (loopback)': (seed?: number) => openHttpProvider({ source: { manifestUrl: `${http.url}manifest.json` }, ...(seed === undefined ? {} : { shuffleSeed: seed }) }),
      'TCP (loopback)': (seed?: number) => connectTcpDataProvider({ host: '127.0.0.1', port: seed === undefined ? tcp.port : tcpShuffled.port, clientId: 'bench', defaultStep: 0 }),
    };
    for (let run = 0; run < RUNS; run++) {
      rawSync.push(rawReadSync(paths) / strideBytes);
      rawStream.push((await rawReadStream(paths)) / strideBytes);
      for (const [name, factory] of Object.entries(open)) {
        for (const pattern of ['contiguous ids', 'shuffled ids'] as const) {
          const provider = await factory(pattern === 'shuffled ids' ? 1 : undefined);
          const count = pattern === 'shuffled ids' ? SHUFFLED_SEQUENCES : sequenceCount;
          const value = await throughput(provider, count);
          await provider.close();
          let row = rows.find((r) => r.name === name && r.pattern === pattern);
          if (row === undefined) rows.push((row = { name, pattern, seqPerSec: [] }));
          row.seqPerSec.push(value);
          process.stderr.write(`run ${run + 1}/${RUNS} ${name} ${pattern}: ${value.toFixed(0)} seq/s\n`);
        }
      }
    }
    await http.close();
    await tcp.close();
    await tcpShuffled.close();
    await tcpBackend.close();
    await tcpShuffledBackend.close();

    const load = execSync('uptime').toString().trim();
    const rawSyncMedian = median(rawSync);
    const rawStreamMedian = median(rawStream);
    const mb = (seqPerSec: number): string => ((seqPerSec * strideBytes) / 1e6).toFixed(0);
    const bar = (name: string): number => (name.startsWith('local') ? 0.8 : 0.5);
    const lines = [
      '# @psyche/data-provider benchmarks',
      '',
      `Generated by \`npm run bench -w @psyche/data-provider\` (src/__benchmarks__/run.ts) on ${new Date().toISOString()}.`,
      '',
      `- Machine: ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${(totalmem() / 1024 ** 3).toFixed(0)} GiB, node ${process.version}; shared with other agents.`,
      `- Load at the end of the run (\`uptime\`): ${load}`,
      `- Dataset: ${SHARDS} u16 shards, ${(DATASET_BYTES / 1024 ** 2).toFixed(0)} MiB in all (${sequenceCount} sequences of seq_len ${SEQ_LEN}, ${SEQ_LEN + 1} tokens read each), generated in a temp dir and deleted afterwards; read from the page cache (warmed first).`,
      `- Requests: batches of ${BATCH} ids, one batch at a time. "contiguous ids": ids 0…N−1 in file order (a trainer's contiguous assignment, unshuffled dataset: one read per batch). "shuffled ids": ${SHUFFLED_SEQUENCES} ids with a seeded shuffle (one random ${strideBytes + 2}-byte read per sequence).`,
      `- HTTP: the package's static Range server and the HTTP provider in the same process; TCP: the data server (over a local provider) and client in the same process; both on 127.0.0.1.`,
      `- Median of ${RUNS} runs. Sequences/s of a raw read = bytes/s ÷ ${strideBytes} (one sequence's stride).`,
      `- Full open-time verification (sha256 + token range of all ${(DATASET_BYTES / 1024 ** 2).toFixed(0)} MiB): ${verifySeconds.toFixed(2)} s.`,
      '',
      '## Raw sequential read (the baseline)',
      '',
      '| method | seq/s | MB/s |',
      '| --- | ---: | ---: |',
      `| readSync, 1 MiB chunks | ${rawSyncMedian.toFixed(0)} | ${mb(rawSyncMedian)} |`,
      `| fs.createReadStream (64 KiB chunks, node's default) | ${rawStreamMedian.toFixed(0)} | ${mb(rawStreamMedian)} |`,
      '',
      '## Providers',
      '',
      '| provider | ids | seq/s (median) | MB/s | vs readSync 1 MiB | vs createReadStream | bar | meets bar (vs createReadStream) |',
      '| --- | --- | ---: | ---: | ---: | ---: | ---: | --- |',
      ...rows.map((row) => {
        const value = median(row.seqPerSec);
        const vsStream = value / rawStreamMedian;
        return `| ${row.name} | ${row.pattern} | ${value.toFixed(0)} | ${mb(value)} | ${((value / rawSyncMedian) * 100).toFixed(0)}% | ${(vsStream * 100).toFixed(0)}% | ${bar(row.name) * 100}% | ${vsStream >= bar(row.name) ? 'yes' : 'no'} |`;
      }),
      '',
    ];
    const out = new URL('../../BENCHMARKS.md', import.meta.url);
    const existing = (() => {
      try {
        return execSync(`cat ${JSON.stringify(out.pathname)}`).toString();
      } catch {
        return '';
      }
    })();
    const notesMarker = '## Notes';
    const notes = existing.includes(notesMarker) ? existing.slice(existing.indexOf(notesMarker)) : '';
    writeFileSync(out, lines.join('\n') + (notes === '' ? '' : `\n${notes}`));
    process.stdout.write(lines.join('\n'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
