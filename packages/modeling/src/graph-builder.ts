import {
  MODELING_DTYPE_MISMATCH,
  MODELING_GRAPH_INVALID,
  MODELING_INVALID_CONFIG,
  MODELING_SHAPE_MISMATCH,
  PsycheError,
  describeShape,
  describeValue,
} from '@psyche/core';
import type { DType, TensorData } from './dtype.ts';
import { isFloatDType } from './dtype.ts';
import type { OnnxAttribute, OnnxGraph, OnnxNode, OnnxTensor, OnnxValueInfo } from './onnx-model.ts';

export type Shape = readonly number[];

/**
 * A symbolic tensor of a graph under construction. Shapes are fully static: every op checks its
 * operands and computes its output shape when it is called, so a wrong graph fails at build time
 * with a coded error instead of inside ONNX Runtime.
 */
export class Tensor {
  /** @internal */
  constructor(
    readonly graph: GraphBuilder,
    readonly id: number,
    readonly name: string,
    readonly dtype: DType,
    readonly shape: Shape,
  ) {}

  get rank(): number {
    return this.shape.length;
  }

  get size(): number {
    return this.shape.reduce((a, b) => a * b, 1);
  }
}

/**
 * Vector-Jacobian product of one op: given the gradient of the loss with respect to the op's output,
 * the gradients with respect to its inputs (undefined where `needs[i]` is false or the input is not
 * differentiable). Rules emit ops through the same builder, so the backward graph is shape-checked too.
 */
export type VjpRule = (dy: Tensor, needs: readonly boolean[]) => readonly (Tensor | undefined)[];

/** @internal One differentiable op on the tape. */
export interface TapeRecord {
  readonly inputs: readonly Tensor[];
  readonly output: Tensor;
  readonly vjp: VjpRule;
}

// describeShape, not s.join: a caller's shape can be anything, and join threw a TypeError on a
// symbol or {toString: null} dimension, a RangeError on arrays nested a few thousand deep.
const fmt = (s: unknown): string => describeShape(s);

/** An array of integers ≥ min, checked before anything multiplies, sorts or prints it. */
const isDims = (s: unknown, min: number): s is Shape => Array.isArray(s) && s.every((d) => Number.isInteger(d) && d >= min);

function sameShape(a: Shape, b: Shape): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/** Numpy broadcasting of two shapes; undefined when they do not broadcast. */
export function broadcastShapes(a: Shape, b: Shape): number[] | undefined {
  const rank = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < rank; i++) {
    const da = a[a.length - rank + i] ?? 1;
    const db = b[b.length - rank + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1) return undefined;
    out.push(da === 1 ? db : da);
  }
  return out;
}

function normalizeAxis(op: string, axis: number, rank: number): number {
  // typeof first: `axis < 0` on a symbol or a {toString: null} throws a TypeError.
  const a = typeof axis !== 'number' ? Number.NaN : axis < 0 ? axis + rank : axis;
  if (!Number.isInteger(a) || a < 0 || a >= rank) {
    throw new PsycheError(
      MODELING_INVALID_CONFIG,
      { field: `${op}.axis`, value: describeValue(axis), expected: `integer in [${-rank}, ${rank - 1}]` },
      `${op}: axis ${describeValue(axis)} is out of range for rank ${rank}`,
    );
  }
  return a;
}

/**
 * Builds an ONNX graph op by op, with reverse-mode autodiff ({@link GraphBuilder.gradients}).
 *
 * @example
 * const g = new GraphBuilder('float32');
 * const x = g.input('x', 'float32', [4, 3]);
 * const w = g.input('w', 'float32', [2, 3]);
 * const loss = g.reduceMean(g.mul(g.linear(x, w), g.linear(x, w)), [0, 1]);
 * const [dw] = g.gradients(loss, [w]);
 * g.output(loss, 'loss'); g.output(dw!, 'grad_w');
 * const bytes = encodeOnnxModel(g.build());
 */
export class GraphBuilder {
  private readonly nodes: OnnxNode[] = [];
  private readonly inputs: OnnxValueInfo[] = [];
  private readonly outputs: OnnxValueInfo[] = [];
  private readonly initializers: OnnxTensor[] = [];
  private readonly tape: TapeRecord[] = [];
  private readonly names = new Set<string>();
  private readonly constCache = new Map<string, Tensor>();
  private nextId = 0;

