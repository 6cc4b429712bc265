// Train step of a ~10M-parameter LLaMA-style model (seq 256) through OnnxExecutor on CPU.
import { cpus, loadavg } from 'node:os';
import { createRng } from '@psyche/core';
import { buildLlamaGraph, encodeOnnxModel, initParameters, llamaConfig, llamaTrainFlops, parameterCount } from '@psyche/modeling';
import { OnnxExecutor, type HostTensor } from '../onnx-executor.ts';

export const BENCH_LLAMA = llamaConfig({
  vocab_size: 256,
  hidden_size: 384,
  intermediate_size: 1024,
  num_hidden_layers: 6,
  num_attention_heads: 6,
  num_key_value_heads: 2,
  max_position_embeddings: 256,
});

export interface TrainStepFigures {
  params: number;
  batch: number;
  seq: number;
  gflopPerStep: number;
  msPerStep: number[];
  medianMs: number;
  gflops: number;
}

export async function benchTrainStep(batch: number, seq: number, steps: number): Promise<TrainStepFigures> {
  const c = BENCH_LLAMA;
  const m = buildLlamaGraph(c, { batch, seq, mode: 'train' });
  const exec = await OnnxExecutor.create({ model: encodeOnnxModel(m.graph) });
  const params = initParameters(m.parameters, 'bench');
  const rng = createRng(1);
  const ids = BigInt64Array.from({ length: batch * seq }, () => BigInt(rng.nextInt(c.vocab_size)));
  const feeds: Record<string, HostTensor> = {
    input_ids: { dtype: 'int64', dims: [batch, seq], data: ids },
    labels: { dtype: 'int64', dims: [batch, seq], data: ids },
  };
  for (const s of m.parameters) feeds[s.name] = { dtype: 'float32', dims: s.shape, data: params.get(s.name)! };
  await exec.run(feeds); // warm-up (first run allocates)
  const msPerStep: number[] = [];
  for (let i = 0; i < steps; i++) {
    const t = performance.now();
    await exec.run(feeds);
    msPerStep.push(performance.now() - t);
  }
  await exec.close();
  const sorted = [...msPerStep].sort((a, b) => a - b);
  const medianMs = sorted[Math.floor(sorted.length / 2)]!;
  const flops = llamaTrainFlops(c, batch, seq);
  return { params: parameterCount(m.parameters), batch, seq, gflopPerStep: flops / 1e9, msPerStep, medianMs, gflops: flops / 1e9 / (medianMs / 1000) };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const batch = Number(process.argv[2] ?? 8);
  const f = await benchTrainStep(batch, 256, Number(process.argv[3] ?? 5));
  console.log(JSON.stringify({ ...f, cpu: cpus()[0]?.model, load: loadavg() }, null, 1));
}
