import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { MODELING_CHECKPOINT_MISMATCH, PsycheError } from '@psyche/core';
import { llamaConfigJson, parseLlamaConfigJson, type LlamaConfig } from './llama-config.ts';
import { llamaParameterSpecs } from './llama-model.ts';
import type { ParameterSpec, Parameters } from './parameters.ts';
import { decodeSafetensors, encodeSafetensors, float32Safetensor, safetensorToFloat32, type SafetensorsLimits } from './safetensors.ts';

/** Parameters → safetensors bytes (F32, HF names, in spec order). */
export function encodeParameters(specs: readonly ParameterSpec[], params: Parameters, metadata: Record<string, string> = { format: 'pt' }): Uint8Array {
  return encodeSafetensors(
    specs.map((s) => {
      const data = params.get(s.name);
      const size = s.shape.reduce((a, b) => a * b, 1);
      if (!data || data.length !== size) {
        throw new PsycheError(MODELING_CHECKPOINT_MISMATCH, { name: s.name, expected: `[${s.shape.join(', ')}]`, received: data ? `${data.length} elements` : 'missing' }, `parameter ${s.name} is missing or mis-sized`);
      }
      return [s.name, float32Safetensor(data, s.shape)];
    }),
    metadata,
  );
}

/**
 * safetensors bytes → parameters for `specs`, checking every name and shape. Extra tensors are
 * ignored (a tied model saved with lm_head.weight still loads), missing or mis-shaped ones are
 * MODELING_CHECKPOINT_MISMATCH errors.
 */
export function decodeParameters(specs: readonly ParameterSpec[], bytes: Uint8Array, limits?: SafetensorsLimits): Parameters {
  const file = decodeSafetensors(bytes, limits);
  const out: Parameters = new Map();
  for (const s of specs) {
    const t = file.tensors.get(s.name);
    const expected = `[${s.shape.join(', ')}]`;
    if (!t) throw new PsycheError(MODELING_CHECKPOINT_MISMATCH, { name: s.name, expected, received: 'missing' }, `checkpoint lacks ${s.name}`);
    if (t.shape.length !== s.shape.length || t.shape.some((d, i) => d !== s.shape[i])) {
      throw new PsycheError(MODELING_CHECKPOINT_MISMATCH, { name: s.name, expected, received: `[${t.shape.join(', ')}]` }, `checkpoint tensor ${s.name} has shape [${t.shape.join(', ')}], expected ${expected}`);
    }
    out.set(s.name, safetensorToFloat32(s.name, t));
  }
  return out;
}

/** Writes `model.safetensors` and `config.json` (loadable by transformers' LlamaForCausalLM.from_pretrained). */
export async function saveLlamaCheckpoint(dir: string, config: LlamaConfig, params: Parameters): Promise<void> {
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'model.safetensors'), encodeParameters(llamaParameterSpecs(config), params));
  await writeFile(join(dir, 'config.json'), `${JSON.stringify(llamaConfigJson(config), null, 2)}\n`);
}

export async function loadLlamaCheckpoint(dir: string): Promise<{ config: LlamaConfig; parameters: Parameters }> {
  const config = parseLlamaConfigJson(await readFile(join(dir, 'config.json'), 'utf8'));
  const bytes = await readFile(join(dir, 'model.safetensors'));
  return { config, parameters: decodeParameters(llamaParameterSpecs(config), new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength)) };
}
