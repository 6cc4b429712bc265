import { MODELING_INVALID_CONFIG, PsycheError, describeValue } from '@psyche/core';
import type { DType } from './dtype.ts';
import { GraphBuilder, type Tensor } from './graph-builder.ts';
import type { LlamaConfig } from './llama-config.ts';
import type { OnnxGraph } from './onnx-model.ts';
import type { ParameterSpec } from './parameters.ts';

/**
 * Parameters of a LLaMA decoder with Hugging Face names and nn.Linear layout [out, in].
 * Init follows transformers' LlamaPreTrainedModel: linear and embedding weights N(0, initializer_range²),
 * RMSNorm weights 1. With tie_word_embeddings there is no lm_head.weight (the head reuses the embedding).
 */
export function llamaParameterSpecs(c: LlamaConfig): ParameterSpec[] {
  const d = c.hidden_size;
  const headDim = d / c.num_attention_heads;
  const kv = c.num_key_value_heads * headDim;
  const normal = { kind: 'normal', std: c.initializer_range } as const;
  const ones = { kind: 'ones' } as const;
  const specs: ParameterSpec[] = [{ name: 'model.embed_tokens.weight', shape: [c.vocab_size, d], init: normal }];
  for (let i = 0; i < c.num_hidden_layers; i++) {
    const p = `model.layers.${i}`;
    specs.push(
      { name: `${p}.self_attn.q_proj.weight`, shape: [d, d], init: normal },
      { name: `${p}.self_attn.k_proj.weight`, shape: [kv, d], init: normal },
      { name: `${p}.self_attn.v_proj.weight`, shape: [kv, d], init: normal },
      { name: `${p}.self_attn.o_proj.weight`, shape: [d, d], init: normal },
      { name: `${p}.mlp.gate_proj.weight`, shape: [c.intermediate_size, d], init: normal },
      { name: `${p}.mlp.up_proj.weight`, shape: [c.intermediate_size, d], init: normal },
      { name: `${p}.mlp.down_proj.weight`, shape: [d, c.intermediate_size], init: normal },
      { name: `${p}.input_layernorm.weight`, shape: [d], init: ones },
      { name: `${p}.post_attention_layernorm.weight`, shape: [d], init: ones },
    );
  }
  specs.push({ name: 'model.norm.weight', shape: [d], init: ones });
  if (!c.tie_word_embeddings) specs.push({ name: 'lm_head.weight', shape: [c.vocab_size, d], init: normal });
  return specs;
}

export interface LlamaGraphOptions {
  readonly batch: number;
  readonly seq: number;
  /** float32 for training; float64 for gradient checks. */
  readonly dtype?: 'float32' | 'float64';
  /** `train`: outputs `loss` and `grad.<name>` per parameter. `eval`: outputs `loss` and `logits` [B, T, V]. */
  readonly mode: 'train' | 'eval';
}

/** A built model graph and what to feed it. */
export interface ModelGraph {
  readonly graph: OnnxGraph;
  /** Parameter inputs, in graph order (input names are the HF parameter names). */
  readonly parameters: readonly ParameterSpec[];
  /** Gradient output name of each parameter (train graphs). */
  readonly gradientNames: readonly string[];
  /** Data inputs: `input_ids` and `labels`, int64 [B, T] (labels already shifted: labels[t] = ids[t+1]). */
  readonly dataInputs: readonly { readonly name: string; readonly shape: readonly number[] }[];
}

export const gradientName = (parameter: string): string => `grad.${parameter}`;

/** cos and sin tables [T, headDim] in Hugging Face's layout: cat(freqs, freqs), inv_freq_i = θ^(−2i/headDim). */
export function rotaryTables(seq: number, headDim: number, theta: number): { cos: Float64Array; sin: Float64Array } {
  const half = headDim / 2;
  const cos = new Float64Array(seq * headDim);
  const sin = new Float64Array(seq * headDim);
  for (let t = 0; t < seq; t++) {
    for (let i = 0; i < half; i++) {
      // f32 inv_freq as transformers computes it, so logits match a PyTorch float32 run closely.
      const invFreq = Math.fround(1 / Math.pow(theta, (2 * i) / headDim));
      const angle = t * invFreq;
      cos[t * headDim + i] = cos[t * headDim + i + half] = Math.cos(angle);
      sin[t * headDim + i] = sin[t * headDim + i + half] = Math.sin(angle);
    }
  }
  return { cos, sin };
}

function floatConst(g: GraphBuilder, data: Float64Array, dtype: DType, shape: number[]): Tensor {
  return g.constant(dtype === 'float64' ? data : Float32Array.from(data), dtype, shape);
}

/**
 * Builds the train or eval graph of a LLaMA decoder for a fixed batch and sequence length.
 * Shapes: B batch, T sequence, D hidden, H query heads, K key/value heads, R = H/K, d head size.
 */
