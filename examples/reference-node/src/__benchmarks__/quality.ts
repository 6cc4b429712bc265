// Quality against the baseline: the local run's model, data, node count and tokens, trained with
// dense AdamW (every worker's full gradient exchanged, bf16 on the wire) and with DisTrO (top-k of
// each DCT chunk, 1-bit values, lookahead, 2-round overlap), simulated in one process (no network;
// bytes counted from the real wire encoding the nodes send). Prints a markdown summary and one JSON
// line per optimizer (append them to a file with --record; BENCHMARKS.md is written by hand from them).
// Defaults: 300 steps, warmup 20 then cosine to 10%, AdamW lr 0.0015; DisTrO settings from configs/local.toml.
//   npm run bench -w @psyche/reference-node -- [--steps 300] [--distro-lr 0.008] [--adamw-lr 0.0015]
//     [--only adamw|distro] [--decay 0.995] [--wd 0] [--adamw-wd 0] [--warmup 20] [--min-lr 0.1]
//     [--values sign|f32] [--delay 2] [--vocab 320] [--intermediate 384] [--topk 4] [--global-batch 12] [--eval-every 250] [--threads 2] [--record results.jsonl]
import { execSync } from 'node:child_process';
import { appendFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { AdamW, DistroOptimizer, OverlapQueue, clipGradNorm, decodeCompactResult, denseBf16Bytes, encodeCompactResult, resultLayoutOf, type DistroResult } from '@psyche/distro';
import { LlamaTrainSession } from '@psyche/gpu';
import { initParameters, llamaParameterSpecs, type Parameters } from '@psyche/modeling';
import { learningRateAt, readRunFile, type RunFile } from '../node-config.ts';
import { DEFAULT_CONFIG, validationLoss } from '../local-run.ts';
import { openTrainingData } from '../trainer.ts';

const { values } = parseArgs({
  options: {
    config: { type: 'string', default: DEFAULT_CONFIG },
    steps: { type: 'string', default: '300' },
    nodes: { type: 'string', default: '3' },
    only: { type: 'string' },
    'distro-lr': { type: 'string' },
    'adamw-lr': { type: 'string', default: '0.0015' }, // the best of the sweep in BENCHMARKS.md
    'adamw-wd': { type: 'string', default: '0' },
    decay: { type: 'string' },
    wd: { type: 'string' },
    topk: { type: 'string' },
    warmup: { type: 'string', default: '20' },
    'min-lr': { type: 'string' },
    vocab: { type: 'string' },
    intermediate: { type: 'string' },
    'val-seqs': { type: 'string', default: '32' },
    threads: { type: 'string', default: '2' },
    'eval-every': { type: 'string', default: '0' },
    'global-batch': { type: 'string' },
    values: { type: 'string' },
    delay: { type: 'string', default: '2' },
    record: { type: 'string' },
  },
});
const base = readRunFile(values.config);
const num = (v: string | undefined, fallback: number) => (v === undefined ? fallback : Number(v));
const runFile: RunFile = {
  ...base,
  run: {
    ...base.run,
    distroTopk: num(values.topk, base.run.distroTopk),
    learningRate: num(values['distro-lr'], base.run.learningRate),
    compressionDecay: num(values.decay, base.run.compressionDecay),
    weightDecay: num(values.wd, base.run.weightDecay),
    globalBatchEnd: num(values['global-batch'], base.run.globalBatchEnd),
    distroQuantize1bit: values.values === undefined ? base.run.distroQuantize1bit : values.values === 'sign',
  },
  model: { ...base.model, vocab_size: num(values.vocab, base.model.vocab_size), intermediate_size: num(values.intermediate, base.model.intermediate_size) },
  schedule: { ...base.schedule, warmupSteps: num(values.warmup, base.schedule.warmupSteps), minLrFraction: num(values['min-lr'], base.schedule.minLrFraction) },
};
const run = runFile.run;
const steps = Number(values.steps);
const nodes = Number(values.nodes);
const adamwLr = Number(values['adamw-lr']);
const adamwWd = Number(values['adamw-wd']);
const valSeqs = Number(values['val-seqs']);
const evalEvery = Number(values['eval-every']);
const perNode = run.globalBatchEnd / nodes;
if (!Number.isInteger(perNode)) throw new Error('global batch must divide by the node count');
const seq = run.seqLen;
const data = await openTrainingData(runFile, 'train');
const session = await LlamaTrainSession.create({ config: runFile.model, batch: perNode, seq, intraOpNumThreads: Number(values.threads) });
const specs = llamaParameterSpecs(runFile.model);
const tensorsOf = (p: Parameters) => specs.map((s) => ({ name: s.name, shape: s.shape, data: p.get(s.name)! }));
// The nodes' wire codec (Trainer.encodeResult): compact v2, 1-bit values (f32 with --values f32), layout known to both ends.
const wireLayout = resultLayoutOf(specs, { chunk: run.distroChunk, topk: run.distroTopk }, run.distroQuantize1bit ? 'sign' : 'f32');

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

const lrAt = (peak: number, step: number) => learningRateAt(peak, runFile.schedule, steps, step);

interface Outcome {
  loss: number;
  /** Validation loss every --eval-every steps: [step, loss]. */
  curve: [number, number][];
  bytes: number;
  ms: number;
  identical?: boolean;
}

async function trainAdamW(): Promise<Outcome> {
  const params = initParameters(specs, runFile.modelSeed);
  const adamw = new AdamW(tensorsOf(params), { beta1: 0.9, beta2: 0.95, weightDecay: adamwWd });
  const curve: [number, number][] = [];
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
    if (evalEvery > 0 && step % evalEvery === 0 && step < steps) curve.push([step, +(await validationLoss(runFile, params, valSeqs)).toFixed(4)]);
  }
  return { loss: await validationLoss(runFile, params, valSeqs), curve, bytes, ms: performance.now() - started };
}

