// Quality against the baseline: the local run's model, data, node count and tokens, trained with
// dense AdamW (every worker's full gradient exchanged, bf16 on the wire) and with DisTrO (top-k of
// each DCT chunk, 1-bit values, lookahead, 2-round overlap), simulated in one process (no network;
// bytes counted from the real wire encodings). Writes BENCHMARKS.md.
//   npm run bench -w @psyche/reference-node -- [--steps 120] [--distro-lr 0.004] [--adamw-lr 0.003]
import { execSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { AdamW, DistroOptimizer, OverlapQueue, clipGradNorm, decodeDistroResult, denseBf16Bytes, encodeDistroResult, type DistroResult } from '@psyche/distro';
import { LlamaTrainSession } from '@psyche/gpu';
import { initParameters, llamaParameterSpecs, type Parameters } from '@psyche/modeling';
import { learningRateAt, readRunFile } from '../node-config.ts';
import { DEFAULT_CONFIG, validationLoss } from '../local-run.ts';
import { openTrainingData } from '../trainer.ts';

const { values } = parseArgs({
  options: {
    steps: { type: 'string', default: '60' },
    nodes: { type: 'string', default: '3' },
    'distro-lr': { type: 'string' },
    'adamw-lr': { type: 'string', default: '0.003' },
    topk: { type: 'string' },
    out: { type: 'string', default: resolve(import.meta.dirname, '../../BENCHMARKS.md') },
  },
});
const runFile = readRunFile(DEFAULT_CONFIG);
const steps = Number(values.steps);
const nodes = Number(values.nodes);
const run = { ...runFile.run, ...(values.topk ? { distroTopk: Number(values.topk) } : {}), ...(values['distro-lr'] ? { learningRate: Number(values['distro-lr']) } : {}) };
const adamwLr = Number(values['adamw-lr']);
const perNode = run.globalBatchEnd / nodes;
if (!Number.isInteger(perNode)) throw new Error('global batch must divide by the node count');
const seq = run.seqLen;
const data = await openTrainingData(runFile, 'train');
const session = await LlamaTrainSession.create({ config: runFile.model, batch: perNode, seq, intraOpNumThreads: 2 });
const specs = llamaParameterSpecs(runFile.model);
const tensorsOf = (p: Parameters) => specs.map((s) => ({ name: s.name, shape: s.shape, data: p.get(s.name)! }));

async function batchOf(step: number, node: number): Promise<{ ids: BigInt64Array; labels: BigInt64Array }> {
  // Same contiguous batch ids as the run: step s covers [s·B, (s+1)·B), node n its share.
  const start = (step - 1) * run.globalBatchEnd + node * perNode;
  const batch = await data.getSequences(Array.from({ length: perNode }, (_, i) => start + i));
  const ids = new BigInt64Array(perNode * seq);
  const labels = new BigInt64Array(perNode * seq);
  for (let r = 0; r < perNode; r++)
    for (let t = 0; t < seq; t++) {
      ids[r * seq + t] = BigInt(batch.tokens[r * (seq + 1) + t]!);
      labels[r * seq + t] = BigInt(batch.tokens[r * (seq + 1) + t + 1]!);
    }
  return { ids, labels };
}

const lrAt = (base: number, step: number) => learningRateAt(base, runFile.schedule, steps, step);

async function trainAdamW(): Promise<{ loss: number; bytes: number; ms: number }> {
  const params = initParameters(specs, runFile.modelSeed);
  const adamw = new AdamW(tensorsOf(params), { beta1: 0.9, beta2: 0.95, weightDecay: 0 });
  let bytes = 0;
  const started = performance.now();
  for (let step = 1; step <= steps; step++) {
    const mean = new Map<string, Float32Array>();
    for (let n = 0; n < nodes; n++) {
      const { ids, labels } = await batchOf(step, n);
      const { gradients } = await session.step(params, ids, labels);
      for (const [name, g] of gradients) {
        const acc = mean.get(name) ?? new Float32Array(g.length);
        for (let i = 0; i < g.length; i++) acc[i]! += g[i]! / nodes;
        mean.set(name, acc);
      }
      bytes += denseBf16Bytes(tensorsOf(params)); // each node sends its dense bf16 gradient
    }
    clipGradNorm(mean, run.clipGradNorm);
    adamw.step(mean, lrAt(adamwLr, step));
  }
  return { loss: await validationLoss(runFile, params, 32), bytes, ms: performance.now() - started };
}

async function trainDistro(): Promise<{ loss: number; bytes: number; ms: number; identical: boolean }> {
  const workers = Array.from({ length: nodes }, () => {
    const params = initParameters(specs, runFile.modelSeed);
    return { params, opt: new DistroOptimizer(tensorsOf(params), { chunk: run.distroChunk, topk: run.distroTopk, compressionDecay: run.compressionDecay, weightDecay: run.weightDecay, clipGradNorm: run.clipGradNorm }) };
  });
  const queue = new OverlapQueue<DistroResult[]>(2);
  let bytes = 0;
  let prevLr = 0;
  const started = performance.now();
  for (let step = 1; step <= steps; step++) {
    const lr = lrAt(run.learningRate, step);
    const due = queue.takeDue(step);
    if (due) for (const w of workers) await w.opt.apply(due, lr);
    const wires: Uint8Array[] = [];
    for (const [n, w] of workers.entries()) {
      await w.opt.applyLookahead(prevLr);
      const { ids, labels } = await batchOf(step, n);
      const { gradients } = await session.step(w.params, ids, labels);
      const { result } = await w.opt.generate(gradients, lr);
      wires.push(encodeDistroResult(result, 'sign'));
    }
    bytes += wires.reduce((s, w) => s + w.length, 0);
    queue.push(step, wires.map((b) => decodeDistroResult(b)));
    prevLr = lr;
  }
  for (const due of queue.drain()) for (const w of workers) await w.opt.apply(due, lrAt(run.learningRate, steps));
  const ref = workers[0]!.params;
  const identical = workers.every((w) => specs.every((s) => w.params.get(s.name)!.every((v, i) => v === ref.get(s.name)![i])));
  return { loss: await validationLoss(runFile, ref, 32), bytes, ms: performance.now() - started, identical };
}

const initial = await validationLoss(runFile, initParameters(specs, runFile.modelSeed), 32);
const adamw = await trainAdamW();
console.log(`AdamW: validation ${adamw.loss.toFixed(4)}, ${adamw.bytes} bytes, ${(adamw.ms / 1000).toFixed(0)} s`);
const distro = await trainDistro();
console.log(`DisTrO: validation ${distro.loss.toFixed(4)}, ${distro.bytes} bytes, ${(distro.ms / 1000).toFixed(0)} s, workers identical ${distro.identical}`);
await session.close();
await data.close();

const gap = distro.loss / adamw.loss - 1;
const ratio = adamw.bytes / distro.bytes;
const tokens = steps * run.globalBatchEnd * seq;
const cpu = cpus()[0]?.model ?? 'unknown CPU';
const commit = execSync('git rev-parse --short HEAD', { cwd: join(import.meta.dirname, '..') }).toString().trim();
const md = `# @psyche/reference-node benchmarks

## Quality against the dense baseline (\`npm run bench -w @psyche/reference-node -- --steps ${steps}\`)

The local run's model (${specs.reduce((n, s) => n + s.shape.reduce((a, b) => a * b, 1), 0).toLocaleString('en-US')} parameters, LLaMA-style, byte tokens), data (example
dataset, the run's batch ids), ${nodes} nodes and ${tokens.toLocaleString('en-US')} training tokens (${steps} steps × ${run.globalBatchEnd} × ${seq}),
simulated in one process: the ONNX Runtime train graph for every node's batch, then either dense AdamW on the
mean gradient (each node sends its full gradient as bf16) or DisTrO exactly as the nodes run it (chunk ${run.distroChunk},
top-${run.distroTopk}, 1-bit values, decay ${run.compressionDecay}, lookahead, results applied two steps late, bytes = the
real wire encoding). Validation loss: mean over the first 32 validation sequences (initial weights: ${initial.toFixed(4)}).

| optimizer | peak lr | final validation loss | total bytes sent (all nodes) | time |
| --- | --- | --- | --- | --- |
| AdamW, dense bf16 gradients | ${adamwLr} | ${adamw.loss.toFixed(4)} | ${adamw.bytes.toLocaleString('en-US')} | ${(adamw.ms / 1000).toFixed(0)} s |
| DisTrO top-${run.distroTopk}, 1-bit | ${run.learningRate} | ${distro.loss.toFixed(4)} | ${distro.bytes.toLocaleString('en-US')} | ${(distro.ms / 1000).toFixed(0)} s |

DisTrO's loss is ${(gap * 100).toFixed(1)}% ${gap >= 0 ? 'above' : 'below'} AdamW's, with ${ratio.toFixed(0)}× fewer bytes.
Bar from the issue: within 5% at ≥ 1,000× fewer bytes — **${gap <= 0.05 ? 'loss bar met' : 'loss bar NOT met'}, ${ratio >= 1000 ? 'bytes bar met' : 'bytes bar NOT met'}**.
${ratio < 1000 ? `The byte ratio is bounded by this model's shapes: small tensors (norm vectors of ${runFile.model.hidden_size}, chunk ${run.distroChunk}) keep top-${run.distroTopk} of
only ${run.distroChunk} coefficients, and the wire format's per-parameter headers weigh more on a ${specs.length}-tensor model; the
4096×4096 figure (≈ 964×–1,260×) is in packages/distro/BENCHMARKS.md.` : ''}
DisTrO workers ended with bit-identical weights: ${distro.identical}.

Machine: ${cpu}, ${cpus().length} cores shared with other jobs; load average at the end ${loadavg().map((x) => x.toFixed(2)).join(' ')}; commit ${commit}.
One run (the figures are deterministic up to ONNX Runtime's float summation order; times are not).

Not measured yet: step time through network namespaces shaped with tc to 100 Mbit/s and 40 ms RTT.
`;
writeFileSync(values.out, md);
console.log(`wrote ${values.out}`);