  /** `floatType` is the dtype of scalars the builder creates for its own rules (1, 0.5, …). */
  constructor(readonly name = 'psyche') {}

  // ---------------------------------------------------------------- graph plumbing

  private fresh(dtype: DType, shape: Shape, name?: string): Tensor {
    const id = this.nextId++;
    const tensorName = name ?? `t${id}`;
    if (this.names.has(tensorName)) {
      throw new PsycheError(MODELING_GRAPH_INVALID, { reason: `duplicate name ${tensorName}` }, `duplicate tensor name ${tensorName}`);
    }
    this.names.add(tensorName);
    return new Tensor(this, id, tensorName, dtype, [...shape]);
  }

  private own(op: string, ...ts: Tensor[]): void {
    for (const t of ts) {
      if (t.graph !== this) {
        throw new PsycheError(MODELING_GRAPH_INVALID, { reason: `${op}: tensor ${t.name} belongs to another graph` }, `${op}: tensor ${t.name} belongs to another graph`);
      }
    }
  }

  private sameDType(op: string, ...ts: Tensor[]): DType {
    const d = ts[0]!.dtype;
    for (const t of ts) {
      if (t.dtype !== d) throw new PsycheError(MODELING_DTYPE_MISMATCH, { op, expected: d, received: t.dtype }, `${op}: dtype ${t.dtype} does not match ${d}`);
    }
    return d;
  }

  private requireFloat(op: string, t: Tensor): void {
    if (!isFloatDType(t.dtype)) {
      throw new PsycheError(MODELING_DTYPE_MISMATCH, { op, expected: 'float32 | float64', received: t.dtype }, `${op}: expected a float tensor, got ${t.dtype}`);
    }
  }

  private requireShape(op: string, ok: boolean, expected: string, received: string): void {
    if (!ok) throw new PsycheError(MODELING_SHAPE_MISMATCH, { op, expected, received }, `${op}: expected ${expected}, got ${received}`);
  }

  /**
   * Emits one ONNX node with a single output. With `vjp`, the op is recorded for autodiff.
   * @internal
   */
  emit(
    opType: string,
    inputs: readonly Tensor[],
    dtype: DType,
    shape: Shape,
    attributes: Record<string, OnnxAttribute> = {},
    vjp?: (y: Tensor) => VjpRule,
  ): Tensor {
    this.own(opType, ...inputs);
    const y = this.fresh(dtype, shape);
    this.nodes.push({ opType, name: `${opType}_${y.id}`, inputs: inputs.map((t) => t.name), outputs: [y.name], attributes });
    if (vjp) this.tape.push({ inputs, output: y, vjp: vjp(y) });
    return y;
  }

  /** A graph input (parameters are inputs too: the caller feeds them each run). */
  input(name: string, dtype: DType, shape: Shape): Tensor {
    this.requireShape('input', isDims(shape, 1), 'positive integer dimensions', fmt(shape));
    const t = this.fresh(dtype, shape, name);
    this.inputs.push({ name, dtype, shape: [...shape] });
    return t;
  }

  /** A constant stored in the model as an initializer. */
  constant(data: TensorData, dtype: DType, shape: Shape, name?: string): Tensor {
    this.requireShape('constant', isDims(shape, 0), 'non-negative integer dimensions', fmt(shape));
    const size = shape.reduce((a, b) => a * b, 1);
    const length = (data as { length?: unknown } | null | undefined)?.length;
    this.requireShape('constant', length === size, `${size} elements for ${fmt(shape)}`, describeValue(length));
    const t = this.fresh(dtype, shape, name);
    this.initializers.push({ name: t.name, dtype, dims: [...shape], data });
    return t;
  }

  /** A cached scalar constant of a float dtype. */
  scalar(value: number, dtype: DType): Tensor {
    if (typeof value !== 'number') {
      throw new PsycheError(MODELING_INVALID_CONFIG, { field: 'scalar', value: describeValue(value), expected: 'a number' }, `scalar constant: expected a number, got ${describeValue(value)}`);
    }
    const key = `${dtype}:${value}`;
    let t = this.constCache.get(key);
    if (!t) {
      const data = dtype === 'float32' ? Float32Array.of(value) : dtype === 'float64' ? Float64Array.of(value) : dtype === 'int64' ? BigInt64Array.of(BigInt(value)) : Uint8Array.of(value ? 1 : 0);
      t = this.constant(data, dtype, []);
      this.constCache.set(key, t);
    }
    return t;
  }

