/** Element types the graph builder handles, with their ONNX TensorProto.DataType numbers. */
export type DType = 'float32' | 'float64' | 'int64' | 'bool';

export const ONNX_DATA_TYPE: Readonly<Record<DType, number>> = {
  float32: 1, // TensorProto.FLOAT
  int64: 7, // TensorProto.INT64
  bool: 9, // TensorProto.BOOL
  float64: 11, // TensorProto.DOUBLE
};

export const DTYPE_BYTES: Readonly<Record<DType, number>> = { float32: 4, float64: 8, int64: 8, bool: 1 };

/** The typed array that holds a tensor of each dtype. */
export type TypedArrayOf<D extends DType> = D extends 'float32'
  ? Float32Array
  : D extends 'float64'
    ? Float64Array
    : D extends 'int64'
      ? BigInt64Array
      : Uint8Array;

export type TensorData = Float32Array | Float64Array | BigInt64Array | Uint8Array;

export function isFloatDType(dtype: DType): dtype is 'float32' | 'float64' {
  return dtype === 'float32' || dtype === 'float64';
}
