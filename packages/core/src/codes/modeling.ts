// modeling codes: 3000-3999. Codes are never removed, reused or renumbered.
// Add a code as `export const MODELING_SOMETHING = 3NNN;` and its context below.
export const MODELING_CODE_RANGE_START = 3000;

export type ModelingErrorContext = {
  [MODELING_CODE_RANGE_START]: { reason: string };
};
