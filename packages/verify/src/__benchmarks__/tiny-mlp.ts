import { createRng, fillGaussian } from '@psyche/core';
import type { NamedTensor } from '@psyche/distro';

// A tiny regression MLP with hand-written gradients, so honest nodes in the calibration produce
// real DisTrO results from real gradients. x: [B, IN] → tanh(x·W1 + b1): [B, HIDDEN] → ·W2 + b2: [B, OUT].
export const IN = 32;
export const HIDDEN = 64;
export const OUT = 16;
export const BATCH = 32;

export interface MlpWeights {
  readonly w1: Float32Array; // [IN, HIDDEN] row-major
  readonly b1: Float32Array; // [HIDDEN]
  readonly w2: Float32Array; // [HIDDEN, OUT]
  readonly b2: Float32Array; // [OUT]
}

export function initMlp(seed: string): MlpWeights {
  const rng = createRng(seed);
  return {
    w1: fillGaussian(rng, new Float32Array(IN * HIDDEN), 1 / Math.sqrt(IN)),
    b1: new Float32Array(HIDDEN),
    w2: fillGaussian(rng, new Float32Array(HIDDEN * OUT), 1 / Math.sqrt(HIDDEN)),
    b2: new Float32Array(OUT),
  };
}

export function mlpParameters(weights: MlpWeights): NamedTensor[] {
  return [
    { name: 'w1', shape: [IN, HIDDEN], data: weights.w1 },
    { name: 'b1', shape: [HIDDEN], data: weights.b1 },
    { name: 'w2', shape: [HIDDEN, OUT], data: weights.w2 },
    { name: 'b2', shape: [OUT], data: weights.b2 },
  ];
}

export function copyMlp(weights: MlpWeights): MlpWeights {
  return { w1: weights.w1.slice(), b1: weights.b1.slice(), w2: weights.w2.slice(), b2: weights.b2.slice() };
}

export interface Batch {
  readonly x: Float32Array; // [BATCH, IN]
  readonly y: Float32Array; // [BATCH, OUT]
}

function forward(weights: MlpWeights, x: Float32Array, row: number, hidden: Float32Array, out: Float32Array): void {
  for (let j = 0; j < HIDDEN; j++) {
    let sum = weights.b1[j]!;
    for (let i = 0; i < IN; i++) sum += x[row * IN + i]! * weights.w1[i * HIDDEN + j]!;
    hidden[j] = Math.tanh(sum);
  }
  for (let o = 0; o < OUT; o++) {
    let sum = weights.b2[o]!;
    for (let j = 0; j < HIDDEN; j++) sum += hidden[j]! * weights.w2[j * OUT + o]!;
    out[o] = sum;
  }
}

/** Batch `batchId` of the run: inputs N(0, 1), targets from a fixed random teacher MLP plus noise. */
export function makeBatch(runSeed: string, batchId: number): Batch {
  const teacher = initMlp(`${runSeed}/teacher`);
  const rng = createRng(`${runSeed}/batch/${batchId}`);
  const x = fillGaussian(rng, new Float32Array(BATCH * IN));
  const y = new Float32Array(BATCH * OUT);
  const hidden = new Float32Array(HIDDEN);
  const out = new Float32Array(OUT);
  for (let b = 0; b < BATCH; b++) {
    forward(teacher, x, b, hidden, out);
    for (let o = 0; o < OUT; o++) y[b * OUT + o] = out[o]! + 0.01 * rng.nextGaussian();
  }
  return { x, y };
}

export function mlpLoss(weights: MlpWeights, batch: Batch): number {
  const hidden = new Float32Array(HIDDEN);
  const out = new Float32Array(OUT);
  let loss = 0;
  for (let b = 0; b < BATCH; b++) {
    forward(weights, batch.x, b, hidden, out);
    for (let o = 0; o < OUT; o++) loss += 0.5 * (out[o]! - batch.y[b * OUT + o]!) ** 2;
  }
  return loss / BATCH;
}

/**
 * Gradients of the mean loss ½‖y − t‖² over the batch. The batch is split into `shards` parts whose
 * float32 partial gradients are added in order, as `shards` threads would: a different shard count
 * changes the rounding, which is what honest recomputation on other hardware looks like.
 */
export function mlpGradients(weights: MlpWeights, batch: Batch, shards: number): Map<string, Float32Array> {
  const total = { w1: new Float32Array(IN * HIDDEN), b1: new Float32Array(HIDDEN), w2: new Float32Array(HIDDEN * OUT), b2: new Float32Array(OUT) };
  const hidden = new Float32Array(HIDDEN);
  const out = new Float32Array(OUT);
  const dOut = new Float32Array(OUT);
  const dPre = new Float32Array(HIDDEN);
  const perShard = Math.ceil(BATCH / shards);
  for (let start = 0; start < BATCH; start += perShard) {
    const part = { w1: new Float32Array(IN * HIDDEN), b1: new Float32Array(HIDDEN), w2: new Float32Array(HIDDEN * OUT), b2: new Float32Array(OUT) };
    for (let b = start; b < Math.min(BATCH, start + perShard); b++) {
      forward(weights, batch.x, b, hidden, out);
      for (let o = 0; o < OUT; o++) dOut[o] = (out[o]! - batch.y[b * OUT + o]!) / BATCH;
      for (let j = 0; j < HIDDEN; j++) {
        let dh = 0;
        for (let o = 0; o < OUT; o++) {
          part.w2[j * OUT + o] = part.w2[j * OUT + o]! + hidden[j]! * dOut[o]!;
          dh += dOut[o]! * weights.w2[j * OUT + o]!;
        }
        dPre[j] = dh * (1 - hidden[j]! * hidden[j]!);
      }
      for (let o = 0; o < OUT; o++) part.b2[o] = part.b2[o]! + dOut[o]!;
      for (let i = 0; i < IN; i++) {
        const xi = batch.x[b * IN + i]!;
        for (let j = 0; j < HIDDEN; j++) part.w1[i * HIDDEN + j] = part.w1[i * HIDDEN + j]! + xi * dPre[j]!;
      }
      for (let j = 0; j < HIDDEN; j++) part.b1[j] = part.b1[j]! + dPre[j]!;
    }
    for (const name of ['w1', 'b1', 'w2', 'b2'] as const) for (let i = 0; i < total[name].length; i++) total[name][i] = total[name][i]! + part[name][i]!;
  }
  return new Map(Object.entries(total));
}