export function buildLlamaGraph(c: LlamaConfig, options: LlamaGraphOptions): ModelGraph {
  const { batch: B, seq: T, mode } = options;
  const dtype = options.dtype ?? 'float32';
  if (!Number.isInteger(B) || B < 1 || !Number.isInteger(T) || T < 1 || T > c.max_position_embeddings) {
    // describeValue: a template literal on a symbol or {toString: null} batch threw a TypeError here.
    throw new PsycheError(MODELING_INVALID_CONFIG, { field: 'batch/seq', value: `${describeValue(B)}/${describeValue(T)}`, expected: `positive integers, seq ≤ max_position_embeddings (${c.max_position_embeddings})` }, `invalid batch ${describeValue(B)} or seq ${describeValue(T)}`);
  }
  const D = c.hidden_size;
  const H = c.num_attention_heads;
  const K = c.num_key_value_heads;
  const R = H / K;
  const d = D / H;
  const N = B * T;
  const g = new GraphBuilder(`llama-${mode}`);
  const ids = g.input('input_ids', 'int64', [B, T]);
  const labels = g.input('labels', 'int64', [B, T]);
  const specs = llamaParameterSpecs(c);
  const params = new Map(specs.map((s) => [s.name, g.input(s.name, dtype, s.shape)]));
  const p = (name: string): Tensor => params.get(name)!;

  const { cos: cosData, sin: sinData } = rotaryTables(T, d, c.rope_theta);
  const cos = floatConst(g, cosData, dtype, [T, d]);
  const sin = floatConst(g, sinData, dtype, [T, d]);
  // Causal mask added to the scores: 0 on and below the diagonal, −1e9 above (finite so 0·mask stays 0).
  const maskData = new Float64Array(T * T);
  for (let i = 0; i < T; i++) for (let j = i + 1; j < T; j++) maskData[i * T + j] = -1e9;
  const mask = floatConst(g, maskData, dtype, [T, T]);
  const scale = g.scalar(1 / Math.sqrt(d), dtype);

  // q·cos + rotate_half(q)·sin, rotate_half(x) = cat(−x[..., d/2:], x[..., :d/2])   x: [B, heads, T, d]
  const rope = (x: Tensor): Tensor => {
    const rotated = g.concat([g.neg(g.slice(x, -1, d / 2, d)), g.slice(x, -1, 0, d / 2)], -1);
    return g.add(g.mul(x, cos), g.mul(rotated, sin));
  };
  const heads = (x: Tensor, n: number): Tensor => g.transpose(g.reshape(x, [B, T, n, d]), [0, 2, 1, 3]); // [N, n·d] → [B, n, T, d]

  let h = g.reshape(g.gather(p('model.embed_tokens.weight'), ids), [N, D]); // [N, D]
  for (let i = 0; i < c.num_hidden_layers; i++) {
    const l = `model.layers.${i}`;
    const x = g.rmsNorm(h, p(`${l}.input_layernorm.weight`), c.rms_norm_eps);
    const q = rope(heads(g.linear(g.mul(x, scale), p(`${l}.self_attn.q_proj.weight`)), H)); // [B, H, T, d], pre-scaled by 1/√d
    const k = rope(heads(g.linear(x, p(`${l}.self_attn.k_proj.weight`)), K)); // [B, K, T, d]
    const v = heads(g.linear(x, p(`${l}.self_attn.v_proj.weight`)), K); // [B, K, T, d]
    // Grouped heads: query head j uses key/value head j / R. As [B, K, R, T, d] against [B, K, 1, T, d]
    // the batched matmul broadcasts over R, and its VJP sums the key/value gradients over the group.
    const qg = g.reshape(q, [B, K, R, T, d]);
    const kg = g.reshape(k, [B, K, 1, T, d]);
    const vg = g.reshape(v, [B, K, 1, T, d]);
    const scores = g.add(g.matmul(qg, g.transposeLast2(kg)), mask); // [B, K, R, T, T]
    const attn = g.matmul(g.softmax(scores, -1), vg); // [B, K, R, T, d]
    const merged = g.reshape(g.transpose(g.reshape(attn, [B, H, T, d]), [0, 2, 1, 3]), [N, D]);
    h = g.add(h, g.linear(merged, p(`${l}.self_attn.o_proj.weight`)));
    const y = g.rmsNorm(h, p(`${l}.post_attention_layernorm.weight`), c.rms_norm_eps);
    const gate = g.silu(g.linear(y, p(`${l}.mlp.gate_proj.weight`)));
    const up = g.linear(y, p(`${l}.mlp.up_proj.weight`));
    h = g.add(h, g.linear(g.mul(gate, up), p(`${l}.mlp.down_proj.weight`)));
  }
  h = g.rmsNorm(h, p('model.norm.weight'), c.rms_norm_eps);
  const logits = g.linear(h, p(c.tie_word_embeddings ? 'model.embed_tokens.weight' : 'lm_head.weight')); // [N, V]
  const loss = g.crossEntropy(logits, g.reshape(labels, [N]));
  g.output(loss, 'loss');
  const gradientNames: string[] = [];
  if (mode === 'train') {
    const grads = g.gradients(loss, specs.map((s) => p(s.name)));
    specs.forEach((s, i) => {
      gradientNames.push(gradientName(s.name));
      g.output(grads[i]!, gradientName(s.name));
    });
  } else {
    g.output(g.reshape(logits, [B, T, c.vocab_size]), 'logits');
  }
  return {
    graph: g.build(),
    parameters: specs,
    gradientNames,
    dataInputs: [
      { name: 'input_ids', shape: [B, T] },
      { name: 'labels', shape: [B, T] },
    ],
  };
}

/**
 * Model FLOPs of one train step (forward + backward ≈ 3 × forward), counting multiply-adds as 2:
 * 6 · tokens · (matmul parameters, head included, embedding lookup excluded) plus the attention
 * products 3 · 2 · 2 · B · T² · D per layer (full T², as the graph computes the masked half too).
 */
export function llamaTrainFlops(c: LlamaConfig, batch: number, seq: number): number {
  const d = c.hidden_size;
  const kv = (c.num_key_value_heads * d) / c.num_attention_heads;
  const perLayer = 2 * d * d + 2 * kv * d + 3 * d * c.intermediate_size;
  const matmulParams = c.num_hidden_layers * perLayer + c.vocab_size * d;
  const tokens = batch * seq;
  return 6 * tokens * matmulParams + c.num_hidden_layers * 12 * batch * seq * seq * d;
}
