import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import * as ort from 'onnxruntime-node';
import { createRng, isPsycheError, MODELING_INVALID_CONFIG, psycheErrorCodeOf } from '@psyche/core';
import { llamaConfig, llamaConfigJson, parseLlamaConfigJson, type LlamaConfig } from '../llama-config.ts';
import { buildLlamaGraph, llamaParameterSpecs } from '../llama-model.ts';
import { buildMlpGraph, type MlpConfig } from '../mlp-model.ts';
import type { ModelGraph } from '../llama-model.ts';
import { encodeOnnxModel } from '../onnx-model.ts';
import { initParameters, parameterCount } from '../parameters.ts';
import { HOSTILE_JSON_KEYS, hostileJsonText } from '../../../../scripts/hostile-json.ts';

const tiny = (over: Partial<LlamaConfig> = {}): LlamaConfig =>
  llamaConfig({ vocab_size: 11, hidden_size: 8, intermediate_size: 12, num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 2, initializer_range: 0.4, ...over });

function batch(B: number, T: number, vocab: number, seed: number): { ids: BigInt64Array; labels: BigInt64Array } {
  const rng = createRng(seed);
  const ids = BigInt64Array.from({ length: B * T }, () => BigInt(rng.nextInt(vocab)));
  const labels = BigInt64Array.from({ length: B * T }, () => BigInt(rng.nextInt(vocab)));
  return { ids, labels };
}

/** Whole-model gradient check: the train graph's gradients vs central differences of the eval graph's loss (float64). */
async function modelGradCheck(build: (mode: 'train' | 'eval') => ModelGraph, vocab: number, B: number, T: number): Promise<{ maxRel: number; checked: number }> {
  const train = build('train');
  const evalG = build('eval');
  const opts = { graphOptimizationLevel: 'basic' } as const; // see gradcheck-internal.ts (QuickGelu has no float64 kernel)
  const trainS = await ort.InferenceSession.create(encodeOnnxModel(train.graph), opts);
  const evalS = await ort.InferenceSession.create(encodeOnnxModel(evalG.graph), opts);
  const params = initParameters(train.parameters, 'gradcheck');
  const p64 = new Map([...params].map(([k, v]) => [k, Float64Array.from(v, (x, i) => x + (train.parameters.find((s) => s.name === k)!.init.kind === 'ones' ? 0.1 * Math.sin(i) : 0))]));
  const { ids, labels } = batch(B, T, vocab, 7);
  const feeds = (): Record<string, ort.Tensor> => {
    const f: Record<string, ort.Tensor> = { input_ids: new ort.Tensor('int64', ids, [B, T]), labels: new ort.Tensor('int64', labels, [B, T]) };
    for (const s of train.parameters) f[s.name] = new ort.Tensor('float64', p64.get(s.name)!, [...s.shape]);
    return f;
  };
  const out = await trainS.run(feeds());
  const rng = createRng(3);
  const h = 1e-5;
  let maxRel = 0;
  let checked = 0;
  for (const s of train.parameters) {
    const x = p64.get(s.name)!;
    const grad = out[`grad.${s.name}`]!.data as Float64Array;
    for (let probe = 0; probe < 5; probe++) {
      const e = rng.nextInt(x.length);
      const orig = x[e]!;
      x[e] = orig + h;
      const lp = ((await evalS.run(feeds())).loss!.data as Float64Array)[0]!;
      x[e] = orig - h;
      const lm = ((await evalS.run(feeds())).loss!.data as Float64Array)[0]!;
      x[e] = orig;
      const numeric = (lp - lm) / (2 * h);
      maxRel = Math.max(maxRel, Math.abs(numeric - grad[e]!) / Math.max(1e-3, Math.abs(numeric), Math.abs(grad[e]!)));
      checked++;
    }
  }
  await trainS.release();
  await evalS.release();
  return { maxRel, checked };
}

