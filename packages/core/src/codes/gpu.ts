// gpu codes: 4000-4999. Codes are never removed, reused or renumbered.
// Add a code as `export const GPU_SOMETHING = 4NNN;` and its context below.
export const GPU_CODE_RANGE_START = 4000;

export type GpuErrorContext = {
  [GPU_CODE_RANGE_START]: { reason: string };
};
