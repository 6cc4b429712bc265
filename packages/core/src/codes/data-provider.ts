// data-provider codes: 7000-7999. Codes are never removed, reused or renumbered.
// Add a code as `export const DATA_SOMETHING = 7NNN;` and its context below.
export const DATA_CODE_RANGE_START = 7000;

export type DataProviderErrorContext = {
  [DATA_CODE_RANGE_START]: { reason: string };
};
