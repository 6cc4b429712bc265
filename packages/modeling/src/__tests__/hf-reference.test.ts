import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { saveLlamaCheckpoint } from '../checkpoint.ts';
import { llamaConfig } from '../llama-config.ts';
import { buildLlamaGraph } from '../llama-model.ts';
import { encodeOnnxModel } from '../onnx-model.ts';
import { initParameters } from '../parameters.ts';

// An independent implementation: the checkpoint as written, read by a PyTorch forward that follows
// transformers' Llama (Debian's python3-torch; the test is skipped where it is not installed).
const PYTHON = '/usr/bin/python3';
const hasTorch = ((): boolean => {
  try {
    execFileSync(PYTHON, ['-c', 'import torch, numpy'], { stdio: 'ignore', timeout: 60_000 });
    return true;
  } catch {
    return false;
  }
})();

describe.runIf(existsSync(PYTHON) && hasTorch)('LLaMA logits vs a PyTorch reference of HF Llama', () => {
  for (const tie of [false, true]) {
    it(`matches on a saved checkpoint (GQA, tie_word_embeddings=${tie})`, async () => {
      const config = llamaConfig({ vocab_size: 50, hidden_size: 48, intermediate_size: 96, num_hidden_layers: 2, num_attention_heads: 6, num_key_value_heads: 2, tie_word_embeddings: tie, initializer_range: 0.2, rope_theta: 500 });
      const T = 9;
      const m = buildLlamaGraph(config, { batch: 1, seq: T, mode: 'eval' });
      const params = initParameters(m.parameters, `hf-${tie}`);
      for (const [name, v] of params) if (name.endsWith('layernorm.weight') || name === 'model.norm.weight') v.forEach((_, i) => (v[i] = 1 + 0.1 * Math.sin(i + name.length)));
      const ids = [3, 17, 42, 0, 8, 8, 49, 1, 23];
      const session = await ort.InferenceSession.create(encodeOnnxModel(m.graph));
      const feeds: Record<string, ort.Tensor> = {
        input_ids: new ort.Tensor('int64', BigInt64Array.from(ids, BigInt), [1, T]),
        labels: new ort.Tensor('int64', new BigInt64Array(T), [1, T]),
      };
      for (const s of m.parameters) feeds[s.name] = new ort.Tensor('float32', params.get(s.name)!, [...s.shape]);
      const ours = (await session.run(feeds)).logits!.data as Float32Array;
      await session.release();
      const dir = await mkdtemp(join(tmpdir(), 'psyche-hf-'));
      try {
        await saveLlamaCheckpoint(dir, config, params);
        const script = join(dirname(fileURLToPath(import.meta.url)), 'hf_llama_reference.py');
        const theirs = JSON.parse(execFileSync(PYTHON, [script, dir, ids.join(',')], { encoding: 'utf8', timeout: 120_000 })) as number[][];
        let maxDiff = 0;
        let scale = 0;
        theirs.forEach((row, t) => row.forEach((v, j) => {
          maxDiff = Math.max(maxDiff, Math.abs(v - ours[t * config.vocab_size + j]!));
          scale = Math.max(scale, Math.abs(v));
        }));
        console.log(`tie=${tie}: max |logit difference| ${maxDiff.toExponential(2)} (max |logit| ${scale.toFixed(2)})`);
        expect(maxDiff).toBeLessThan(1e-4 * Math.max(1, scale));
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    });
  }
});
