import { MODELING_INVALID_CONFIG, MODELING_INVALID_INPUT, PsycheError, type Rng, describeValue } from '@psyche/core';

export type SamplingOptions =
  | { readonly strategy: 'greedy' }
  /** Nucleus sampling: the smallest set of tokens whose probability reaches topP, after temperature. */
  | { readonly strategy: 'top-p'; readonly topP: number; readonly temperature?: number };

function invalid(field: string, value: number, expected: string): never {
  throw new PsycheError(MODELING_INVALID_CONFIG, { field, value: describeValue(value), expected }, `sampling ${field} = ${describeValue(value)}: expected ${expected}`);
}

function invalidInput(what: string, received: string, expected: string): never {
  throw new PsycheError(MODELING_INVALID_INPUT, { what, expected, received }, `${what} = ${received}: expected ${expected}`);
}

/**
 * Picks the next token from one row of logits [V]. Greedy ties go to the lower id. A NaN logit is
 * MODELING_INVALID_INPUT (it would silently lose or win every comparison), and so is a top-p row
 * without a finite maximum (all −∞, or a +∞): its probabilities are undefined.
 */
export function sampleToken(logits: ArrayLike<number>, options: SamplingOptions, rng?: Rng): number {
  const V = logits.length;
  if (V === 0) invalid('vocab', 0, 'at least one logit');
  let max = -Infinity;
  for (let i = 0; i < V; i++) max = Math.max(max, logits[i]!); // NaN if any logit is NaN
  if (Number.isNaN(max)) invalidInput('logits', 'a row with NaN', 'no NaN');
  if (options.strategy === 'greedy') {
    let best = 0;
    for (let i = 1; i < V; i++) if (logits[i]! > logits[best]!) best = i;
    return best;
  }
  const { topP } = options;
  const temperature = options.temperature ?? 1;
  // typeof first: `>` on a symbol or {toString: null} from a JS caller throws a TypeError.
  if (!(typeof topP === 'number' && topP > 0 && topP <= 1)) invalid('topP', topP, 'a number in (0, 1]');
  if (!(typeof temperature === 'number' && temperature > 0 && Number.isFinite(temperature))) invalid('temperature', temperature, 'a finite number > 0');
  if (!rng) invalid('rng', 0, 'a seeded Rng for top-p sampling');
  if (!Number.isFinite(max)) invalidInput('logits maximum', String(max), 'a finite number for top-p (not all −∞, no +∞)');
  const probs = new Float64Array(V);
  let sum = 0;
  for (let i = 0; i < V; i++) sum += probs[i] = Math.exp((logits[i]! - max) / temperature);
  const order = Array.from({ length: V }, (_, i) => i).sort((a, b) => probs[b]! - probs[a]! || a - b);
  let kept = 0;
  let mass = 0;
  while (kept < V && mass < topP * sum) mass += probs[order[kept++]!]!;
  let r = rng.nextFloat() * mass;
  for (let j = 0; j < kept; j++) {
    r -= probs[order[j]!]!;
    if (r <= 0) return order[j]!;
  }
  return order[kept - 1]!;
}

export interface GenerateOptions {
  /** Runs the model on a full window of `contextLength` token ids (int64 [1, T]) → logits [T · V]. */
  readonly forward: (ids: BigInt64Array) => Promise<Float32Array>;
  readonly contextLength: number;
  readonly vocabSize: number;
  readonly maxNewTokens: number;
  readonly sampling: SamplingOptions;
  readonly rng?: Rng;
  /** Fills positions after the last real token (causal attention ignores them). */
  readonly padId?: number;
}

/**
 * Autoregressive generation with a fixed-length graph: the window holds the last `contextLength`
 * tokens, right-padded; the next token is sampled from the logits at the last real position.
 */
export async function generate(prompt: readonly number[], o: GenerateOptions): Promise<number[]> {
  if (prompt.length === 0) invalid('prompt length', 0, 'at least one token');
  for (const [field, value, max] of [['contextLength', o.contextLength, 2 ** 24], ['vocabSize', o.vocabSize, 2 ** 32 - 1], ['maxNewTokens', o.maxNewTokens, 2 ** 31]] as const) {
    if (!Number.isSafeInteger(value) || value < (field === 'maxNewTokens' ? 0 : 1) || value > max) invalid(field, value, `an integer in [${field === 'maxNewTokens' ? 0 : 1}, ${max}]`);
  }
  // Ids outside the vocabulary would be wrapped (ONNX Gather takes negative indices) or fail deep inside the runtime.
  for (const [i, t] of [...prompt, o.padId ?? 0].entries()) {
    if (!Number.isSafeInteger(t) || t < 0 || t >= o.vocabSize) invalidInput(i < prompt.length ? `prompt[${i}]` : 'padId', describeValue(t), `a token id in [0, ${o.vocabSize})`);
  }
  const tokens = [...prompt];
  for (let step = 0; step < o.maxNewTokens; step++) {
    const window = tokens.slice(-o.contextLength);
    const ids = new BigInt64Array(o.contextLength).fill(BigInt(o.padId ?? 0));
    window.forEach((t, i) => (ids[i] = BigInt(t)));
    const logits = await o.forward(ids);
    if (logits?.length !== o.contextLength * o.vocabSize) invalidInput('logits length', describeValue(logits?.length), `contextLength · vocabSize = ${o.contextLength * o.vocabSize}`);
    const last = window.length - 1;
    tokens.push(sampleToken(logits.subarray(last * o.vocabSize, (last + 1) * o.vocabSize), o.sampling, o.rng));
  }
  return tokens.slice(prompt.length);
}