  /** A cached 1-D int64 constant (shapes, axes, pads). */
  int64s(values: readonly number[]): Tensor {
    const key = `i64:${values.join(',')}`;
    let t = this.constCache.get(key);
    if (!t) {
      t = this.constant(BigInt64Array.from(values, (v) => BigInt(v)), 'int64', [values.length]);
      this.constCache.set(key, t);
    }
    return t;
  }

  /** Marks `t` as a graph output named `name` (through an Identity node). */
  output(t: Tensor, name: string): void {
    this.own('output', t);
    if (this.names.has(name)) throw new PsycheError(MODELING_GRAPH_INVALID, { reason: `duplicate name ${name}` }, `duplicate output name ${name}`);
    this.names.add(name);
    this.nodes.push({ opType: 'Identity', name: `output_${name}`, inputs: [t.name], outputs: [name], attributes: {} });
    this.outputs.push({ name, dtype: t.dtype, shape: [...t.shape] });
  }

  build(): OnnxGraph {
    if (this.outputs.length === 0) throw new PsycheError(MODELING_GRAPH_INVALID, { reason: 'no outputs' }, 'graph has no outputs');
    return { name: this.name, nodes: [...this.nodes], inputs: [...this.inputs], outputs: [...this.outputs], initializers: [...this.initializers] };
  }

  // ---------------------------------------------------------------- autodiff

  /**
   * Reverse-mode autodiff: gradients of the scalar `loss` with respect to each of `wrt`, as new
   * tensors of this graph. Walks the tape backwards from the loss, calling each op's VJP rule only
   * for inputs that lie on a path from some `wrt` tensor; fan-out is summed. A `wrt` tensor the loss
   * does not depend on gets zeros.
   */
  gradients(loss: Tensor, wrt: readonly Tensor[]): Tensor[] {
    this.own('gradients', loss, ...wrt);
    if (loss.rank !== 0 || !isFloatDType(loss.dtype)) {
      throw new PsycheError(MODELING_GRAPH_INVALID, { reason: `loss must be a float scalar, got ${loss.dtype}${fmt(loss.shape)}` }, 'gradients: loss must be a float scalar');
    }
    const dependsOnWrt = new Set<number>(wrt.map((t) => t.id));
    for (const rec of this.tape) if (rec.inputs.some((t) => dependsOnWrt.has(t.id))) dependsOnWrt.add(rec.output.id);

    const grads = new Map<number, Tensor>([[loss.id, this.scalar(1, loss.dtype)]]);
    const tapeNow = [...this.tape];
    for (let r = tapeNow.length - 1; r >= 0; r--) {
      const rec = tapeNow[r]!;
      const dy = grads.get(rec.output.id);
      if (!dy) continue;
      const needs = rec.inputs.map((t) => dependsOnWrt.has(t.id) && isFloatDType(t.dtype));
      if (!needs.some(Boolean)) continue;
      const dxs = rec.vjp(dy, needs);
      rec.inputs.forEach((x, i) => {
        const dx = dxs[i];
        if (!needs[i] || !dx) return;
        this.requireShape('gradients', sameShape(dx.shape, x.shape), fmt(x.shape), fmt(dx.shape));
        const prev = grads.get(x.id);
        grads.set(x.id, prev ? this.add(prev, dx) : dx);
      });
    }
    return wrt.map((t) => grads.get(t.id) ?? this.zeros(t.dtype, t.shape));
  }

  // ---------------------------------------------------------------- non-differentiable helpers

  zeros(dtype: DType, shape: Shape): Tensor {
    const value = { name: 'value', dtype, dims: [1], data: dtype === 'float32' ? new Float32Array(1) : dtype === 'float64' ? new Float64Array(1) : dtype === 'int64' ? new BigInt64Array(1) : new Uint8Array(1) } satisfies OnnxTensor;
    return this.emit('ConstantOfShape', [this.int64s(shape)], dtype, shape, { value: { t: value } });
  }

