import { DISTRO_INVALID_CONFIG, DISTRO_NON_FINITE_VALUE, DISTRO_SHAPE_MISMATCH, PsycheError, describeValue } from '@psyche/core';
import type { Gradients, NamedTensor } from './named-tensor.ts';
import { assertLearningRate } from './sparse-momentum-internal.ts';

export interface AdamWConfig {
  readonly beta1?: number;
  readonly beta2?: number;
  readonly eps?: number;
  readonly weightDecay?: number;
}

/**
 * AdamW (Loshchilov & Hutter, ICLR 2019) with bias correction and decoupled weight decay: the
 * uncompressed baseline. In data-parallel training every worker applies it to the mean gradient,
 * which costs a dense all-reduce (2 bytes per parameter in bf16, per worker per step).
 */
export class AdamW {
  private readonly params: readonly NamedTensor[];
  private readonly m: Float32Array[];
  private readonly v: Float32Array[];
  private readonly beta1: number;
  private readonly beta2: number;
  private readonly eps: number;
  private readonly weightDecay: number;
  private t = 0;

  constructor(params: readonly NamedTensor[], config: AdamWConfig = {}) {
    this.params = params;
    this.beta1 = config.beta1 ?? 0.9;
    this.beta2 = config.beta2 ?? 0.999;
    this.eps = config.eps ?? 1e-8;
    this.weightDecay = config.weightDecay ?? 0;
    // typeof before each comparison: `>=` on a symbol or a {toString: null} from a JS caller throws a TypeError.
    for (const [field, value, ok] of [
      ['beta1', this.beta1, typeof this.beta1 === 'number' && this.beta1 >= 0 && this.beta1 < 1],
      ['beta2', this.beta2, typeof this.beta2 === 'number' && this.beta2 >= 0 && this.beta2 < 1],
      ['eps', this.eps, typeof this.eps === 'number' && this.eps > 0],
      ['weightDecay', this.weightDecay, typeof this.weightDecay === 'number' && this.weightDecay >= 0],
    ] as const) {
      if (!ok || !Number.isFinite(value)) throw new PsycheError(DISTRO_INVALID_CONFIG, { field, value: describeValue(value), expected: 'valid AdamW hyperparameter' }, `AdamW ${field}=${describeValue(value)} is invalid`);
    }
    this.m = params.map((p) => new Float32Array(p.data.length));
    this.v = params.map((p) => new Float32Array(p.data.length));
  }

  step(gradients: Gradients, lr: number): void {
    // Every gradient and the learning rate are checked before the first weight moves, so a bad one
    // cannot leave a half-applied step (or NaN in the moments) behind.
    assertLearningRate(lr);
    for (const p of this.params) {
      const g = gradients.get(p.name);
      if (g === undefined || g.length !== p.data.length) {
        throw new PsycheError(DISTRO_SHAPE_MISMATCH, { name: p.name, expected: String(p.data.length), received: g === undefined ? 'missing' : describeValue(g?.length) }, `gradient of ${p.name} missing or wrong length`);
      }
      for (let i = 0; i < g.length; i++) if (!Number.isFinite(g[i]!)) throw new PsycheError(DISTRO_NON_FINITE_VALUE, { name: p.name, index: i }, `gradient of ${p.name} is not finite at ${i}`);
    }
    this.t++;
    const c1 = 1 - this.beta1 ** this.t;
    const c2 = 1 - this.beta2 ** this.t;
    this.params.forEach((p, s) => {
      const g = gradients.get(p.name)!;
      const m = this.m[s]!;
      const v = this.v[s]!;
      const w = p.data;
      const decay = 1 - lr * this.weightDecay;
      for (let i = 0; i < w.length; i++) {
        const gi = g[i]!;
        m[i] = this.beta1 * m[i]! + (1 - this.beta1) * gi;
        v[i] = this.beta2 * v[i]! + (1 - this.beta2) * gi * gi;
        w[i] = w[i]! * decay - (lr * (m[i]! / c1)) / (Math.sqrt(v[i]! / c2) + this.eps);
      }
    });
  }
}
