import { createRng, type Rng } from '@psyche/core';
import type { NamedTensor } from '@psyche/distro';

/**
 * A 3-layer tanh MLP with hand-written gradients: D → H → H → K, weights [out, in] as
 * PyTorch's Linear. B = batch, D = input, H = hidden, K = classes. Everything float32.
 */
export interface MlpShape {
  readonly inputs: number; // D
  readonly hidden: number; // H
  readonly classes: number; // K
}

export interface Mlp {
  readonly shape: MlpShape;
  readonly params: NamedTensor[];
}

/** Seeded init: weights N(0, 1/fan_in) (LeCun normal, matched to tanh), biases 0. */
export function createMlp(shape: MlpShape, seed: number | string, gain = 1): Mlp {
  const rng = createRng(seed);
  const { inputs: D, hidden: H, classes: K } = shape;
  const dense = (name: string, out: number, inn: number): NamedTensor[] => [
    { name: `${name}.weight`, shape: [out, inn], data: gaussian(rng, out * inn, gain / Math.sqrt(inn)) },
    { name: `${name}.bias`, shape: [out], data: new Float32Array(out) },
  ];
  return { shape, params: [...dense('fc1', H, D), ...dense('fc2', H, H), ...dense('head', K, H)] };
}

function gaussian(rng: Rng, n: number, std: number): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = std * rng.nextGaussian();
  return out;
}

/** y[B, out] = x[B, in] · Wᵀ + b */
function linear(x: Float32Array, w: Float32Array, b: Float32Array, batch: number, inn: number, out: number): Float32Array {
  const y = new Float32Array(batch * out);
  for (let n = 0; n < batch; n++) {
    for (let o = 0; o < out; o++) {
      let sum = b[o]!;
      const wo = o * inn;
      const xn = n * inn;
      for (let i = 0; i < inn; i++) sum += x[xn + i]! * w[wo + i]!;
      y[n * out + o] = sum;
    }
  }
  return y;
}

/** Backward of linear: given dy[B, out], accumulates dW[out, in] = dyᵀ·x, db = Σ dy, and returns dx[B, in] = dy·W. */
function linearBackward(dy: Float32Array, x: Float32Array, w: Float32Array, batch: number, inn: number, out: number, dw: Float32Array, db: Float32Array): Float32Array {
  const dx = new Float32Array(batch * inn);
  for (let n = 0; n < batch; n++) {
    for (let o = 0; o < out; o++) {
      const g = dy[n * out + o]!;
      if (g === 0) continue;
      db[o]! += g;
      const wo = o * inn;
      const xn = n * inn;
      for (let i = 0; i < inn; i++) {
        dw[wo + i]! += g * x[xn + i]!;
        dx[xn + i]! += g * w[wo + i]!;
      }
    }
  }
  return dx;
}

function tanhInPlace(x: Float32Array): Float32Array {
  for (let i = 0; i < x.length; i++) x[i] = Math.tanh(x[i]!);
  return x;
}

/** dpre = dh ⊙ (1 − h²) */
function tanhBackward(dh: Float32Array, h: Float32Array): Float32Array {
  for (let i = 0; i < dh.length; i++) dh[i] = dh[i]! * (1 - h[i]! * h[i]!);
  return dh;
}

function tensors(mlp: Mlp): Float32Array[] {
  return mlp.params.map((p) => p.data);
}

/** Logits [B, K]. */
export function forward(mlp: Mlp, x: Float32Array, batch: number): Float32Array {
  const { inputs: D, hidden: H, classes: K } = mlp.shape;
  const [w1, b1, w2, b2, w3, b3] = tensors(mlp) as [Float32Array, Float32Array, Float32Array, Float32Array, Float32Array, Float32Array];
  const h1 = tanhInPlace(linear(x, w1, b1, batch, D, H));
  const h2 = tanhInPlace(linear(h1, w2, b2, batch, H, H));
  return linear(h2, w3, b3, batch, H, K);
}

/** Mean cross-entropy of logits [B, K] against labels, computed stably via log-sum-exp. */
export function crossEntropy(logits: Float32Array, labels: Uint8Array, classes: number): number {
  let total = 0;
  for (let n = 0; n < labels.length; n++) {
    let max = -Infinity;
    for (let k = 0; k < classes; k++) max = Math.max(max, logits[n * classes + k]!);
    let sum = 0;
    for (let k = 0; k < classes; k++) sum += Math.exp(logits[n * classes + k]! - max);
    total += max + Math.log(sum) - logits[n * classes + labels[n]!]!;
  }
  return total / labels.length;
}

/** Loss and the gradient of every parameter (by name) for one batch. */
export function lossAndGradients(mlp: Mlp, x: Float32Array, labels: Uint8Array): { loss: number; gradients: Map<string, Float32Array> } {
  const { inputs: D, hidden: H, classes: K } = mlp.shape;
  const batch = labels.length;
  const [w1, b1, w2, b2, w3, b3] = tensors(mlp) as [Float32Array, Float32Array, Float32Array, Float32Array, Float32Array, Float32Array];
  const h1 = tanhInPlace(linear(x, w1, b1, batch, D, H));
  const h2 = tanhInPlace(linear(h1, w2, b2, batch, H, H));
  const logits = linear(h2, w3, b3, batch, H, K);
  const loss = crossEntropy(logits, labels, K);
  // dlogits = (softmax − onehot) / B
  const dlogits = new Float32Array(batch * K);
  for (let n = 0; n < batch; n++) {
    let max = -Infinity;
    for (let k = 0; k < K; k++) max = Math.max(max, logits[n * K + k]!);
    let sum = 0;
    for (let k = 0; k < K; k++) sum += Math.exp(logits[n * K + k]! - max);
    for (let k = 0; k < K; k++) dlogits[n * K + k] = (Math.exp(logits[n * K + k]! - max) / sum - (k === labels[n] ? 1 : 0)) / batch;
  }
  const grads = mlp.params.map((p) => new Float32Array(p.data.length));
  const [dw1, db1, dw2, db2, dw3, db3] = grads as [Float32Array, Float32Array, Float32Array, Float32Array, Float32Array, Float32Array];
  const dh2 = tanhBackward(linearBackward(dlogits, h2, w3, batch, H, K, dw3, db3), h2);
  const dh1 = tanhBackward(linearBackward(dh2, h1, w2, batch, H, H, dw2, db2), h1);
  linearBackward(dh1, x, w1, batch, D, H, dw1, db1);
  return { loss, gradients: new Map(mlp.params.map((p, i) => [p.name, grads[i]!])) };
}