  cast(x: Tensor, dtype: DType): Tensor {
    return this.emit('Cast', [x], dtype, x.shape, { to: { i: ({ float32: 1, int64: 7, bool: 9, float64: 11 } as const)[dtype] } });
  }

  /** Elementwise comparison → bool (no gradient). */
  equal(a: Tensor, b: Tensor): Tensor {
    this.sameDType('Equal', a, b);
    return this.emit('Equal', [a, b], 'bool', this.broadcast('Equal', a, b));
  }

  greater(a: Tensor, b: Tensor): Tensor {
    this.sameDType('Greater', a, b);
    return this.emit('Greater', [a, b], 'bool', this.broadcast('Greater', a, b));
  }

  /** where(cond, a, b); differentiable in a and b. */
  where(cond: Tensor, a: Tensor, b: Tensor): Tensor {
    this.sameDType('Where', a, b);
    if (cond.dtype !== 'bool') throw new PsycheError(MODELING_DTYPE_MISMATCH, { op: 'Where', expected: 'bool', received: cond.dtype }, 'Where: condition must be bool');
    const ab = this.broadcast('Where', a, b);
    const shape = broadcastShapes(cond.shape, ab);
    this.requireShape('Where', shape !== undefined, `condition broadcastable to ${fmt(ab)}`, fmt(cond.shape));
    return this.emit('Where', [cond, a, b], a.dtype, shape!, {}, () => (dy, needs) => {
      const zero = this.scalar(0, dy.dtype);
      return [undefined, needs[1] ? this.unbroadcast(this.where(cond, dy, zero), a.shape) : undefined, needs[2] ? this.unbroadcast(this.where(cond, zero, dy), b.shape) : undefined];
    });
  }

  private broadcast(op: string, a: Tensor, b: Tensor): number[] {
    const shape = broadcastShapes(a.shape, b.shape);
    this.requireShape(op, shape !== undefined, `shapes that broadcast with ${fmt(a.shape)}`, fmt(b.shape));
    return shape!;
  }

  /** Sums `dy` down to `shape` (the inverse of numpy broadcasting). */
  unbroadcast(dy: Tensor, shape: Shape): Tensor {
    if (sameShape(dy.shape, shape)) return dy;
    const lead = dy.rank - shape.length;
    const axes: number[] = [];
    for (let i = 0; i < dy.rank; i++) {
      if (i < lead || (shape[i - lead] === 1 && dy.shape[i] !== 1)) axes.push(i);
    }
    const summed = axes.length > 0 ? this.reduceSum(dy, axes, true) : dy;
    return this.reshape(summed, shape);
  }

  // ---------------------------------------------------------------- elementwise binary

  add(a: Tensor, b: Tensor): Tensor {
    this.sameDType('Add', a, b);
    return this.emit('Add', [a, b], a.dtype, this.broadcast('Add', a, b), {}, () => (dy, needs) => [
      needs[0] ? this.unbroadcast(dy, a.shape) : undefined,
      needs[1] ? this.unbroadcast(dy, b.shape) : undefined,
    ]);
  }

  sub(a: Tensor, b: Tensor): Tensor {
    this.sameDType('Sub', a, b);
    return this.emit('Sub', [a, b], a.dtype, this.broadcast('Sub', a, b), {}, () => (dy, needs) => [
      needs[0] ? this.unbroadcast(dy, a.shape) : undefined,
      needs[1] ? this.unbroadcast(this.neg(dy), b.shape) : undefined,
    ]);
  }

  mul(a: Tensor, b: Tensor): Tensor {
    this.sameDType('Mul', a, b);
    return this.emit('Mul', [a, b], a.dtype, this.broadcast('Mul', a, b), {}, () => (dy, needs) => [
      needs[0] ? this.unbroadcast(this.mul(dy, b), a.shape) : undefined,
      needs[1] ? this.unbroadcast(this.mul(dy, a), b.shape) : undefined,
    ]);
  }

  div(a: Tensor, b: Tensor): Tensor {
    this.sameDType('Div', a, b);
    return this.emit('Div', [a, b], a.dtype, this.broadcast('Div', a, b), {}, (y) => (dy, needs) => [
      needs[0] ? this.unbroadcast(this.div(dy, b), a.shape) : undefined,
      // d(a/b)/db = −a/b² = −y/b
      needs[1] ? this.unbroadcast(this.neg(this.div(this.mul(dy, y), b)), b.shape) : undefined,
    ]);
  }

