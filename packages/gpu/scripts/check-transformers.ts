// Does a checkpoint written by @psyche/modeling load in Hugging Face transformers' LlamaForCausalLM,
// and does it compute what our ONNX eval graph computes? For each configuration below: seeded
// parameters (with non-trivial norm weights) → saveLlamaCheckpoint → our logits on fixed tokens via
// LlamaEvalSession (ONNX Runtime); then scripts/check-transformers.py loads the directory with
// LlamaForCausalLM and prints the max |logit difference|. Not part of the test suite: it needs
// torch + transformers (PSYCHE_PYTHON=/path/to/python; a missing transformers is a clear skip).
//   npm run check:transformers -w @psyche/gpu
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRng, fillGaussian } from '@psyche/core';
import { initParameters, llamaConfig, llamaParameterSpecs, saveLlamaCheckpoint, type LlamaConfigInput } from '@psyche/modeling';
import { LlamaEvalSession } from '../src/llama-session.ts';

// Non-default rope_theta and rms_norm_eps, grouped-query attention, tied and untied heads: a field
// that transformers read differently would show up as a logit difference.
const variants: { name: string; config: LlamaConfigInput }[] = [
  {
    name: 'gqa-untied',
    config: { vocab_size: 96, hidden_size: 64, intermediate_size: 160, num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 2, rope_theta: 500000, rms_norm_eps: 1e-5, initializer_range: 0.2 },
  },
  {
    name: 'mha-tied',
    config: { vocab_size: 80, hidden_size: 48, intermediate_size: 96, num_hidden_layers: 3, num_attention_heads: 3, num_key_value_heads: 3, tie_word_embeddings: true, initializer_range: 0.2 },
  },
];
const seq = 48;
const tolerance = 1e-4;

const root = await mkdtemp(join(tmpdir(), 'psyche-hf-check-'));
try {
  for (const v of variants) {
    const config = llamaConfig(v.config);
    const params = initParameters(llamaParameterSpecs(config), `hf-check-${v.name}`);
    const rng = createRng(`norms-${v.name}`);
    for (const [name, w] of params) if (name.endsWith('norm.weight')) w.set(fillGaussian(rng, new Float32Array(w.length), 0.3, 1));
    const dir = join(root, v.name);
    await saveLlamaCheckpoint(dir, config, params);
    const ids = Array.from({ length: seq }, () => rng.nextInt(config.vocab_size));
    const session = await LlamaEvalSession.create({ config, parameters: params, contextLength: seq });
    const { logits } = await session.evaluate(BigInt64Array.from(ids, BigInt), new BigInt64Array(seq));
    await session.close();
    await writeFile(join(dir, 'psyche-logits.f32'), new Uint8Array(logits.buffer, logits.byteOffset, logits.byteLength));
    await writeFile(join(dir, 'psyche-tokens.json'), JSON.stringify({ ids, vocab: config.vocab_size, tolerance }));
  }
  const python = process.env.PSYCHE_PYTHON ?? 'python3';
  const script = join(dirname(fileURLToPath(import.meta.url)), 'check-transformers.py');
  execFileSync(python, [script, root], { stdio: 'inherit' });
} catch (e) {
  process.exitCode = 1;
  if (!(e instanceof Error && 'status' in e)) throw e; // the Python side already said what failed
} finally {
  await rm(root, { recursive: true, force: true });
}
