// Gradient checking through real ONNX Runtime sessions: the backward graph's gradients against
// float64 central finite differences of the forward graph.
import * as ort from 'onnxruntime-node';
import { createRng, fillGaussian } from '@psyche/core';
import { GraphBuilder, type Tensor } from '../graph-builder.ts';
import { encodeOnnxModel } from '../onnx-model.ts';

export interface GradCheckInput {
  readonly name: string;
  readonly shape: readonly number[];
  /** Values to use instead of N(0,1) (e.g. positive for log/sqrt). */
  readonly init?: (i: number, gaussian: number) => number;
}

export interface GradCheckResult {
  readonly maxRelError: number;
  readonly maxAbsError: number;
  readonly checked: number;
}

async function session(g: GraphBuilder): Promise<ort.InferenceSession> {
  // 'basic': the extended fusions turn x·sigmoid(x) into com.microsoft.QuickGelu, which has only a
  // float32 CPU kernel, so float64 graphs with SiLU fail to load at the default level (measured, ORT 1.30).
  return ort.InferenceSession.create(encodeOnnxModel(g.build()), { graphOptimizationLevel: 'basic' });
}

/**
 * Builds loss = Σ f(inputs) ⊙ W (W a fixed random weight so every output element matters),
 * then compares d loss / d input from the autodiff graph with central differences (step h).
 */
export async function gradCheck(
  inputs: readonly GradCheckInput[],
  f: (g: GraphBuilder, xs: Tensor[], extras: Tensor[]) => Tensor,
  options: { seed?: number; h?: number; extraFeeds?: Record<string, ort.Tensor>; extraInputs?: (g: GraphBuilder) => Tensor[] } = {},
): Promise<GradCheckResult> {
  const rng = createRng(options.seed ?? 1);
  const build = (withGrads: boolean): GraphBuilder => {
    const g = new GraphBuilder('gradcheck');
    const xs = inputs.map((i) => g.input(i.name, 'float64', i.shape));
    const extras = options.extraInputs?.(g) ?? [];
    const y = f(g, xs, extras);
    const w = new Float64Array(y.size);
    const wr = createRng(12345);
    for (let i = 0; i < w.length; i++) w[i] = wr.nextFloat() * 2 - 1;
    const weighted = g.mul(y, g.constant(w, 'float64', y.shape));
    const loss = y.rank === 0 ? weighted : g.reduceSum(weighted, y.shape.map((_, i) => i));
    g.output(loss, 'loss');
    if (withGrads) g.gradients(loss, xs).forEach((d, i) => g.output(d, `grad_${inputs[i]!.name}`));
    return g;
  };
  const values = inputs.map((i) => {
    const size = i.shape.reduce((a, b) => a * b, 1);
    const gauss = fillGaussian(rng, new Float32Array(size));
    return Float64Array.from(gauss, (v, k) => (i.init ? i.init(k, v) : v));
  });
  const feeds = (): Record<string, ort.Tensor> => {
    const out: Record<string, ort.Tensor> = { ...options.extraFeeds };
    inputs.forEach((i, k) => (out[i.name] = new ort.Tensor('float64', values[k]!, [...i.shape])));
    return out;
  };
  const forward = await session(build(false));
  const backward = await session(build(true));
  const analytic = await backward.run(feeds());
  const h = options.h ?? 1e-5;
  let maxRelError = 0;
  let maxAbsError = 0;
  let checked = 0;
  for (let k = 0; k < inputs.length; k++) {
    const x = values[k]!;
    const grad = analytic[`grad_${inputs[k]!.name}`]!.data as Float64Array;
    for (let e = 0; e < x.length; e++) {
      const orig = x[e]!;
      x[e] = orig + h;
      const lp = ((await forward.run(feeds())).loss!.data as Float64Array)[0]!;
      x[e] = orig - h;
      const lm = ((await forward.run(feeds())).loss!.data as Float64Array)[0]!;
      x[e] = orig;
      const numeric = (lp - lm) / (2 * h);
      const abs = Math.abs(numeric - grad[e]!);
      maxAbsError = Math.max(maxAbsError, abs);
      maxRelError = Math.max(maxRelError, abs / Math.max(1, Math.abs(numeric), Math.abs(grad[e]!)));
      checked++;
    }
  }
  await forward.release();
  await backward.release();
  return { maxRelError, maxAbsError, checked };
}