  /** x · c for a float constant c. */
  scale(x: Tensor, c: number): Tensor {
    this.requireFloat('scale', x);
    return this.mul(x, this.scalar(c, x.dtype));
  }

  // ---------------------------------------------------------------- elementwise unary

  neg(x: Tensor): Tensor {
    return this.emit('Neg', [x], x.dtype, x.shape, {}, () => (dy) => [this.neg(dy)]);
  }

  exp(x: Tensor): Tensor {
    this.requireFloat('Exp', x);
    return this.emit('Exp', [x], x.dtype, x.shape, {}, (y) => (dy) => [this.mul(dy, y)]);
  }

  log(x: Tensor): Tensor {
    this.requireFloat('Log', x);
    return this.emit('Log', [x], x.dtype, x.shape, {}, () => (dy) => [this.div(dy, x)]);
  }

  sqrt(x: Tensor): Tensor {
    this.requireFloat('Sqrt', x);
    return this.emit('Sqrt', [x], x.dtype, x.shape, {}, (y) => (dy) => [this.div(this.scale(dy, 0.5), y)]);
  }

  reciprocal(x: Tensor): Tensor {
    this.requireFloat('Reciprocal', x);
    return this.emit('Reciprocal', [x], x.dtype, x.shape, {}, (y) => (dy) => [this.neg(this.mul(dy, this.mul(y, y)))]);
  }

  sigmoid(x: Tensor): Tensor {
    this.requireFloat('Sigmoid', x);
    return this.emit('Sigmoid', [x], x.dtype, x.shape, {}, (y) => (dy) => [
      this.mul(dy, this.mul(y, this.sub(this.scalar(1, y.dtype), y))),
    ]);
  }

  tanh(x: Tensor): Tensor {
    this.requireFloat('Tanh', x);
    return this.emit('Tanh', [x], x.dtype, x.shape, {}, (y) => (dy) => [this.mul(dy, this.sub(this.scalar(1, y.dtype), this.mul(y, y)))]);
  }

  relu(x: Tensor): Tensor {
    this.requireFloat('Relu', x);
    return this.emit('Relu', [x], x.dtype, x.shape, {}, () => (dy) => [
      this.where(this.greater(x, this.scalar(0, x.dtype)), dy, this.scalar(0, dy.dtype)),
    ]);
  }

  /** x^p for a constant exponent p. */
  powScalar(x: Tensor, p: number): Tensor {
    this.requireFloat('Pow', x);
    return this.emit('Pow', [x, this.scalar(p, x.dtype)], x.dtype, x.shape, {}, () => (dy) => [
      this.mul(dy, this.scale(this.powScalar(x, p - 1), p)),
    ]);
  }

  /** SiLU (swish): x · sigmoid(x), composed so autodiff reuses the sigmoid and mul rules. */
  silu(x: Tensor): Tensor {
    return this.mul(x, this.sigmoid(x));
  }

  // ---------------------------------------------------------------- shape ops

  reshape(x: Tensor, shape: Shape): Tensor {
    const size = isDims(shape, 1) ? shape.reduce((a, b) => a * b, 1) : Number.NaN;
    this.requireShape('Reshape', size === x.size, `a shape of ${x.size} elements`, fmt(shape));
    return this.emit('Reshape', [x, this.int64s(shape)], x.dtype, shape, {}, () => (dy) => [this.reshape(dy, x.shape)]);
  }

  transpose(x: Tensor, perm: readonly number[]): Tensor {
    const ok = isDims(perm, 0) && perm.length === x.rank && [...perm].sort((a, b) => a - b).every((p, i) => p === i);
    this.requireShape('Transpose', ok, `a permutation of ${x.rank} axes`, fmt(perm));
    const inverse = new Array<number>(perm.length);
    perm.forEach((p, i) => (inverse[p] = i));
    return this.emit('Transpose', [x], x.dtype, perm.map((p) => x.shape[p]!), { perm: { ints: perm } }, () => (dy) => [this.transpose(dy, inverse)]);
  }

