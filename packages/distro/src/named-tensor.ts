/** A model parameter (or its gradient): a name, a shape and float32 data of size ∏shape. */
export interface NamedTensor {
  readonly name: string;
  readonly shape: readonly number[];
  readonly data: Float32Array;
}

/** Gradients by parameter name, each the same length as its parameter. */
export type Gradients = ReadonlyMap<string, Float32Array>;
