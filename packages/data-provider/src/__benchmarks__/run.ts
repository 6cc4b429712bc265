// Throughput of the providers at seq_len 2048 (u16) against raw sequential reads of the same files,
// in one run. Writes ../../BENCHMARKS.md. Run: npm run bench -w @psyche/data-provider
import { execSync, fork, spawnSync } from 'node:child_process';
import { closeSync, createReadStream, mkdtempSync, openSync, readFileSync, readSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { open as openFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { createRng } from '@psyche/core';
import {
  DEFAULT_MAX_GAP_BYTES,
  DEFAULT_QUEUE_DEPTH,
  DEFAULT_TCP_IDS_PER_REQUEST,
  DatasetWriter,
  connectTcpDataProvider,
  openHttpProvider,
  openLocalProvider,
  type DataProvider,
} from '../index.ts';

const SEQ_LEN = 2048;
const VOCAB = 50_257;
const DATASET_BYTES = Number(process.env['BENCH_MB'] ?? 256) * 1024 * 1024;
const SHARDS = 4;
const BATCH = 256;
const RUNS = Number(process.env['BENCH_RUNS'] ?? 5);
const SHUFFLED_SEQUENCES = 32_768;
const strideBytes = SEQ_LEN * 2;

/** CPU time (user + system) of another process so far, in µs, from /proc (Linux); undefined elsewhere. */
function processCpuMicros(pid: number | undefined): number | undefined {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    // utime and stime, fields 14 and 15 of stat(5), in clock ticks (100 per second on Linux).
    return (Number(fields[11]) + Number(fields[12])) * 10_000;
  } catch {
    return undefined;
  }
}

const ownCpuMicros = (): number => {
  const usage = process.cpuUsage();
  return usage.user + usage.system;
};

/**
 * A full collection before every timed section (the bench script runs node with --expose-gc), so
 * no measurement pays for the garbage of the one before it (fresh output arrays, stream chunks).
 */
const collectGarbage = (globalThis as { gc?: () => void }).gc ?? ((): void => {});

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

/**
 * Bytes per second of the raw TCP sender in the servers' process (every shard read with readSync
 * and written as is), received here and dropped: what the network path moves with no provider on it.
 */
async function rawTcpFile(port: number): Promise<number> {
  const started = performance.now();
  let bytes = 0;
  const socket = connect(port, '127.0.0.1');
  socket.on('data', (chunk: Buffer) => {
    bytes += chunk.length;
  });
  await new Promise<void>((resolve, reject) => {
    socket.once('end', resolve);
    socket.once('error', reject);
  });
  if (bytes !== DATASET_BYTES) throw new Error(`raw tcp sent ${bytes} of ${DATASET_BYTES} bytes`);
  return bytes / ((performance.now() - started) / 1000);
}

/**
 * Sequences per second of `count` preads of one sequence each (strideBytes + 2 bytes) at seeded
 * random sequence starts over the whole dataset, 16 in flight on the thread pool, in the order
 * drawn: what the disk gives a shuffled order with no provider on it.
 */
async function rawRandomReads(paths: string[], count: number): Promise<number> {
  const rng = createRng('bench-random-reads');
  const sequencesPerShard = Math.floor(DATASET_BYTES / SHARDS / strideBytes) - 1;
  const handles = await Promise.all(paths.map((path) => openFile(path, 'r')));
  const started = performance.now();
  let next = 0;
  const lane = async (): Promise<void> => {
    const buffer = Buffer.allocUnsafe(strideBytes + 2);
    while (next < count) {
      next++;
      const shard = rng.nextU32() % handles.length;
      const sequence = rng.nextU32() % sequencesPerShard;
      await handles[shard]!.read(buffer, 0, buffer.length, sequence * strideBytes);
    }
  };
  await Promise.all(Array.from({ length: DEFAULT_QUEUE_DEPTH }, lane));
  const seconds = (performance.now() - started) / 1000;
  await Promise.all(handles.map((handle) => handle.close()));
  return count / seconds;
}

/**
 * Sequences per second reading ids 0…count−1 in batches of BATCH with `depth` batches in flight
 * (a data loader prefetching the next batches while the current one trains).
 */
async function throughput(provider: DataProvider, count: number, depth: number, reuseArrays: boolean): Promise<number> {
  const started = performance.now();
  let next = 0;
  const lane = async (): Promise<void> => {
    // With reuseArrays, each lane fills one array of its own (GetSequencesOptions.into), as a loader with staging buffers would.
    const own = new Uint16Array(BATCH * (SEQ_LEN + 1));
    while (next < count) {
      const start = next;
      next += BATCH;
      const ids = Array.from({ length: Math.min(BATCH, count - start) }, (_, i) => start + i);
      await provider.getSequences(ids, reuseArrays && ids.length === BATCH ? { into: own } : {});
    }
  };
  await Promise.all(Array.from({ length: depth }, lane));
  return count / ((performance.now() - started) / 1000);
}

/**
 * Drops the files from the page cache (posix_fadvise DONTNEED; no privileges needed for clean
 * pages), so the next read comes from the disk. Node has no fadvise, hence python3.
 */
const EVICT_SCRIPT = 'import os, sys\nfor p in sys.argv[1:]:\n    fd = os.open(p, os.O_RDONLY)\n    os.fsync(fd)\n    os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)\n    os.close(fd)';
function evictFromPageCache(paths: string[]): void {
  const result = spawnSync('python3', ['-c', EVICT_SCRIPT, ...paths], { stdio: ['ignore', 'ignore', 'pipe'] });
  if (result.status !== 0) throw new Error(`evicting from the page cache failed: ${result.error?.message ?? result.stderr.toString()}`);
}

/** Why the cold section cannot run here, or undefined when it can. */
function coldSkipReason(): string | undefined {
  const probe = spawnSync('python3', ['-c', 'import os; os.posix_fadvise; os.POSIX_FADV_DONTNEED'], { stdio: 'ignore' });
  if (probe.error !== undefined) return `python3 is not available (${probe.error.message})`;
  if (probe.status !== 0) return 'python3 has no os.posix_fadvise on this system';
  return process.env['BENCH_SKIP_COLD'] === '1' ? 'BENCH_SKIP_COLD=1' : undefined;
}

const COLD_PATTERNS = [
  { label: 'contiguous ids, 4 batches in flight', shuffled: false, depth: 4, reuseArrays: false },
  { label: 'shuffled ids, 4 batches in flight', shuffled: true, depth: 4, reuseArrays: false },
] as const;

interface Row {
  name: string;
  pattern: string;
  seqPerSec: number[];
  vsStream: number[];
  vsSync: number[];
  /** Against the reference of this row's path (raw TCP of the files, raw random reads, or the lower of both), paired. */
  vsReference: number[];
  clientCpu: number[];
  serverCpu: number[];
}

const PATTERNS = [
  { label: 'contiguous ids, 1 batch in flight', shuffled: false, depth: 1, reuseArrays: false },
  { label: 'contiguous ids, 4 batches in flight', shuffled: false, depth: 4, reuseArrays: false },
  { label: 'contiguous ids, 4 batches in flight, into reused arrays', shuffled: false, depth: 4, reuseArrays: true },
  { label: 'shuffled ids, 4 batches in flight', shuffled: true, depth: 4, reuseArrays: false },
] as const;

/** One table's measurements: rows and the raw reads paired with them. */
interface Section {
  rows: Row[];
  rawSync: number[];
  rawStream: number[];
  rawStreamCpu: number[];
  /** Path references, seq/s: raw TCP of the files from the servers' process; raw random reads of one sequence each. */
  rawTcp: number[];
  rawRandom: number[];
  loads: number[];
}

const newSection = (): Section => ({ rows: [], rawSync: [], rawStream: [], rawStreamCpu: [], rawTcp: [], rawRandom: [], loads: [] });

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'psyche-data-bench-'));
  // CPU µs per MiB delivered: a measure of the work each side does that the machine's load disturbs far less than throughput.
  const warm = newSection();
  const cold = newSection();
  const coldSkipped = coldSkipReason();
  const loadAtStart = execSync('uptime').toString().trim();
  try {
    const paths = generate(dir);
    const sequenceCount = Math.floor((DATASET_BYTES / 2 - 1) / SEQ_LEN);
    rawReadSync(paths); // warm the page cache, as every provider below reads from it
    const servers = fork(new URL('./bench-servers.ts', import.meta.url).pathname, [dir], { execArgv: process.execArgv, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    const ports = await new Promise<{ httpUrl: string; tcpPort: number; tcpShuffledPort: number; rawTcpPort: number }>((resolve, reject) => {
      servers.once('message', (message) => resolve(message as { httpUrl: string; tcpPort: number; tcpShuffledPort: number; rawTcpPort: number }));
      servers.once('exit', (code) => reject(new Error(`bench servers exited with ${code}`)));
    });
    const verifyStarted = performance.now();
    const verified = await openLocalProvider({ dir, verify: 'full' });
    const verifySeconds = (performance.now() - verifyStarted) / 1000;
    await verified.close();
    const open = {
      // verify 'full' (the default) checked every token at open (timed above), so reads skip the check.
      'local (readSync)': (seed?: number) => openLocalProvider({ dir, io: 'sync', ...(seed === undefined ? {} : { shuffleSeed: seed }) }),
      'local (thread pool)': (seed?: number) => openLocalProvider({ dir, io: 'async', ...(seed === undefined ? {} : { shuffleSeed: seed }) }),
      'local (adaptive, the default)': (seed?: number) => openLocalProvider({ dir, ...(seed === undefined ? {} : { shuffleSeed: seed }) }),
      'HTTP (loopback)': (seed?: number) => openHttpProvider({ source: { manifestUrl: `${ports.httpUrl}manifest.json` }, ...(seed === undefined ? {} : { shuffleSeed: seed }) }),
      'TCP (loopback)': (seed?: number) => connectTcpDataProvider({ host: '127.0.0.1', port: seed === undefined ? ports.tcpPort : ports.tcpShuffledPort, clientId: 'bench', defaultStep: 0, ...(process.env['BENCH_TCP_IDS'] === undefined ? {} : { idsPerRequest: Number(process.env['BENCH_TCP_IDS']) }) }),
    };
    const all = [...paths, ...readdirSync(dir).filter((file) => file.endsWith('.json')).map((file) => join(dir, file))];
    // Cold: every shard leaves the page cache before each timed read (raw or provider), so each one reads from the disk.
    const beforeTimed = (section: Section): void => {
      if (section === cold) evictFromPageCache(all);
      collectGarbage();
    };
    const measure = async (section: Section, run: number, name: string, factory: (seed?: number) => Promise<DataProvider>, pattern: (typeof PATTERNS)[number]): Promise<void> => {
      const { label, shuffled, depth, reuseArrays } = pattern;
      const count = shuffled ? SHUFFLED_SEQUENCES : sequenceCount;
      section.loads.push(loadavg()[0]!);
      beforeTimed(section);
      const rawSyncNow = rawReadSync(paths) / strideBytes;
      beforeTimed(section);
      const streamCpuStart = ownCpuMicros();
      const rawStreamNow = (await rawReadStream(paths)) / strideBytes;
      section.rawStreamCpu.push((ownCpuMicros() - streamCpuStart) / (DATASET_BYTES / 2 ** 20));
      section.rawSync.push(rawSyncNow);
      section.rawStream.push(rawStreamNow);
      // The references of this row's path, measured just before it like the raw reads.
      const network = !name.startsWith('local');
      const references: number[] = [];
      if (network) {
        beforeTimed(section);
        const rawTcpNow = (await rawTcpFile(ports.rawTcpPort)) / strideBytes;
        section.rawTcp.push(rawTcpNow);
        references.push(rawTcpNow);
      }
      if (shuffled) {
        beforeTimed(section);
        const rawRandomNow = await rawRandomReads(paths, count);
        section.rawRandom.push(rawRandomNow);
        references.push(rawRandomNow);
      }
      // Opened before the eviction: opening a local provider hashes every shard (verify 'full').
      const provider = await factory(shuffled ? 1 : undefined);
      // One untimed id first, as a loader's steady state: the epoch's shuffle is computed, files opened, code compiled.
      await provider.getSequences([count - 1]);
      beforeTimed(section);
      const clientCpuStart = ownCpuMicros();
      const serverCpuStart = processCpuMicros(servers.pid);
      const value = await throughput(provider, count, depth, reuseArrays);
      const mebibytes = (count * strideBytes) / 2 ** 20;
      const clientCpu = (ownCpuMicros() - clientCpuStart) / mebibytes;
      const serverCpuEnd = processCpuMicros(servers.pid);
      const serverCpu = name.startsWith('local') || serverCpuStart === undefined || serverCpuEnd === undefined ? Number.NaN : (serverCpuEnd - serverCpuStart) / mebibytes;
      await provider.close();
      let row = section.rows.find((r) => r.name === name && r.pattern === label);
      if (row === undefined) section.rows.push((row = { name, pattern: label, seqPerSec: [], vsStream: [], vsSync: [], vsReference: [], clientCpu: [], serverCpu: [] }));
      if (references.length > 0) row.vsReference.push(value / Math.min(...references));
      row.clientCpu.push(clientCpu);
      row.serverCpu.push(serverCpu);
      row.seqPerSec.push(value);
      row.vsStream.push(value / rawStreamNow);
      row.vsSync.push(value / rawSyncNow);
      process.stderr.write(
        `${section === cold ? 'cold' : 'warm'} run ${run + 1}/${RUNS} ${name} ${label}: ${value.toFixed(0)} seq/s (${((value / rawSyncNow) * 100).toFixed(0)}% of readSync, ${((value / rawStreamNow) * 100).toFixed(0)}% of createReadStream)\n`,
      );
    };
    // Each provider measurement is paired with raw reads taken right before it, and the ratio is
    // computed per pair: other agents load this machine, and pairing cancels the slow drift of that load.
    for (let run = 0; run < RUNS; run++) {
      if (process.env['BENCH_SKIP_WARM'] !== '1') {
        for (const [name, factory] of Object.entries(open)) for (const pattern of PATTERNS) await measure(warm, run, name, factory, pattern);
      }
      if (coldSkipped === undefined) {
        for (const [name, factory] of Object.entries(open)) for (const pattern of COLD_PATTERNS) await measure(cold, run, name, factory, pattern);
      }
    }
    servers.kill();

    const load = execSync('uptime').toString().trim();
    const loads = [...warm.loads, ...cold.loads];
    const mb = (seqPerSec: number): string => ((seqPerSec * strideBytes) / 1e6).toFixed(0);
    const bar = (name: string): number => (name.startsWith('local') ? 0.8 : 0.5);
    const verdict = (ratio: number, name: string): string => (ratio >= bar(name) ? 'yes' : 'no');
    const range = (values: number[]): string => `${Math.min(...values).toFixed(0)}–${Math.max(...values).toFixed(0)}`;
    const sectionTables = (section: Section, title: string): string[] => {
      if (section.rows.length === 0) return [];
      const rawSyncMedian = median(section.rawSync);
      const rawStreamMedian = median(section.rawStream);
      return [
        `### ${title}: raw sequential read (the baseline)`,
        '',
        '| method | seq/s (median) | MB/s | min–max seq/s |',
        '| --- | ---: | ---: | --- |',
        `| readSync, 1 MiB chunks | ${rawSyncMedian.toFixed(0)} | ${mb(rawSyncMedian)} | ${range(section.rawSync)} |`,
        `| fs.createReadStream (64 KiB chunks, node's default) | ${rawStreamMedian.toFixed(0)} | ${mb(rawStreamMedian)} | ${range(section.rawStream)} |`,
        '',
        `### ${title}: path references (what the path moves with no provider on it)`,
        '',
        'Measured just before each row that uses them, like the raw reads. "raw TCP of the files": the servers\' process reads every shard with readSync (1 MiB chunks from a pool of 8) and writes it to a socket as is; this process receives and drops it (no framing, no checks, no copy into arrays). "raw random reads": one 4,098-byte pread per sequence at seeded random sequence starts over the whole dataset, 16 in flight on the thread pool, as many as the shuffled rows read. They show what the network and a shuffled order cost before any provider work; they are references, not hard ceilings (a provider reading larger ranges, or merging neighbours, can beat them).',
        '',
        '| reference | seq/s (median) | MB/s | of readSync 1 MiB (paired medians) | min–max seq/s |',
        '| --- | ---: | ---: | ---: | --- |',
        ...(section.rawTcp.length === 0 ? [] : [`| raw TCP of the files, server process → this one | ${median(section.rawTcp).toFixed(0)} | ${mb(median(section.rawTcp))} | ${((median(section.rawTcp) / rawSyncMedian) * 100).toFixed(0)}% | ${range(section.rawTcp)} |`]),
        ...(section.rawRandom.length === 0 ? [] : [`| raw random reads, one sequence each, 16 in flight | ${median(section.rawRandom).toFixed(0)} | ${mb(median(section.rawRandom))} | ${((median(section.rawRandom) / rawSyncMedian) * 100).toFixed(0)}% | ${range(section.rawRandom)} |`]),
        '',
        `### ${title}: providers`,
        '',
        `1-minute load average at these ${section.loads.length} measurements: median ${median(section.loads).toFixed(2)}, range ${Math.min(...section.loads).toFixed(2)}–${Math.max(...section.loads).toFixed(2)}.`,
        '',
        '| provider | ids | seq/s (median) | MB/s | vs readSync 1 MiB | vs createReadStream | vs its path reference ¹ | bar | meets bar vs readSync | meets bar vs createReadStream |',
        '| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- |',
        ...section.rows.map((row) => {
          const value = median(row.seqPerSec);
          const vsStream = median(row.vsStream);
          const vsSync = median(row.vsSync);
          const vsReference = row.vsReference.length === 0 ? '–' : `${(median(row.vsReference) * 100).toFixed(0)}%`;
          return `| ${row.name} | ${row.pattern} | ${value.toFixed(0)} | ${mb(value)} | ${(vsSync * 100).toFixed(0)}% | ${(vsStream * 100).toFixed(0)}% | ${vsReference} | ${bar(row.name) * 100}% | ${verdict(vsSync, row.name)} | ${verdict(vsStream, row.name)} |`;
        }),
        '',
        '¹ Paired median against the path references measured just before the row: raw TCP of the files for HTTP and TCP, raw random reads for shuffled ids, the lower of the two for HTTP and TCP with shuffled ids; – for local contiguous ids, whose reference is readSync itself.',
        '',
        `### ${title}: CPU per MiB delivered`,
        '',
        `CPU time (user + system, \`process.cpuUsage\` here and /proc for the server process) per MiB of sequences delivered, median of the ${RUNS} runs: the work each side does, which the other agents' load disturbs much less than throughput (contention still inflates it). fs.createReadStream spent ${median(section.rawStreamCpu).toFixed(0)} µs/MiB (range ${range(section.rawStreamCpu)}) in the same runs. Client and server run in two processes, in parallel when two cores are free.`,
        '',
        '| provider | ids | client µs/MiB | server µs/MiB |',
        '| --- | --- | ---: | ---: |',
        ...section.rows.map((row) => {
          const server = median(row.serverCpu);
          return `| ${row.name} | ${row.pattern} | ${median(row.clientCpu).toFixed(0)} | ${Number.isNaN(server) ? '–' : server.toFixed(0)} |`;
        }),
        '',
      ];
    };
    const lines = [
      '# @psyche/data-provider benchmarks',
      '',
      `Generated by \`npm run bench -w @psyche/data-provider\` (src/__benchmarks__/run.ts) on ${new Date().toISOString()}.`,
      '',
      `- Machine: ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${(totalmem() / 1024 ** 3).toFixed(0)} GiB, node ${process.version}; shared with other agents. GLIBC_TUNABLES=${process.env['GLIBC_TUNABLES'] ?? '(unset)'} (the bench script sets glibc.malloc.hugetlb=1: this VM's first touch of a fresh 4 KiB page costs about 10 µs, so fresh output arrays would measure page faults).`,
      `- Load (\`uptime\`) at the start of the run: ${loadAtStart}; at the end: ${load}. 1-minute load average at the ${loads.length} measurements: median ${median(loads).toFixed(2)}, range ${Math.min(...loads).toFixed(2)}–${Math.max(...loads).toFixed(2)} (2 cores: above 2, other agents' work competes with the benchmark).`,
      `- Dataset: ${SHARDS} u16 shards, ${(DATASET_BYTES / 1024 ** 2).toFixed(0)} MiB in all (${sequenceCount} sequences of seq_len ${SEQ_LEN}, ${SEQ_LEN + 1} tokens read each), generated in a temp dir and deleted afterwards.`,
      `- WARM sections: every read (raw and provider) comes from the page cache (warmed first), so the "raw sequential read" is a memcpy out of the cache. COLD sections: ${coldSkipped === undefined ? 'before every timed read (each raw read and each provider measurement) every shard and manifest is evicted from the page cache (fsync, then posix_fadvise DONTNEED through python3: node has no fadvise), so every byte comes from the disk (a virtio block device here); the servers in the child process read cold too (same files).' : `skipped: ${coldSkipped}.`}`,
      `- Requests: batches of ${BATCH} ids, with 1 or 4 batches in flight (cold: 4; a loader prefetching while the model trains). "contiguous ids": every id 0…N−1 with the file order (a trainer's contiguous assignment over an unshuffled dataset: one read of ${BATCH} sequences per batch). "into reused arrays": each loader lane passes the same array every call (GetSequencesOptions.into) instead of getting a fresh one. "shuffled ids": ids 0…${SHUFFLED_SEQUENCES - 1} with a seeded shuffle (one random ${strideBytes + 2}-byte range per sequence: locally one pread each, over HTTP one multi-range request per batch, over TCP the server's local reads).`,
      `- Local: verify 'full' at open (the default; timed below), so reads skip the per-token check. A call's ranges are sorted by offset, ranges within ${DEFAULT_MAX_GAP_BYTES / 1024} KiB merged into one read (readRangesCoalesced), then read with io 'sync' (readSync, queue depth 1), 'async' (thread pool, ${DEFAULT_QUEUE_DEPTH} in flight) or 'adaptive' (the default: readSync until two reads are slower than the page cache, then the rest of the call as 'async'). HTTP: the package's static Range server (scattered sequences of a batch come in one multi-range request; the server reads each 1 MiB slice of parts with readRangesCoalesced, 'adaptive'); TCP: the data server over a local provider ('adaptive'; a batch is pipelined as requests of ${process.env['BENCH_TCP_IDS'] ?? DEFAULT_TCP_IDS_PER_REQUEST} ids, 8 in flight, the server reading up to 4 of them at once); both servers in a child process (as on separate machines), clients in this one, on 127.0.0.1; HTTP and TCP clients check every token they receive (WebAssembly SIMD max, tested against the plain loop).`,
      `- Each provider is opened and asked for one id (untimed: the epoch's shuffle computed, files opened) before its timed section. ${RUNS} runs. ${(globalThis as { gc?: unknown }).gc === undefined ? 'No garbage collection is forced (run node with --expose-gc for it).' : 'A full garbage collection runs before every timed section, so none pays for the garbage of the one before.'} Every provider measurement is paired with both raw reads taken just before it; the ratios are medians of the per-pair ratios (this cancels the drift of the other agents' load). Sequences/s of a raw read = bytes/s ÷ ${strideBytes} (one sequence's stride).`,
      `- Full open-time verification (sha256 + token range of all ${(DATASET_BYTES / 1024 ** 2).toFixed(0)} MiB): ${verifySeconds.toFixed(2)} s.`,
      '',
      '## WARM (page cache)',
      '',
      ...sectionTables(warm, 'WARM'),
      '## COLD (every read from the disk)',
      '',
      ...(coldSkipped === undefined ? sectionTables(cold, 'COLD') : [`Skipped: ${coldSkipped}.`, '']),
    ];
    // BENCH_OUT: write elsewhere (a trial run that should not replace the committed figures).
    const out = process.env['BENCH_OUT'] === undefined ? new URL('../../BENCHMARKS.md', import.meta.url) : new URL(`file://${process.env['BENCH_OUT']}`);
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