  /** Swaps the last two axes. */
  transposeLast2(x: Tensor): Tensor {
    this.requireShape('transposeLast2', x.rank >= 2, 'rank ≥ 2', fmt(x.shape));
    const perm = x.shape.map((_, i) => i);
    perm[x.rank - 2] = x.rank - 1;
    perm[x.rank - 1] = x.rank - 2;
    return this.transpose(x, perm);
  }

  /** x[..., start:end, ...] along one axis. */
  slice(x: Tensor, axis: number, start: number, end: number): Tensor {
    const a = normalizeAxis('Slice', axis, x.rank);
    const dim = x.shape[a]!;
    this.requireShape('Slice', Number.isInteger(start) && Number.isInteger(end) && 0 <= start && start < end && end <= dim, `0 ≤ start < end ≤ ${dim}`, `${describeValue(start)}:${describeValue(end)}`);
    const shape = [...x.shape];
    shape[a] = end - start;
    return this.emit('Slice', [x, this.int64s([start]), this.int64s([end]), this.int64s([a])], x.dtype, shape, {}, () => (dy) => {
      const pads = new Array<number>(2 * x.rank).fill(0);
      pads[a] = start;
      pads[x.rank + a] = dim - end;
      return [this.emit('Pad', [dy, this.int64s(pads), this.scalar(0, dy.dtype)], dy.dtype, x.shape, { mode: { s: 'constant' } })];
    });
  }

  concat(xs: readonly Tensor[], axis: number): Tensor {
    this.requireShape('Concat', xs.length > 0, 'at least one tensor', '0');
    const first = xs[0]!;
    this.sameDType('Concat', ...xs);
    const a = normalizeAxis('Concat', axis, first.rank);
    for (const x of xs) {
      this.requireShape('Concat', x.rank === first.rank && x.shape.every((d, i) => i === a || d === first.shape[i]), `shapes equal to ${fmt(first.shape)} except axis ${a}`, fmt(x.shape));
    }
    const shape = [...first.shape];
    shape[a] = xs.reduce((s, x) => s + x.shape[a]!, 0);
    return this.emit('Concat', xs, first.dtype, shape, { axis: { i: a } }, () => (dy, needs) => {
      let offset = 0;
      return xs.map((x, i) => {
        const start = offset;
        offset += x.shape[a]!;
        return needs[i] ? this.slice(dy, a, start, offset) : undefined;
      });
    });
  }

  /** Broadcasts x to `shape` (numpy rules). */
  expand(x: Tensor, shape: Shape): Tensor {
    const out = isDims(shape, 0) ? broadcastShapes(x.shape, shape) : undefined;
    this.requireShape('Expand', out !== undefined && sameShape(out, shape), `a shape ${fmt(x.shape)} broadcasts to`, fmt(shape));
    return this.emit('Expand', [x, this.int64s(shape)], x.dtype, shape, {}, () => (dy) => [this.unbroadcast(dy, x.shape)]);
  }

  // ---------------------------------------------------------------- reductions

  private reducedShape(op: string, x: Tensor, axes: readonly number[], keepdims: boolean): { axes: number[]; shape: number[] } {
    this.requireShape(op, Array.isArray(axes), 'an array of axes', fmt(axes));
    const norm = [...new Set(axes.map((a) => normalizeAxis(op, a, x.rank)))].sort((p, q) => p - q);
    this.requireShape(op, norm.length > 0, 'at least one axis', '[]');
    const shape = keepdims ? x.shape.map((d, i) => (norm.includes(i) ? 1 : d)) : x.shape.filter((_, i) => !norm.includes(i));
    return { axes: norm, shape };
  }

  reduceSum(x: Tensor, axes: readonly number[], keepdims = false): Tensor {
    const r = this.reducedShape('ReduceSum', x, axes, keepdims);
    const kept = x.shape.map((d, i) => (r.axes.includes(i) ? 1 : d));
    return this.emit('ReduceSum', [x, this.int64s(r.axes)], x.dtype, r.shape, { keepdims: { i: keepdims ? 1 : 0 } }, () => (dy) => [
      this.expand(this.reshape(dy, kept), x.shape),
    ]);
  }