async function trainDistro(): Promise<Outcome> {
  const workers = Array.from({ length: nodes }, () => {
    const params = initParameters(specs, runFile.modelSeed);
    return { params, opt: new DistroOptimizer(tensorsOf(params), { chunk: run.distroChunk, topk: run.distroTopk, compressionDecay: run.compressionDecay, weightDecay: run.weightDecay, clipGradNorm: run.clipGradNorm }) };
  });
  // Psyche's overlap: step s's results are applied at step s + 2 (--delay 1: before the next forward pass, as DeMo).
  const queue = new OverlapQueue<DistroResult[]>(Number(values.delay));
  const curve: [number, number][] = [];
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
      wires.push(encodeCompactResult(result, wireLayout));
    }
    bytes += wires.reduce((s, w) => s + w.length, 0);
    queue.push(step, wires.map((b) => decodeCompactResult(b, wireLayout)));
    prevLr = lr;
    // After generate no lookahead is applied: these are the weights every node holds.
    if (evalEvery > 0 && step % evalEvery === 0 && step < steps) curve.push([step, +(await validationLoss(runFile, workers[0]!.params, valSeqs)).toFixed(4)]);
  }
  for (const due of queue.drain()) for (const w of workers) await w.opt.apply(due, lrAt(run.learningRate, steps));
  const ref = workers[0]!.params;
  const identical = workers.every((w) => specs.every((s) => w.params.get(s.name)!.every((v, i) => v === ref.get(s.name)![i])));
  return { loss: await validationLoss(runFile, ref, valSeqs), curve, bytes, ms: performance.now() - started, identical };
}

const commit = execSync('git rev-parse --short HEAD', { cwd: join(import.meta.dirname, '..') }).toString().trim();
const parameterCount = specs.reduce((n, s) => n + s.shape.reduce((a, b) => a * b, 1), 0);
const common = {
  steps,
  globalBatch: run.globalBatchEnd,
  nodes,
  tokens: steps * run.globalBatchEnd * seq,
  vocab: runFile.model.vocab_size,
  intermediate: runFile.model.intermediate_size,
  parameters: parameterCount,
  warmup: runFile.schedule.warmupSteps,
  minLr: runFile.schedule.minLrFraction,
  valSeqs,
  commit,
};
const initial = await validationLoss(runFile, initParameters(specs, runFile.modelSeed), valSeqs);
const outcomes: Record<string, Outcome & { lr: number }> = {};
function record(optimizer: string, o: Outcome, extra: Record<string, number | boolean>): void {
  const line = JSON.stringify({ optimizer, ...common, ...extra, initial: +initial.toFixed(4), loss: +o.loss.toFixed(4), curve: o.curve, bytes: o.bytes, seconds: Math.round(o.ms / 1000), load: loadavg().map((x) => +x.toFixed(2)) });
  console.log(line);
  if (values.record) appendFileSync(values.record, `${line}\n`);
}
if (values.only !== 'distro') {
  const o = await trainAdamW();
  outcomes.adamw = { ...o, lr: adamwLr };
  record('adamw', o, { lr: adamwLr, wd: adamwWd });
}
if (values.only !== 'adamw') {
  const o = await trainDistro();
  outcomes.distro = { ...o, lr: run.learningRate };
  record('distro', o, { lr: run.learningRate, topk: run.distroTopk, oneBit: run.distroQuantize1bit, delay: Number(values.delay), decay: run.compressionDecay, wd: run.weightDecay, identical: o.identical ?? false });
}
await session.close();
await data.close();

const { adamw, distro } = outcomes;
if (adamw && distro) {
  const gap = distro.loss / adamw.loss - 1;
  const ratio = adamw.bytes / distro.bytes;
  console.log(`
| optimizer | peak lr | final validation loss | total bytes sent (all nodes) | time |
| --- | --- | --- | --- | --- |
| AdamW, dense bf16 gradients | ${adamw.lr} | ${adamw.loss.toFixed(4)} | ${adamw.bytes.toLocaleString('en-US')} | ${(adamw.ms / 1000).toFixed(0)} s |
| DisTrO top-${run.distroTopk}, ${run.distroQuantize1bit ? '1-bit' : 'f32 values'} | ${distro.lr} | ${distro.loss.toFixed(4)} | ${distro.bytes.toLocaleString('en-US')} | ${(distro.ms / 1000).toFixed(0)} s |

${parameterCount.toLocaleString('en-US')} parameters, ${common.tokens.toLocaleString('en-US')} tokens, initial validation ${initial.toFixed(4)}.
DisTrO's loss is ${(gap * 100).toFixed(1)}% ${gap >= 0 ? 'above' : 'below'} AdamW's, with ${ratio.toFixed(0)}× fewer bytes: ${gap <= 0.05 ? 'loss bar met' : 'loss bar NOT met'}, ${ratio >= 1000 ? 'bytes bar met' : 'bytes bar NOT met'}.
Workers bit-identical: ${distro.identical}. ${cpus()[0]?.model ?? 'unknown CPU'}, ${cpus().length} cores, load ${loadavg().map((x) => x.toFixed(2)).join(' ')}, commit ${commit}.`);
}
