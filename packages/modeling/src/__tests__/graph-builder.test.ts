import { describe, expect, it } from 'vitest';
import * as ort from 'onnxruntime-node';
import { isPsycheError, MODELING_DTYPE_MISMATCH, MODELING_GRAPH_INVALID, MODELING_INVALID_CONFIG, MODELING_SHAPE_MISMATCH, psycheErrorCodeOf } from '@psyche/core';
import { GraphBuilder } from '../graph-builder.ts';
import { encodeOnnxModel } from '../onnx-model.ts';

const codeOf = psycheErrorCodeOf;

describe('GraphBuilder build-time checks', () => {
  it('rejects shapes that do not fit, with coded errors', () => {
    const g = new GraphBuilder();
    const a = g.input('a', 'float32', [2, 3]);
    const b = g.input('b', 'float32', [4, 5]);
    const i = g.input('i', 'int64', [2]);
    expect(codeOf(() => g.add(a, b))).toBe(MODELING_SHAPE_MISMATCH);
    expect(codeOf(() => g.matmul(a, b))).toBe(MODELING_SHAPE_MISMATCH);
    expect(codeOf(() => g.linear(a, b))).toBe(MODELING_SHAPE_MISMATCH);
    expect(codeOf(() => g.reshape(a, [5]))).toBe(MODELING_SHAPE_MISMATCH);
    expect(codeOf(() => g.slice(a, 1, 2, 9))).toBe(MODELING_SHAPE_MISMATCH);
    expect(codeOf(() => g.softmax(a, 2))).toBe(MODELING_INVALID_CONFIG);
    expect(codeOf(() => g.exp(i))).toBe(MODELING_DTYPE_MISMATCH);
    expect(codeOf(() => g.add(a, g.input('c', 'float64', [2, 3])))).toBe(MODELING_DTYPE_MISMATCH);
    expect(codeOf(() => g.gradients(a, [a]))).toBe(MODELING_GRAPH_INVALID);
    expect(codeOf(() => g.input('a', 'float32', [1]))).toBe(MODELING_GRAPH_INVALID);
    expect(codeOf(() => new GraphBuilder().add(a, a))).toBe(MODELING_GRAPH_INVALID);
  });

  it('computes broadcast and matmul shapes', () => {
    const g = new GraphBuilder();
    const q = g.input('q', 'float32', [2, 4, 3, 8, 16]);
    const k = g.input('k', 'float32', [2, 4, 1, 16, 8]);
    expect(g.matmul(q, k).shape).toEqual([2, 4, 3, 8, 8]);
    expect(g.add(g.input('x', 'float32', [3, 1]), g.input('y', 'float32', [4])).shape).toEqual([3, 4]);
  });

  it('writes a model ONNX Runtime loads and runs (float32)', async () => {
    const g = new GraphBuilder();
    const x = g.input('x', 'float32', [2, 3]);
    const w = g.input('w', 'float32', [4, 3]);
    const y = g.linear(x, w);
    const loss = g.reduceMean(g.mul(y, y), [0, 1]);
    const [dw] = g.gradients(loss, [w]);
    g.output(loss, 'loss');
    g.output(dw!, 'grad_w');
    const session = await ort.InferenceSession.create(encodeOnnxModel(g.build()));
    const xs = Float32Array.from([1, 2, 3, 4, 5, 6]);
    const ws = Float32Array.from({ length: 12 }, (_, i) => (i - 6) / 10);
    const out = await session.run({ x: new ort.Tensor('float32', xs, [2, 3]), w: new ort.Tensor('float32', ws, [4, 3]) });
    // reference in plain JS
    let lossRef = 0;
    const dwRef = new Float64Array(12);
    for (let n = 0; n < 2; n++) {
      for (let o = 0; o < 4; o++) {
        let yv = 0;
        for (let c = 0; c < 3; c++) yv += xs[n * 3 + c]! * ws[o * 3 + c]!;
        lossRef += (yv * yv) / 8;
        for (let c = 0; c < 3; c++) dwRef[o * 3 + c]! += ((2 * yv) / 8) * xs[n * 3 + c]!;
      }
    }
    expect((out.loss!.data as Float32Array)[0]).toBeCloseTo(lossRef, 4);
    const dwOut = out.grad_w!.data as Float32Array;
    for (let i = 0; i < 12; i++) expect(dwOut[i]).toBeCloseTo(dwRef[i]!, 4);
    await session.release();
  });
});
