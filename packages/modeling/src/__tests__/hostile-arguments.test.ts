import { createRng, MODELING_INVALID_CONFIG, MODELING_INVALID_INPUT, MODELING_SAFETENSORS_MALFORMED, MODELING_SHAPE_MISMATCH, psycheErrorCodeOf, psycheErrorCodeOfAsync } from '@psyche/core';
import { describe, expect, it } from 'vitest';
import { GraphBuilder } from '../graph-builder.ts';
import { llamaConfig } from '../llama-config.ts';
import { buildLlamaGraph } from '../llama-model.ts';
import { initParameters, type ParameterSpec } from '../parameters.ts';
import { encodeSafetensors, type SafetensorsTensor } from '../safetensors.ts';
import { generate, sampleToken } from '../sampling.ts';

// {toString: null} (as JSON.parse makes it) and a symbol: String(), a template literal or `<` on either
// throws a TypeError. An array nested 6,000 deep overflows the stack in JSON.stringify or join; [1n] is a
// TypeError there. Each of these reached such a call before the function's own check.
const hostile = [{ toString: null }, Symbol('s')] as unknown[];
const deepArray = JSON.parse(`${'['.repeat(6000)}${']'.repeat(6000)}`) as unknown;
const hostileShapes = [...hostile, deepArray, [2, deepArray], [1n], [{ toString: null }], [Symbol('s')]] as unknown[];

describe('modeling arguments from a JS caller that String(), JSON.stringify or `<` cannot take', () => {
  it('GraphBuilder: shapes, axes, permutations, slice bounds and constants give the coded error', () => {
    const g = new GraphBuilder();
    const x = g.input('x', 'float32', [2, 3]);
    const labels = g.input('labels', 'int64', [2]);
    for (const bad of hostileShapes) {
      const shape = bad as number[];
      expect(psycheErrorCodeOf(() => g.input('y', 'float32', shape))).toBe(MODELING_SHAPE_MISMATCH);
      expect(psycheErrorCodeOf(() => g.constant(new Float32Array(1), 'float32', shape))).toBe(MODELING_SHAPE_MISMATCH);
      expect(psycheErrorCodeOf(() => g.reshape(x, shape))).toBe(MODELING_SHAPE_MISMATCH);
      expect(psycheErrorCodeOf(() => g.transpose(x, shape))).toBe(MODELING_SHAPE_MISMATCH);
      expect(psycheErrorCodeOf(() => g.expand(x, shape))).toBe(MODELING_SHAPE_MISMATCH);
      // Axes: a non-array is a shape error, an array with a bad axis the axis's config error.
      expect(psycheErrorCodeOf(() => g.reduceSum(x, shape))).toBe(Array.isArray(bad) ? MODELING_INVALID_CONFIG : MODELING_SHAPE_MISMATCH);
    }
    for (const bad of hostile) {
      const n = bad as number;
      expect(psycheErrorCodeOf(() => g.softmax(x, n))).toBe(MODELING_INVALID_CONFIG);
      expect(psycheErrorCodeOf(() => g.slice(x, n, 0, 1))).toBe(MODELING_INVALID_CONFIG);
      expect(psycheErrorCodeOf(() => g.concat([x, x], n))).toBe(MODELING_INVALID_CONFIG);
      expect(psycheErrorCodeOf(() => g.reduceMean(x, [n]))).toBe(MODELING_INVALID_CONFIG);
      expect(psycheErrorCodeOf(() => g.slice(x, 0, n, 1))).toBe(MODELING_SHAPE_MISMATCH);
      expect(psycheErrorCodeOf(() => g.slice(x, 0, 0, n))).toBe(MODELING_SHAPE_MISMATCH);
      expect(psycheErrorCodeOf(() => g.scale(x, n))).toBe(MODELING_INVALID_CONFIG);
      expect(psycheErrorCodeOf(() => g.oneHot(labels, n, 'float32'))).toBe(MODELING_INVALID_CONFIG);
      expect(psycheErrorCodeOf(() => g.constant({ length: bad } as unknown as Float32Array, 'float32', [1]))).toBe(MODELING_SHAPE_MISMATCH);
    }
  });

  it('buildLlamaGraph: a batch or seq of {toString: null} or a symbol is MODELING_INVALID_CONFIG', () => {
    const config = llamaConfig({ vocab_size: 11, hidden_size: 8, intermediate_size: 12, num_hidden_layers: 1, num_attention_heads: 2, num_key_value_heads: 2 });
    for (const bad of hostile) {
      expect(psycheErrorCodeOf(() => buildLlamaGraph(config, { batch: bad as number, seq: 4, mode: 'train' }))).toBe(MODELING_INVALID_CONFIG);
      expect(psycheErrorCodeOf(() => buildLlamaGraph(config, { batch: 1, seq: bad as number, mode: 'eval' }))).toBe(MODELING_INVALID_CONFIG);
    }
  });

  it('initParameters: a spec shape or seed of any kind is MODELING_INVALID_CONFIG', () => {
    for (const bad of hostileShapes) {
      const spec = { name: 'w', shape: bad, init: { kind: 'zeros' } } as unknown as ParameterSpec;
      expect(psycheErrorCodeOf(() => initParameters([spec], 1))).toBe(MODELING_INVALID_CONFIG);
    }
    for (const bad of hostile) {
      expect(psycheErrorCodeOf(() => initParameters([{ name: 'w', shape: [2], init: { kind: 'zeros' } }], bad as number))).toBe(MODELING_INVALID_CONFIG);
    }
  });

  it('encodeSafetensors: a tensor with a bad name, dtype, shape or buffer is MODELING_SAFETENSORS_MALFORMED', () => {
    const good: SafetensorsTensor = { dtype: 'F32', shape: [1], bytes: new Uint8Array(4) };
    const cases: [unknown, unknown][] = [];
    for (const bad of hostileShapes) cases.push(['w', { ...good, shape: bad }]);
    for (const bad of hostile) cases.push([bad, good], ['w', { ...good, dtype: bad }], ['w', { ...good, bytes: { length: bad } }]);
    for (const [name, tensor] of cases) {
      expect(psycheErrorCodeOf(() => encodeSafetensors([[name as string, tensor as SafetensorsTensor]]))).toBe(MODELING_SAFETENSORS_MALFORMED);
    }
  });

  it('sampleToken: a topP or temperature that `>` cannot compare is MODELING_INVALID_CONFIG', () => {
    const logits = Float32Array.of(1, 2, 3);
    for (const bad of hostile) {
      expect(psycheErrorCodeOf(() => sampleToken(logits, { strategy: 'top-p', topP: bad as number }, createRng(1)))).toBe(MODELING_INVALID_CONFIG);
      expect(psycheErrorCodeOf(() => sampleToken(logits, { strategy: 'top-p', topP: 0.9, temperature: bad as number }, createRng(1)))).toBe(MODELING_INVALID_CONFIG);
    }
  });

  it('generate: logits whose length String() cannot print are MODELING_INVALID_INPUT', async () => {
    for (const bad of hostile) {
      const forward = async () => ({ length: bad }) as unknown as Float32Array;
      const options = { forward, contextLength: 2, vocabSize: 3, maxNewTokens: 1, sampling: { strategy: 'greedy' } as const };
      expect(await psycheErrorCodeOfAsync(() => generate([1], options))).toBe(MODELING_INVALID_INPUT);
    }
  });
});
