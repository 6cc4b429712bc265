import { MODELING_INVALID_CONFIG, PsycheError, describeValue } from '@psyche/core';
import { GraphBuilder } from './graph-builder.ts';
import { gradientName, type ModelGraph } from './llama-model.ts';
import type { ParameterSpec } from './parameters.ts';

/** A small next-token MLP: embedding → Linear + ReLU → Linear → logits (a bigram model with a hidden layer). */
export interface MlpConfig {
  readonly vocab_size: number;
  readonly embedding_size: number;
  readonly hidden_size: number;
  readonly initializer_range?: number;
}

export function mlpParameterSpecs(c: MlpConfig): ParameterSpec[] {
  for (const f of ['vocab_size', 'embedding_size', 'hidden_size'] as const) {
    if (!Number.isInteger(c[f]) || c[f] < 1 || c[f] > 2 ** 24) {
      throw new PsycheError(MODELING_INVALID_CONFIG, { field: f, value: describeValue(c[f]), expected: 'an integer in [1, 2^24]' }, `MlpConfig.${f} is invalid`);
    }
  }
  const std = c.initializer_range ?? 0.02;
  // Same range as LlamaConfig.initializer_range: a NaN or negative std would initialize NaN or mirrored weights.
  if (typeof std !== 'number' || !(std > 0 && std < 10)) {
    throw new PsycheError(MODELING_INVALID_CONFIG, { field: 'initializer_range', value: describeValue(std), expected: 'a number in (0, 10)' }, 'MlpConfig.initializer_range is invalid');
  }
  const normal = { kind: 'normal', std } as const;
  const zeros = { kind: 'zeros' } as const;
  return [
    { name: 'embed.weight', shape: [c.vocab_size, c.embedding_size], init: normal },
    { name: 'fc1.weight', shape: [c.hidden_size, c.embedding_size], init: normal },
    { name: 'fc1.bias', shape: [c.hidden_size], init: zeros },
    { name: 'fc2.weight', shape: [c.vocab_size, c.hidden_size], init: normal },
    { name: 'fc2.bias', shape: [c.vocab_size], init: zeros },
  ];
}

/** Same inputs and outputs as {@link buildLlamaGraph}: input_ids, labels [B, T]; loss, grad.* or logits. */
export function buildMlpGraph(c: MlpConfig, options: { batch: number; seq: number; mode: 'train' | 'eval'; dtype?: 'float32' | 'float64' }): ModelGraph {
  const { batch: B, seq: T, mode } = options;
  const dtype = options.dtype ?? 'float32';
  const N = B * T;
  const specs = mlpParameterSpecs(c);
  const g = new GraphBuilder(`mlp-${mode}`);
  const ids = g.input('input_ids', 'int64', [B, T]);
  const labels = g.input('labels', 'int64', [B, T]);
  const p = new Map(specs.map((s) => [s.name, g.input(s.name, dtype, s.shape)]));
  const e = g.reshape(g.gather(p.get('embed.weight')!, ids), [N, c.embedding_size]);
  const hidden = g.relu(g.add(g.linear(e, p.get('fc1.weight')!), p.get('fc1.bias')!));
  const logits = g.add(g.linear(hidden, p.get('fc2.weight')!), p.get('fc2.bias')!);
  const loss = g.crossEntropy(logits, g.reshape(labels, [N]));
  g.output(loss, 'loss');
  const gradientNames: string[] = [];
  if (mode === 'train') {
    g.gradients(loss, specs.map((s) => p.get(s.name)!)).forEach((grad, i) => {
      gradientNames.push(gradientName(specs[i]!.name));
      g.output(grad, gradientName(specs[i]!.name));
    });
  } else {
    g.output(g.reshape(logits, [B, T, c.vocab_size]), 'logits');
  }
  return { graph: g.build(), parameters: specs, gradientNames, dataInputs: [{ name: 'input_ids', shape: [B, T] }, { name: 'labels', shape: [B, T] }] };
}
