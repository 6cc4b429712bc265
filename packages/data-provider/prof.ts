import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { DatasetWriter, openLocalProvider, startTcpDataServer, connectTcpDataProvider, startStaticHttpServer, openHttpProvider } from '/work/main/packages/data-provider/src/index.ts';
const dir = mkdtempSync(join(tmpdir(), 'prof-'));
const w = new DatasetWriter({ dir, vocabSize: 50257, seqLen: 2048, maxShardBytes: 32 << 20 });
const block = new Uint16Array(1 << 20).map((_, i) => (i * 7919) % 50257);
for (let i = 0; i < 64; i++) w.append(block);
w.finish();
const backend = await openLocalProvider({ dir, verify: 'full' });
const server = await startTcpDataServer({ provider: backend, authorize: () => 'ok' });
const client = await connectTcpDataProvider({ host: '127.0.0.1', port: server.port, clientId: 'x', defaultStep: 0 });
const http = await startStaticHttpServer({ root: dir });
const hp = await openHttpProvider({ source: { manifestUrl: http.url + 'manifest.json' } });
for (const [name, p] of [['tcp', client]] as const) {
  const n = p.describe().sequenceCount;
  for (const bs of [64, 256, 1024]) {
    const t = performance.now();
    for (let s = 0; s < n; s += bs) await p.getSequences(Array.from({ length: Math.min(bs, n - s) }, (_, i) => s + i));
    console.log(name, bs, 'seq/s', (n / ((performance.now() - t) / 1000)).toFixed(0));
  }
}
await client.close(); await server.close(); await backend.close(); await hp.close(); await http.close();
rmSync(dir, { recursive: true });
