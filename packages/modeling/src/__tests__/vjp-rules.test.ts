import { describe, expect, it } from 'vitest';
import * as ort from 'onnxruntime-node';
import type { GraphBuilder, Tensor } from '../graph-builder.ts';
import { gradCheck, type GradCheckInput } from './gradcheck-internal.ts';

// Every VJP rule against float64 central finite differences, both graphs run by ONNX Runtime.
const TOLERANCE = 1e-6;
const positive = (_: number, v: number): number => 0.5 + Math.abs(v);

type Case = [string, GradCheckInput[], (g: GraphBuilder, xs: Tensor[]) => Tensor];
const x = (shape: number[], init?: GradCheckInput['init']): GradCheckInput => ({ name: 'x', shape, ...(init ? { init } : {}) });
const y = (shape: number[], init?: GradCheckInput['init']): GradCheckInput => ({ name: 'y', shape, ...(init ? { init } : {}) });

const cases: Case[] = [
  ['add (broadcast)', [x([2, 3]), y([3])], (g, [a, b]) => g.add(a!, b!)],
  ['sub (broadcast)', [x([2, 1, 3]), y([4, 1])], (g, [a, b]) => g.sub(a!, b!)],
  ['mul (broadcast, shared operand)', [x([3, 4]), y([1, 4])], (g, [a, b]) => g.mul(g.mul(a!, b!), a!)],
  ['div', [x([2, 3]), y([2, 3], positive)], (g, [a, b]) => g.div(a!, b!)],
  ['neg', [x([5])], (g, [a]) => g.neg(a!)],
  ['exp', [x([2, 3])], (g, [a]) => g.exp(a!)],
  ['log', [x([2, 3], positive)], (g, [a]) => g.log(a!)],
  ['sqrt', [x([2, 3], positive)], (g, [a]) => g.sqrt(a!)],
  ['reciprocal', [x([2, 3], positive)], (g, [a]) => g.reciprocal(a!)],
  ['sigmoid', [x([2, 3])], (g, [a]) => g.sigmoid(a!)],
  ['tanh', [x([2, 3])], (g, [a]) => g.tanh(a!)],
  ['relu (away from 0)', [x([2, 3], (i, v) => (i % 2 ? 1 : -1) * (0.2 + Math.abs(v)))], (g, [a]) => g.relu(a!)],
  ['silu', [x([2, 3])], (g, [a]) => g.silu(a!)],
  ['powScalar', [x([2, 3], positive)], (g, [a]) => g.powScalar(a!, 1.7)],
  ['reshape', [x([2, 6])], (g, [a]) => g.exp(g.reshape(a!, [3, 4]))],
  ['transpose', [x([2, 3, 4])], (g, [a]) => g.exp(g.transpose(a!, [2, 0, 1]))],
  ['slice', [x([3, 5])], (g, [a]) => g.exp(g.slice(a!, 1, 1, 4))],
  ['concat', [x([2, 3]), y([2, 2])], (g, [a, b]) => g.exp(g.concat([a!, b!, a!], 1))],
  ['expand', [x([3, 1])], (g, [a]) => g.exp(g.expand(a!, [2, 3, 4]))],
  ['reduceSum', [x([2, 3, 4])], (g, [a]) => g.exp(g.reduceSum(a!, [0, 2], true))],
  ['reduceMean', [x([2, 3, 4])], (g, [a]) => g.exp(g.reduceMean(a!, [1]))],
  ['matmul (batched, broadcast)', [x([2, 1, 3, 4]), y([3, 4, 5])], (g, [a, b]) => g.matmul(a!, b!)],
  ['gemm', [x([3, 4]), y([4, 5])], (g, [a, b]) => g.gemm(a!, b!)],
  ['gemm transA', [x([4, 3]), y([4, 5])], (g, [a, b]) => g.gemm(a!, b!, true, false)],
  ['gemm transB (linear)', [x([3, 4]), y([5, 4])], (g, [a, b]) => g.linear(a!, b!)],
  ['gemm transA transB', [x([4, 3]), y([5, 4])], (g, [a, b]) => g.gemm(a!, b!, true, true)],
  ['softmax', [x([2, 5])], (g, [a]) => g.softmax(a!)],
  ['softmax (axis 0)', [x([3, 2])], (g, [a]) => g.softmax(a!, 0)],
  ['where', [x([2, 3]), y([3])], (g, [a, b]) => g.where(g.greater(a!, g.scalar(0, 'float64')), a!, b!)],
  ['rmsNorm', [x([2, 3, 4]), y([4])], (g, [a, b]) => g.rmsNorm(a!, b!, 1e-5)],
];

describe('VJP rules vs float64 central differences (ONNX Runtime)', () => {
  for (const [name, inputs, f] of cases) {
    it(name, async () => {
      const r = await gradCheck(inputs, f);
      console.log(`${name}: ${r.checked} partials, max rel error ${r.maxRelError.toExponential(2)}`);
      expect(r.checked).toBeGreaterThan(0);
      expect(r.maxRelError).toBeLessThan(TOLERANCE);
    });
  }

  it('gather with repeated ids (embedding)', async () => {
    const ids = new ort.Tensor('int64', BigInt64Array.from([2n, 0n, 2n, 3n, 2n, 1n]), [2, 3]);
    const r = await gradCheck([x([5, 3])], (g, [table], [idsT]) => g.gather(table!, idsT!), {
      extraInputs: (g) => [g.input('ids', 'int64', [2, 3])],
      extraFeeds: { ids },
    });
    expect(r.maxRelError).toBeLessThan(TOLERANCE);
  });

  it('cross-entropy', async () => {
    const labels = new ort.Tensor('int64', BigInt64Array.from([2n, 0n, 4n, 2n]), [4]);
    const r = await gradCheck([x([4, 5])], (g, [logits], [l]) => g.crossEntropy(logits!, l!), {
      extraInputs: (g) => [g.input('labels', 'int64', [4])],
      extraFeeds: { labels },
    });
    expect(r.maxRelError).toBeLessThan(TOLERANCE);
  });
});
