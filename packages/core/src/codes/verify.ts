// verify codes: 6000-6999. Codes are never removed, reused or renumbered.
// Add a code as `export const VERIFY_SOMETHING = 6NNN;` and its context below.
export const VERIFY_CODE_RANGE_START = 6000;

export type VerifyErrorContext = {
  [VERIFY_CODE_RANGE_START]: { reason: string };
};
