import { MODELING_INVALID_CONFIG, PsycheError, describeValue } from '@psyche/core';

/**
 * A LLaMA-style decoder's configuration, with the field names of Hugging Face's `LlamaConfig`
 * so a `config.json` written from it loads in transformers' `LlamaForCausalLM`.
 */
export interface LlamaConfig {
  readonly vocab_size: number;
  readonly hidden_size: number;
  readonly intermediate_size: number;
  readonly num_hidden_layers: number;
  readonly num_attention_heads: number;
  /** Grouped-query attention: each key/value head serves num_attention_heads / num_key_value_heads query heads. */
  readonly num_key_value_heads: number;
  readonly max_position_embeddings: number;
  readonly rms_norm_eps: number;
  readonly rope_theta: number;
  readonly tie_word_embeddings: boolean;
  /** Standard deviation of the normal init of linear and embedding weights (HF default 0.02). */
  readonly initializer_range: number;
}

export type LlamaConfigInput = Pick<LlamaConfig, 'vocab_size' | 'hidden_size' | 'intermediate_size' | 'num_hidden_layers' | 'num_attention_heads'> &
  Partial<LlamaConfig>;

function invalid(field: string, value: unknown, expected: string): never {
  throw new PsycheError(MODELING_INVALID_CONFIG, { field, value: describeValue(value), expected }, `LlamaConfig.${field} = ${describeValue(value)}: expected ${expected}`);
}

/** Fills Hugging Face's defaults and checks every field (divisibility of heads, even head size for RoPE). */
export function llamaConfig(input: LlamaConfigInput): LlamaConfig {
  const c: LlamaConfig = {
    num_key_value_heads: input.num_attention_heads,
    max_position_embeddings: 2048,
    rms_norm_eps: 1e-6,
    rope_theta: 10000,
    tie_word_embeddings: false,
    initializer_range: 0.02,
    ...input,
  };
  const positive = ['vocab_size', 'hidden_size', 'intermediate_size', 'num_hidden_layers', 'num_attention_heads', 'num_key_value_heads', 'max_position_embeddings'] as const;
  for (const f of positive) if (!Number.isInteger(c[f]) || c[f] < 1 || c[f] > 2 ** 24) invalid(f, c[f], 'an integer in [1, 2^24]');
  if (c.hidden_size % c.num_attention_heads !== 0) invalid('hidden_size', c.hidden_size, `a multiple of num_attention_heads (${c.num_attention_heads})`);
  if ((c.hidden_size / c.num_attention_heads) % 2 !== 0) invalid('hidden_size', c.hidden_size, 'an even head size (hidden_size / num_attention_heads) for rotary embeddings');
  if (c.num_attention_heads % c.num_key_value_heads !== 0) invalid('num_key_value_heads', c.num_key_value_heads, `a divisor of num_attention_heads (${c.num_attention_heads})`);
  // typeof checks first: a config.json string such as "1e-6" compares as a number but is not one.
  if (typeof c.rms_norm_eps !== 'number' || !(c.rms_norm_eps > 0 && c.rms_norm_eps < 1)) invalid('rms_norm_eps', c.rms_norm_eps, 'a number in (0, 1)');
  if (typeof c.rope_theta !== 'number' || !(c.rope_theta > 1 && Number.isFinite(c.rope_theta))) invalid('rope_theta', c.rope_theta, 'a finite number > 1');
  if (typeof c.initializer_range !== 'number' || !(c.initializer_range > 0 && c.initializer_range < 10)) invalid('initializer_range', c.initializer_range, 'a number in (0, 10)');
  if (typeof c.tie_word_embeddings !== 'boolean') invalid('tie_word_embeddings', c.tie_word_embeddings, 'a boolean');
  return c;
}

/** The `config.json` transformers expects next to `model.safetensors`. */
export function llamaConfigJson(config: LlamaConfig): Record<string, unknown> {
  return {
    architectures: ['LlamaForCausalLM'],
    model_type: 'llama',
    hidden_act: 'silu',
    attention_bias: false,
    mlp_bias: false,
    torch_dtype: 'float32',
    head_dim: config.hidden_size / config.num_attention_heads,
    ...config,
  };
}

/** Parses a Hugging Face `config.json` (extra fields are ignored; missing optional ones get defaults). */
export function parseLlamaConfigJson(text: string): LlamaConfig {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new PsycheError(MODELING_INVALID_CONFIG, { field: 'config.json', value: text.slice(0, 40), expected: 'JSON' }, 'config.json is not JSON', { cause: e });
  }
  if (typeof raw !== 'object' || raw === null) invalid('config.json', raw, 'an object');
  const o = raw as Record<string, unknown>;
  const pick: Record<string, unknown> = {};
  for (const f of ['vocab_size', 'hidden_size', 'intermediate_size', 'num_hidden_layers', 'num_attention_heads', 'num_key_value_heads', 'max_position_embeddings', 'rms_norm_eps', 'rope_theta', 'tie_word_embeddings', 'initializer_range']) {
    if (o[f] !== undefined && o[f] !== null) pick[f] = o[f];
  }
  return llamaConfig(pick as unknown as LlamaConfigInput);
}