describe('LLaMA decoder', () => {
  it('has Hugging Face parameter names and counts', () => {
    const c = tiny();
    const names = llamaParameterSpecs(c).map((s) => s.name);
    expect(names[0]).toBe('model.embed_tokens.weight');
    expect(names).toContain('model.layers.1.self_attn.k_proj.weight');
    expect(names).toContain('model.layers.0.mlp.down_proj.weight');
    expect(names).toContain('lm_head.weight');
    expect(llamaParameterSpecs(tiny({ tie_word_embeddings: true })).map((s) => s.name)).not.toContain('lm_head.weight');
    // k_proj with 2 of 4 heads: [2·2, 8]
    expect(llamaParameterSpecs(c).find((s) => s.name.endsWith('k_proj.weight'))!.shape).toEqual([4, 8]);
    expect(parameterCount(llamaParameterSpecs(c))).toBe(11 * 8 * 2 + 2 * (8 * 8 * 2 + 4 * 8 * 2 + 3 * 8 * 12 + 16) + 8);
  });

  it('rejects bad configs with coded errors', () => {
    for (const bad of [{ num_key_value_heads: 3 }, { hidden_size: 10 }, { rms_norm_eps: 0 }, { vocab_size: 0 }]) {
      try {
        tiny(bad);
        expect.unreachable();
      } catch (e) {
        expect(isPsycheError(e, MODELING_INVALID_CONFIG)).toBe(true);
      }
    }
  });

  it('round-trips config.json with HF field names', () => {
    const c = tiny({ tie_word_embeddings: true });
    const json = llamaConfigJson(c);
    expect(json.model_type).toBe('llama');
    expect(parseLlamaConfigJson(JSON.stringify(json))).toEqual(c);
  });

  it('initParameters refuses a shape it cannot allocate with MODELING_INVALID_CONFIG before allocating anything', () => {
    // vocab 2^24 × hidden 2^12 passes llamaConfig but is 2^36 embedding elements
    const huge = llamaConfig({ vocab_size: 2 ** 24, hidden_size: 2 ** 12, intermediate_size: 8, num_hidden_layers: 1, num_attention_heads: 2 });
    expect(psycheErrorCodeOf(() => initParameters(llamaParameterSpecs(huge), 1))).toBe(MODELING_INVALID_CONFIG);
    for (const shape of [[-2], [1.5], [Number.NaN]]) {
      expect(psycheErrorCodeOf(() => initParameters([{ name: 'w', shape, init: { kind: 'zeros' } }], 1))).toBe(MODELING_INVALID_CONFIG);
    }
    expect(initParameters([{ name: 'w', shape: [2, 0], init: { kind: 'ones' } }], 1).get('w')).toHaveLength(0);
  });

  it('config.json fields of the wrong JSON type are MODELING_INVALID_CONFIG, not accepted because they compare like numbers', () => {
    const good = llamaConfigJson(tiny());
    for (const [field, value] of [['rms_norm_eps', '1e-6'], ['initializer_range', '0.02'], ['rope_theta', '10000'], ['hidden_size', '8'], ['tie_word_embeddings', 'false'], ['rms_norm_eps', [1e-6]]] as const) {
      expect(psycheErrorCodeOf(() => parseLlamaConfigJson(JSON.stringify({ ...good, [field]: value })))).toBe(MODELING_INVALID_CONFIG);
    }
    for (const text of ['', 'null', '[]', '"x"', '{"vocab_size": 11}']) expect(psycheErrorCodeOf(() => parseLlamaConfigJson(text))).toBe(MODELING_INVALID_CONFIG);
    // Found by the fuzz below in CI: String() of this parsed value throws a TypeError, so the error message must not call it.
    expect(psycheErrorCodeOf(() => parseLlamaConfigJson(JSON.stringify({ ...good, vocab_size: [{ toString: null }], rms_norm_eps: 0 })))).toBe(MODELING_INVALID_CONFIG);
  });

  it('fuzz: any JSON in any config.json field gives MODELING_INVALID_CONFIG or a config whose every field has its declared type and range', () => {
    const good = llamaConfigJson(tiny()) as Record<string, unknown>;
    const fields = ['vocab_size', 'hidden_size', 'intermediate_size', 'num_hidden_layers', 'num_attention_heads', 'num_key_value_heads', 'max_position_embeddings', 'rms_norm_eps', 'rope_theta', 'tie_word_embeddings', 'initializer_range'];
    // Values as JSON text: hostile ones (objects with toString/__proto__ keys, 1e400, deep nesting) are not
    // values JSON.stringify could write, and the fields include Object.prototype's names.
    const value = fc.oneof(fc.jsonValue().map((v) => JSON.stringify(v)), fc.double().map((v) => JSON.stringify(v)), fc.integer({ min: -4, max: 64 }).map(String), hostileJsonText());
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.oneof({ arbitrary: fc.constantFrom(...fields), weight: 4 }, { arbitrary: fc.constantFrom(...HOSTILE_JSON_KEYS), weight: 1 }), value), { minLength: 1, maxLength: 4 }), (edits) => {
        const edited = new Map(Object.entries(good).map(([k, v]) => [k, JSON.stringify(v)]));
        for (const [field, text] of edits) edited.set(field, text);
        let config: LlamaConfig | undefined;
        const code = psycheErrorCodeOf(() => {
          config = parseLlamaConfigJson(`{${[...edited].map(([k, v]) => `${JSON.stringify(k)}:${v}`).join(',')}}`);
        });
        if (config === undefined) return void expect(code).toBe(MODELING_INVALID_CONFIG);
        for (const f of fields.slice(0, 7)) expect(Number.isInteger(config[f as keyof LlamaConfig]) && (config[f as keyof LlamaConfig] as number) >= 1).toBe(true);
        expect(typeof config.rms_norm_eps === 'number' && config.rms_norm_eps > 0 && config.rms_norm_eps < 1).toBe(true);
        expect(typeof config.rope_theta === 'number' && Number.isFinite(config.rope_theta) && config.rope_theta > 1).toBe(true);
        expect(typeof config.initializer_range === 'number' && config.initializer_range > 0 && config.initializer_range < 10).toBe(true);
        expect(typeof config.tie_word_embeddings).toBe('boolean');
        expect(config.hidden_size % config.num_attention_heads === 0 && config.num_attention_heads % config.num_key_value_heads === 0).toBe(true);
        expect(parseLlamaConfigJson(JSON.stringify(llamaConfigJson(config)))).toEqual(config);
      }),
      { numRuns: 2000 },
    );
  });

  it('train-graph gradients match float64 central differences (GQA, untied head)', async () => {
    const c = tiny();
    const r = await modelGradCheck((mode) => buildLlamaGraph(c, { batch: 2, seq: 5, mode, dtype: 'float64' }), c.vocab_size, 2, 5);
    console.log(`llama untied: ${r.checked} partials, max rel error ${r.maxRel.toExponential(2)}`);
    expect(r.maxRel).toBeLessThan(1e-5);
  });

  it('train-graph gradients match float64 central differences (tied embeddings, MHA)', async () => {
    const c = tiny({ tie_word_embeddings: true, num_key_value_heads: 4, num_hidden_layers: 1 });
    const r = await modelGradCheck((mode) => buildLlamaGraph(c, { batch: 1, seq: 4, mode, dtype: 'float64' }), c.vocab_size, 1, 4);
    console.log(`llama tied: ${r.checked} partials, max rel error ${r.maxRel.toExponential(2)}`);
    expect(r.maxRel).toBeLessThan(1e-5);
  });

  it('MLP configs are checked like LlamaConfig: sizes, and an initializer_range that is not in (0, 10) (NaN used to give NaN weights)', () => {
    const base: MlpConfig = { vocab_size: 7, embedding_size: 4, hidden_size: 6 };
    // {toString: null}: printing it with String() threw a TypeError instead of the coded error.
    for (const bad of [{ vocab_size: 0 }, { hidden_size: 1.5 }, { initializer_range: Number.NaN }, { initializer_range: -0.1 }, { initializer_range: 0 }, { vocab_size: { toString: null } as unknown as number }]) {
      expect(psycheErrorCodeOf(() => buildMlpGraph({ ...base, ...bad }, { batch: 1, seq: 2, mode: 'eval' }))).toBe(MODELING_INVALID_CONFIG);
    }
    const params = initParameters(buildMlpGraph({ ...base, initializer_range: 0.5 }, { batch: 1, seq: 2, mode: 'eval' }).parameters, 1);
    expect([...params.values()].every((v) => v.every(Number.isFinite))).toBe(true);
  });

  it('MLP train-graph gradients match float64 central differences', async () => {
    const c: MlpConfig = { vocab_size: 7, embedding_size: 4, hidden_size: 6, initializer_range: 0.5 };
    const r = await modelGradCheck((mode) => buildMlpGraph(c, { batch: 2, seq: 3, mode, dtype: 'float64' }), 7, 2, 3);
    expect(r.maxRel).toBeLessThan(1e-5);
  });

  it('is causal: logits at t do not depend on tokens after t', async () => {
    const c = tiny();
    const m = buildLlamaGraph(c, { batch: 1, seq: 6, mode: 'eval' });
    const s = await ort.InferenceSession.create(encodeOnnxModel(m.graph));
    const params = initParameters(m.parameters, 1);
    const run = async (ids: bigint[]): Promise<Float32Array> => {
      const f: Record<string, ort.Tensor> = { input_ids: new ort.Tensor('int64', BigInt64Array.from(ids), [1, 6]), labels: new ort.Tensor('int64', new BigInt64Array(6), [1, 6]) };
      for (const p of m.parameters) f[p.name] = new ort.Tensor('float32', params.get(p.name)!, [...p.shape]);
      return (await s.run(f)).logits!.data as Float32Array;
    };
    const a = await run([1n, 2n, 3n, 4n, 5n, 6n]);
    const b = await run([1n, 2n, 3n, 9n, 0n, 7n]);
    const V = c.vocab_size;
    expect(Array.from(a.subarray(0, 3 * V))).toEqual(Array.from(b.subarray(0, 3 * V)));
    expect(Array.from(a.subarray(3 * V, 4 * V))).not.toEqual(Array.from(b.subarray(3 * V, 4 * V)));
    await s.release();
  });
});
