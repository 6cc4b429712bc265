// modeling codes: 3000-3999. Codes are never removed, reused or renumbered.
// Add a code as `export const MODELING_SOMETHING = 3NNN;` and its context below.
export const MODELING_CODE_RANGE_START = 3000;
/** An op got operands whose shapes do not fit (checked when the graph is built). */
export const MODELING_SHAPE_MISMATCH = 3001;
/** An op got an operand of the wrong element type. */
export const MODELING_DTYPE_MISMATCH = 3002;
/** A model or op configuration value is out of range (LlamaConfig field, axis, k, …). */
export const MODELING_INVALID_CONFIG = 3003;
/** The graph itself is unusable: a tensor from another builder, a duplicate name, a non-scalar loss. */
export const MODELING_GRAPH_INVALID = 3004;
/** A safetensors file is malformed (header length, JSON, dtype, offsets). */
export const MODELING_SAFETENSORS_MALFORMED = 3005;
/** A safetensors file asks for more than the configured limits (header size, tensor count). */
export const MODELING_SAFETENSORS_LIMIT_EXCEEDED = 3006;
/** A checkpoint lacks a tensor the model needs, or holds one of the wrong shape. */
export const MODELING_CHECKPOINT_MISMATCH = 3007;
/** A model input or output is out of range: a token id outside [0, vocab), a logits row that is not finite or not [T · V]. */
export const MODELING_INVALID_INPUT = 3008;

export type ModelingErrorContext = {
  [MODELING_CODE_RANGE_START]: { reason: string };
  [MODELING_SHAPE_MISMATCH]: { op: string; expected: string; received: string };
  [MODELING_DTYPE_MISMATCH]: { op: string; expected: string; received: string };
  [MODELING_INVALID_CONFIG]: { field: string; value: string; expected: string };
  [MODELING_GRAPH_INVALID]: { reason: string };
  [MODELING_SAFETENSORS_MALFORMED]: { offset: number; reason: string };
  [MODELING_SAFETENSORS_LIMIT_EXCEEDED]: { what: string; requested: number; limit: number };
  [MODELING_CHECKPOINT_MISMATCH]: { name: string; expected: string; received: string };
  [MODELING_INVALID_INPUT]: { what: string; expected: string; received: string };
};