  reduceMean(x: Tensor, axes: readonly number[], keepdims = false): Tensor {
    this.requireFloat('ReduceMean', x);
    const r = this.reducedShape('ReduceMean', x, axes, keepdims);
    const kept = x.shape.map((d, i) => (r.axes.includes(i) ? 1 : d));
    const count = r.axes.reduce((n, a) => n * x.shape[a]!, 1);
    return this.emit('ReduceMean', [x, this.int64s(r.axes)], x.dtype, r.shape, { keepdims: { i: keepdims ? 1 : 0 } }, () => (dy) => [
      this.expand(this.reshape(this.scale(dy, 1 / count), kept), x.shape),
    ]);
  }

  // ---------------------------------------------------------------- linear algebra

  /**
   * Batched matrix product with numpy broadcasting of the batch axes: a [..., M, K] · b [..., K, N].
   * Both operands need rank ≥ 2. The VJP sums the gradients over broadcast batch axes, which is how
   * grouped-query attention shares one key/value head among several query heads.
   */
  matmul(a: Tensor, b: Tensor): Tensor {
    this.sameDType('MatMul', a, b);
    this.requireFloat('MatMul', a);
    this.requireShape('MatMul', a.rank >= 2 && b.rank >= 2, 'operands of rank ≥ 2', `${fmt(a.shape)} · ${fmt(b.shape)}`);
    const m = a.shape[a.rank - 2]!;
    const k = a.shape[a.rank - 1]!;
    const n = b.shape[b.rank - 1]!;
    this.requireShape('MatMul', b.shape[b.rank - 2] === k, `b with ${k} rows`, `${fmt(a.shape)} · ${fmt(b.shape)}`);
    const batch = broadcastShapes(a.shape.slice(0, -2), b.shape.slice(0, -2));
    this.requireShape('MatMul', batch !== undefined, 'broadcastable batch axes', `${fmt(a.shape)} · ${fmt(b.shape)}`);
    return this.emit('MatMul', [a, b], a.dtype, [...batch!, m, n], {}, () => (dy, needs) => [
      needs[0] ? this.unbroadcast(this.matmul(dy, this.transposeLast2(b)), a.shape) : undefined,
      needs[1] ? this.unbroadcast(this.matmul(this.transposeLast2(a), dy), b.shape) : undefined,
    ]);
  }

  /** General matrix product of two matrices with optional transposes (ONNX Gemm, no bias). */
  gemm(a: Tensor, b: Tensor, transA = false, transB = false): Tensor {
    this.sameDType('Gemm', a, b);
    this.requireFloat('Gemm', a);
    this.requireShape('Gemm', a.rank === 2 && b.rank === 2, 'two matrices', `${fmt(a.shape)} · ${fmt(b.shape)}`);
    const [m, k] = transA ? [a.shape[1]!, a.shape[0]!] : [a.shape[0]!, a.shape[1]!];
    const [kb, n] = transB ? [b.shape[1]!, b.shape[0]!] : [b.shape[0]!, b.shape[1]!];
    this.requireShape('Gemm', k === kb, `inner dimensions equal (${k})`, `${fmt(a.shape)}${transA ? 'ᵀ' : ''} · ${fmt(b.shape)}${transB ? 'ᵀ' : ''}`);
    return this.emit('Gemm', [a, b], a.dtype, [m, n], { transA: { i: transA ? 1 : 0 }, transB: { i: transB ? 1 : 0 } }, () => (dy, needs) => {
      // y = op(a)·op(b); d op(a) = dy·op(b)ᵀ, d op(b) = op(a)ᵀ·dy, then undo the op.
      const da = !needs[0] ? undefined : transA ? this.gemm(b, dy, transB, true) : this.gemm(dy, b, false, !transB);
      const db = !needs[1] ? undefined : transB ? this.gemm(dy, a, true, transA) : this.gemm(a, dy, !transA, false);
      return [da, db];
    });
  }

  /** x [N, in] · wᵀ with w [out, in] (PyTorch / Hugging Face nn.Linear layout) → [N, out]. */
  linear(x: Tensor, w: Tensor): Tensor {
    return this.gemm(x, w, false, true);
  }

  // ---------------------------------------------------------------- nn

  softmax(x: Tensor, axis = -1): Tensor {
    this.requireFloat('Softmax', x);
    const a = normalizeAxis('Softmax', axis, x.rank);
    return this.emit('Softmax', [x], x.dtype, x.shape, { axis: { i: a } }, (y) => (dy) => {
      // dx = y ⊙ (dy − Σ_axis dy ⊙ y)
      const dot = this.reduceSum(this.mul(dy, y), [a], true);
      return [this.mul(y, this.sub(dy, dot))];
    });
  }

