import { MODELING_INVALID_CONFIG, PsycheError, createRng, describeShape, describeValue, fillGaussian, type RngSeed } from '@psyche/core';

/** How one parameter is shaped and initialized. */
export interface ParameterSpec {
  /** Hugging Face name, e.g. `model.layers.0.self_attn.q_proj.weight`. */
  readonly name: string;
  readonly shape: readonly number[];
  /** `normal`: N(0, std²); `ones`: 1 (norm weights); `zeros`: 0 (biases). */
  readonly init: { readonly kind: 'normal'; readonly std: number } | { readonly kind: 'ones' } | { readonly kind: 'zeros' };
}

/** Parameters by name, float32, row-major. */
export type Parameters = Map<string, Float32Array>;

export function parameterCount(specs: readonly ParameterSpec[]): number {
  return specs.reduce((n, s) => n + s.shape.reduce((a, b) => a * b, 1), 0);
}

/** Largest parameter tensor initParameters allocates (2^31 float32 elements = 8 GiB). */
export const MAX_PARAMETER_ELEMENTS = 2 ** 31;

/**
 * Seeded initialization. Each parameter gets its own xoshiro128** stream seeded by
 * `${seed}/${name}`, so a parameter's values do not depend on which other parameters exist or
 * their order; normal draws use fillGaussian from @psyche/core.
 */
export function initParameters(specs: readonly ParameterSpec[], seed: RngSeed): Parameters {
  // Checked before allocating anything: a config with huge sizes must fail with a code, not a RangeError half-way.
  // The seed's type too: String(seed) below throws a TypeError for a {toString: null}.
  if (!(typeof seed === 'string' || typeof seed === 'number' || typeof seed === 'bigint' || seed instanceof Uint8Array)) {
    throw new PsycheError(MODELING_INVALID_CONFIG, { field: 'seed', value: describeValue(seed), expected: 'a number, bigint, string or Uint8Array' }, `initParameters seed: expected a number, bigint, string or Uint8Array, got ${describeValue(seed)}`);
  }
  for (const s of specs) {
    // Dims checked before the product and describeShape, not JSON.stringify: a spec's shape from a JS
    // caller can be a non-array (reduce threw a TypeError) or an array nested 6,000 deep (stack overflow).
    const dimsOk = Array.isArray(s.shape) && s.shape.every((d) => Number.isSafeInteger(d) && d >= 0);
    if (!dimsOk || s.shape.reduce((a, b) => a * b, 1) > MAX_PARAMETER_ELEMENTS) {
      throw new PsycheError(
        MODELING_INVALID_CONFIG,
        { field: `${s.name}.shape`, value: describeShape(s.shape), expected: `non-negative integer dims, at most ${MAX_PARAMETER_ELEMENTS} elements` },
        `parameter ${s.name} has shape ${describeShape(s.shape)}: expected non-negative integer dims and at most ${MAX_PARAMETER_ELEMENTS} elements`,
      );
    }
  }
  const out: Parameters = new Map();
  for (const s of specs) {
    const data = new Float32Array(s.shape.reduce((a, b) => a * b, 1));
    if (s.init.kind === 'normal') fillGaussian(createRng(`${String(seed)}/${s.name}`), data, s.init.std);
    else if (s.init.kind === 'ones') data.fill(1);
    out.set(s.name, data);
  }
  return out;
}
