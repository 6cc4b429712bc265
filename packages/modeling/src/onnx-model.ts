import type { DType, TensorData } from './dtype.ts';
import { ONNX_DATA_TYPE } from './dtype.ts';
import { ProtoWriter } from './protobuf-writer-internal.ts';

/** A node attribute, tagged with its ONNX AttributeProto type. */
export type OnnxAttribute =
  | { readonly i: number }
  | { readonly f: number }
  | { readonly s: string }
  | { readonly ints: readonly number[] }
  | { readonly floats: readonly number[] }
  | { readonly t: OnnxTensor };

export interface OnnxNode {
  readonly opType: string;
  readonly name: string;
  readonly inputs: readonly string[];
  readonly outputs: readonly string[];
  readonly attributes: Readonly<Record<string, OnnxAttribute>>;
}

export interface OnnxTensor {
  readonly name: string;
  readonly dtype: DType;
  readonly dims: readonly number[];
  readonly data: TensorData;
}

export interface OnnxValueInfo {
  readonly name: string;
  readonly dtype: DType;
  readonly shape: readonly number[];
}

export interface OnnxGraph {
  readonly name: string;
  readonly nodes: readonly OnnxNode[];
  readonly inputs: readonly OnnxValueInfo[];
  readonly outputs: readonly OnnxValueInfo[];
  readonly initializers: readonly OnnxTensor[];
}

export interface EncodeOnnxOptions {
  /** Default opset 18 (ReduceMean takes axes as an input from 18 on). */
  readonly opset?: number;
  /** Default IR version 8 (what opset 18 requires at least). */
  readonly irVersion?: number;
  readonly producer?: string;
}

// Field numbers from onnx/onnx.proto (ModelProto, GraphProto, NodeProto, AttributeProto,
// TensorProto, ValueInfoProto, TypeProto, TensorShapeProto).
const enum AttrType {
  FLOAT = 1,
  INT = 2,
  STRING = 3,
  TENSOR = 4,
  FLOATS = 6,
  INTS = 7,
}

function tensorBytes(data: TensorData): Uint8Array {
  // ONNX raw_data is little-endian, which is what typed arrays hold on every platform node runs on.
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

function writeTensor(w: ProtoWriter, t: OnnxTensor): void {
  if (t.dims.length > 0) w.packedInts(1, t.dims);
  w.int(2, ONNX_DATA_TYPE[t.dtype]);
  w.string(8, t.name);
  w.bytes(9, tensorBytes(t.data));
}

function writeAttribute(w: ProtoWriter, name: string, a: OnnxAttribute): void {
  w.string(1, name);
  if ('i' in a) w.int(3, a.i).int(20, AttrType.INT);
  else if ('f' in a) w.float(2, a.f).int(20, AttrType.FLOAT);
  else if ('s' in a) w.string(4, a.s).int(20, AttrType.STRING);
  else if ('ints' in a) w.packedInts(8, a.ints).int(20, AttrType.INTS);
  else if ('floats' in a) w.packedFloats(7, a.floats).int(20, AttrType.FLOATS);
  else w.message(5, (m) => writeTensor(m, a.t)).int(20, AttrType.TENSOR);
}

function writeValueInfo(w: ProtoWriter, v: OnnxValueInfo): void {
  w.string(1, v.name);
  w.message(2, (type) =>
    type.message(1, (tensorType) => {
      tensorType.int(1, ONNX_DATA_TYPE[v.dtype]);
      tensorType.message(2, (shape) => {
        for (const d of v.shape) shape.message(1, (dim) => dim.int(1, d));
      });
    }),
  );
}

/** Serializes a graph as an ONNX ModelProto (bytes ONNX Runtime's `InferenceSession.create` accepts). */
export function encodeOnnxModel(graph: OnnxGraph, options: EncodeOnnxOptions = {}): Uint8Array {
  const w = new ProtoWriter();
  w.int(1, options.irVersion ?? 8);
  w.string(2, options.producer ?? '@psyche/modeling');
  w.message(7, (g) => {
    for (const n of graph.nodes) {
      g.message(1, (node) => {
        for (const i of n.inputs) node.string(1, i);
        for (const o of n.outputs) node.string(2, o);
        node.string(3, n.name);
        node.string(4, n.opType);
        for (const [name, a] of Object.entries(n.attributes)) node.message(5, (attr) => writeAttribute(attr, name, a));
      });
    }
    g.string(2, graph.name);
    for (const t of graph.initializers) g.message(5, (m) => writeTensor(m, t));
    for (const v of graph.inputs) g.message(11, (m) => writeValueInfo(m, v));
    for (const v of graph.outputs) g.message(12, (m) => writeValueInfo(m, v));
  });
  w.message(8, (op) => op.string(1, '').int(2, options.opset ?? 18));
  return w.finish();
}