  /** Rows of `table` [V, D] picked by integer `ids` [...] → [..., D]. Differentiable in the table. */
  gather(table: Tensor, ids: Tensor): Tensor {
    this.requireShape('Gather', table.rank === 2, 'a [V, D] table', fmt(table.shape));
    if (ids.dtype !== 'int64') throw new PsycheError(MODELING_DTYPE_MISMATCH, { op: 'Gather', expected: 'int64', received: ids.dtype }, 'Gather: ids must be int64');
    const [v, d] = table.shape as [number, number];
    return this.emit('Gather', [table, ids], table.dtype, [...ids.shape, d], { axis: { i: 0 } }, () => (dy) => {
      // Repeated ids must add up: ScatterND with reduction='add' (a plain scatter would keep one).
      const n = ids.size;
      const idx = this.reshape(ids, [n, 1]);
      const upd = this.reshape(dy, [n, d]);
      return [this.emit('ScatterND', [this.zeros(table.dtype, [v, d]), idx, upd], table.dtype, [v, d], { reduction: { s: 'add' } }), undefined];
    });
  }

  /** One-hot float rows for int64 labels [N] over `classes` → [N, classes] (Equal + Cast: OneHot has no float64 CPU kernel). */
  oneHot(labels: Tensor, classes: number, dtype: DType): Tensor {
    if (!Number.isSafeInteger(classes) || classes < 1) {
      throw new PsycheError(MODELING_INVALID_CONFIG, { field: 'oneHot.classes', value: describeValue(classes), expected: 'integer ≥ 1' }, `oneHot: classes must be an integer ≥ 1, got ${describeValue(classes)}`);
    }
    const range = this.constant(BigInt64Array.from({ length: classes }, (_, i) => BigInt(i)), 'int64', [classes]);
    return this.cast(this.equal(this.reshape(labels, [labels.size, 1]), range), dtype);
  }

  /**
   * Mean softmax cross-entropy of logits [N, C] against int64 labels [N] → scalar.
   * VJP: (softmax(logits) − onehot(labels)) · dy / N.
   */
  crossEntropy(logits: Tensor, labels: Tensor): Tensor {
    this.requireFloat('SoftmaxCrossEntropyLoss', logits);
    this.requireShape('SoftmaxCrossEntropyLoss', logits.rank === 2 && labels.rank === 1 && labels.shape[0] === logits.shape[0], `labels [${logits.shape[0]}] for logits [N, C]`, `${fmt(labels.shape)} for ${fmt(logits.shape)}`);
    if (labels.dtype !== 'int64') throw new PsycheError(MODELING_DTYPE_MISMATCH, { op: 'SoftmaxCrossEntropyLoss', expected: 'int64', received: labels.dtype }, 'labels must be int64');
    const [n, c] = logits.shape as [number, number];
    return this.emit('SoftmaxCrossEntropyLoss', [logits, labels], logits.dtype, [], { reduction: { s: 'mean' } }, () => (dy) => {
      const p = this.softmaxNoGrad(logits);
      const diff = this.sub(p, this.oneHot(labels, c, logits.dtype));
      return [this.mul(diff, this.scale(dy, 1 / n)), undefined];
    });
  }

  private softmaxNoGrad(x: Tensor): Tensor {
    return this.emit('Softmax', [x], x.dtype, x.shape, { axis: { i: x.rank - 1 } });
  }

  /** RMSNorm over the last axis: x / sqrt(mean(x²) + eps) · weight (LLaMA's norm, no mean subtraction). */
  rmsNorm(x: Tensor, weight: Tensor, eps: number): Tensor {
    this.requireShape('rmsNorm', weight.rank === 1 && weight.shape[0] === x.shape[x.rank - 1], `weight [${x.shape[x.rank - 1]}]`, fmt(weight.shape));
    const meanSquare = this.reduceMean(this.mul(x, x), [-1], true);
    const inv = this.reciprocal(this.sqrt(this.add(meanSquare, this.scalar(eps, x.dtype))));
    return this.mul(this.mul(x, inv), weight);
  }
}
