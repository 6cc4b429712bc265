// @psyche/distro codes: 2000-2999. Codes are never removed, reused or renumbered.
export const DISTRO_INVALID_CONFIG = 2000;
export const DISTRO_SHAPE_MISMATCH = 2001;
export const DISTRO_WIRE_MALFORMED = 2002;
export const DISTRO_WIRE_UNSUPPORTED_VERSION = 2003;
export const DISTRO_WIRE_LIMIT_EXCEEDED = 2004;
export const DISTRO_WIRE_TRUNCATED = 2005;
export const DISTRO_NON_FINITE_VALUE = 2006;
export const DISTRO_UNKNOWN_PARAMETER = 2007;
export const DISTRO_INDEX_OUT_OF_RANGE = 2008;
export const DISTRO_RESULT_LAYOUT_MISMATCH = 2009;
export const DISTRO_OPTIMIZER_STATE = 2010;
/** A compact (v2) result whose layout digest differs from the receiver's model: names, shapes, chunking, k or value encoding disagree. */
export const DISTRO_WIRE_LAYOUT_MISMATCH = 2011;

export type DistroErrorContext = {
  [DISTRO_INVALID_CONFIG]: { field: string; value: string; expected: string };
  [DISTRO_SHAPE_MISMATCH]: { name: string; expected: string; received: string };
  [DISTRO_WIRE_MALFORMED]: { offset: number; reason: string };
  [DISTRO_WIRE_UNSUPPORTED_VERSION]: { version: number; supported: number };
  [DISTRO_WIRE_LIMIT_EXCEEDED]: { what: string; requested: number; limit: number };
  [DISTRO_WIRE_TRUNCATED]: { offset: number; needed: number; available: number };
  [DISTRO_NON_FINITE_VALUE]: { name: string; index: number };
  [DISTRO_UNKNOWN_PARAMETER]: { name: string };
  [DISTRO_INDEX_OUT_OF_RANGE]: { name: string; index: number; limit: number };
  [DISTRO_RESULT_LAYOUT_MISMATCH]: { name: string; reason: string };
  [DISTRO_OPTIMIZER_STATE]: { reason: string };
  [DISTRO_WIRE_LAYOUT_MISMATCH]: { expected: string; received: string };
};
