// Per-op time breakdown of the benchmark train graph (ORT profiling), to see where a step goes.
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import * as ort from 'onnxruntime-node';
import { buildLlamaGraph, encodeOnnxModel, initParameters } from '@psyche/modeling';
import { BENCH_LLAMA } from './train-step.ts';

const batch = Number(process.argv[2] ?? 4);
const seq = 256;
const m = buildLlamaGraph(BENCH_LLAMA, { batch, seq, mode: 'train' });
const s = await ort.InferenceSession.create(encodeOnnxModel(m.graph), { enableProfiling: true, profileFilePrefix: 'psyche-ort-profile' });
const params = initParameters(m.parameters, 1);
const ids = new BigInt64Array(batch * seq).fill(3n);
const feeds: Record<string, ort.Tensor> = { input_ids: new ort.Tensor('int64', ids, [batch, seq]), labels: new ort.Tensor('int64', ids, [batch, seq]) };
for (const p of m.parameters) feeds[p.name] = new ort.Tensor('float32', params.get(p.name)!, [...p.shape]);
await s.run(feeds);
const t = performance.now();
await s.run(feeds);
console.log('step ms', (performance.now() - t).toFixed(0));
s.endProfiling();
const file = readdirSync('.').find((f) => f.startsWith('psyche-ort-profile')) ?? '';
const events = JSON.parse(readFileSync(file, 'utf8')) as { cat: string; name: string; dur: number; args?: { op_name?: string } }[];
const byOp = new Map<string, number>();
for (const e of events) if (e.cat === 'Node' && e.name.endsWith('_kernel_time')) byOp.set(e.args?.op_name ?? '?', (byOp.get(e.args?.op_name ?? '?') ?? 0) + e.dur / 2);
console.log([...byOp].sort((a, b) => b[1] - a[1]).slice(0, 15).map(([k, v]) => `${k}: ${(v / 1000).toFixed(1)} ms`).join('\n'));
const byNode = new Map<string, { op: string; us: number; shapes: string }>();
for (const e of events as unknown as { cat: string; name: string; dur: number; args?: { op_name?: string; input_type_shape?: unknown } }[]) {
  if (e.cat !== 'Node' || !e.name.endsWith('_kernel_time')) continue;
  const prev = byNode.get(e.name);
  byNode.set(e.name, { op: e.args?.op_name ?? '?', us: (prev?.us ?? 0) + e.dur / 2, shapes: JSON.stringify(e.args?.input_type_shape) });
}
if (process.argv[3]) console.log([...byNode.values()].sort((a, b) => b.us - a.us).slice(0, Number(process.argv[3])).map((n) => `${n.op} ${(n.us / 1000).toFixed(1)} ms ${n.shapes}`).join('\n'));
rmSync(file);
