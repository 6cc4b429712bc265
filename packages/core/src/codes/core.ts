// @psyche/core codes: 1000-1999. Codes are never removed, reused or renumbered.
export const CORE_BYTES_OUT_OF_RANGE = 1000;
export const CORE_INVALID_ARGUMENT = 1001;
export const CORE_ALLOCATION_LIMIT_EXCEEDED = 1002;
export const CORE_MALFORMED_UTF8 = 1003;
export const CORE_MALFORMED_HEX = 1004;
export const CORE_INTEGER_OUT_OF_RANGE = 1005;

export type CoreErrorContext = {
  [CORE_BYTES_OUT_OF_RANGE]: { offset: number; needed: number; available: number };
  [CORE_INVALID_ARGUMENT]: { argument: string; expected: string; received?: string };
  [CORE_ALLOCATION_LIMIT_EXCEEDED]: { requested: number; limit: number };
  [CORE_MALFORMED_UTF8]: { offset: number };
  [CORE_MALFORMED_HEX]: { length: number };
  [CORE_INTEGER_OUT_OF_RANGE]: { value: string; min: string; max: string };
};
