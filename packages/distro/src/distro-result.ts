import type { SparseChunks } from './sparse-chunks.ts';

/** One parameter's selection, named as in the model. */
export interface ParameterSelection extends SparseChunks {
  readonly name: string;
}

/** One node's result for one step: a selection per parameter, in a fixed order. */
export interface DistroResult {
  readonly parameters: readonly ParameterSelection[];
}

/** How values travel: float32, bfloat16, or 1 sign bit (the receiver reads ±1). */
export type ValueEncoding = 'f32' | 'bf16' | 'sign';

/** The same selections with every value replaced by ±1 (negative → −1, else +1), as the wire's 'sign' encoding delivers them. */
export function quantizeSigns(result: DistroResult): DistroResult {
  return {
    parameters: result.parameters.map((p) => ({
      ...p,
      values: p.values.map((v) => (v < 0 ? -1 : 1)),
    })),
  };
}
