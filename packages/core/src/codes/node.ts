// node codes: 9000-9999. Codes are never removed, reused or renumbered.
// Add a code as `export const NODE_SOMETHING = 9NNN;` and its context below.
export const NODE_CODE_RANGE_START = 9000;

export type NodeErrorContext = {
  [NODE_CODE_RANGE_START]: { reason: string };
};
