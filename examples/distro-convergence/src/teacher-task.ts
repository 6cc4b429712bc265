import { createRng } from '@psyche/core';
import { type Mlp, type MlpShape, createMlp, forward } from './mlp.ts';

/**
 * A synthetic classification task with a known, non-zero loss floor: inputs x ~ N(0, I_D), labels
 * drawn from softmax(teacher(x) · temperature) of a fixed random MLP. Each worker draws from its own
 * seeded stream, so workers see different data; the validation set is a separate stream.
 */
export interface Batch {
  readonly x: Float32Array; // [B, D]
  readonly labels: Uint8Array; // [B]
}

export class TeacherTask {
  readonly shape: MlpShape;
  private readonly teacher: Mlp;
  private readonly temperature: number;

  constructor(shape: MlpShape, seed: string, temperature = 2) {
    this.shape = shape;
    this.teacher = createMlp({ ...shape, hidden: 64 }, `${seed}/teacher`, 2);
    this.temperature = temperature;
  }

  /** A sampler for one data stream (a worker, or validation). */
  sampler(stream: string): (batch: number) => Batch {
    const rng = createRng(stream);
    return (batch) => {
      const { inputs: D, classes: K } = this.shape;
      const x = new Float32Array(batch * D);
      for (let i = 0; i < x.length; i++) x[i] = rng.nextGaussian();
      const logits = forward(this.teacher, x, batch);
      const labels = new Uint8Array(batch);
      for (let n = 0; n < batch; n++) {
        const weights = Array.from({ length: K }, (_, k) => Math.exp(this.temperature * logits[n * K + k]!));
        const total = weights.reduce((a, b) => a + b, 0);
        let u = rng.nextFloat() * total;
        let k = 0;
        while (k < K - 1 && u >= weights[k]!) u -= weights[k++]!;
        labels[n] = k;
      }
      return { x, labels };
    };
  }
}
