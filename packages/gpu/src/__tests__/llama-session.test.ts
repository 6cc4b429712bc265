import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { GPU_INPUT_MISMATCH, psycheErrorCodeOfAsync } from '@psyche/core';
import { AdamW } from '@psyche/distro';
import { initParameters, llamaConfig, llamaParameterSpecs, loadLlamaCheckpoint, saveLlamaCheckpoint } from '@psyche/modeling';
import { LlamaEvalSession, LlamaTrainSession } from '../llama-session.ts';

describe('LLaMA train and eval sessions', () => {
  it('token ids or labels outside [0, vocab) are GPU_INPUT_MISMATCH (ONNX Gather would wrap a negative id silently)', async () => {
    const config = llamaConfig({ vocab_size: 8, hidden_size: 8, intermediate_size: 16, num_hidden_layers: 1, num_attention_heads: 2, max_position_embeddings: 4 });
    const parameters = initParameters(llamaParameterSpecs(config), 3);
    const session = await LlamaTrainSession.create({ config, batch: 1, seq: 4 });
    const lm = await LlamaEvalSession.create({ config, parameters, contextLength: 4, batch: 2 });
    try {
      const good = BigInt64Array.of(1n, 2n, 3n, 7n);
      for (const bad of [BigInt64Array.of(1n, -1n, 3n, 4n), BigInt64Array.of(1n, 2n, 8n, 4n)]) {
        expect(await psycheErrorCodeOfAsync(() => session.step(parameters, bad, good))).toBe(GPU_INPUT_MISMATCH);
        expect(await psycheErrorCodeOfAsync(() => session.step(parameters, good, bad))).toBe(GPU_INPUT_MISMATCH);
      }
      const { loss } = await session.step(parameters, good, good);
      expect(loss).toBeGreaterThan(Math.log(8) / 2); // an untrained model is near ln(vocab)
      expect(await psycheErrorCodeOfAsync(async () => lm.generate([1], { maxNewTokens: 1, sampling: { strategy: 'greedy' } }))).toBe(GPU_INPUT_MISMATCH); // batch 2
    } finally {
      await session.close();
      await lm.close();
    }
  });

  it('AdamW on the train graph learns a repeating sequence; the checkpoint then generates it greedily', async () => {
    const config = llamaConfig({ vocab_size: 16, hidden_size: 32, intermediate_size: 64, num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 2, max_position_embeddings: 16 });
    const specs = llamaParameterSpecs(config);
    const parameters = initParameters(specs, 1);
    const B = 4;
    const T = 16;
    const pattern = [3, 1, 4, 1, 5, 9, 2, 6];
    const ids = BigInt64Array.from({ length: B * T }, (_, i) => BigInt(pattern[(i + Math.floor(i / T)) % 8]!));
    const labels = BigInt64Array.from({ length: B * T }, (_, i) => BigInt(pattern[(i + 1 + Math.floor(i / T)) % 8]!));
    const session = await LlamaTrainSession.create({ config, batch: B, seq: T });
    const opt = new AdamW(specs.map((s) => ({ name: s.name, shape: s.shape, data: parameters.get(s.name)! })));
    const losses: number[] = [];
    for (let s = 0; s < 60; s++) {
      const { loss, gradients } = await session.step(parameters, ids, labels);
      losses.push(loss);
      opt.step(gradients, 1e-2);
    }
    await session.close();
    console.log(`loss ${losses[0]!.toFixed(3)} → ${losses.at(-1)!.toFixed(3)}`);
    expect(losses[0]).toBeGreaterThan(2);
    expect(losses.at(-1)!).toBeLessThan(0.2);

    const dir = await mkdtemp(join(tmpdir(), 'psyche-llama-'));
    try {
      await saveLlamaCheckpoint(dir, config, parameters);
      const loaded = await loadLlamaCheckpoint(dir);
      const lm = await LlamaEvalSession.create({ config: loaded.config, parameters: loaded.parameters, contextLength: T });
      const out = await lm.generate([3, 1, 4], { maxNewTokens: 6, sampling: { strategy: 'greedy' } });
      await lm.close();
      expect(out).toEqual([1, 5, 9, 2, 6, 3]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
