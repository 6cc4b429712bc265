// coordinator codes: 8000-8999. Codes are never removed, reused or renumbered.
// Add a code as `export const COORDINATOR_SOMETHING = 8NNN;` and its context below.
export const COORDINATOR_CODE_RANGE_START = 8000;

export type CoordinatorErrorContext = {
  [COORDINATOR_CODE_RANGE_START]: { reason: string };
};
