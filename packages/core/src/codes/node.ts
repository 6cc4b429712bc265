// node codes: 9000-9999. Codes are never removed, reused or renumbered.
// Add a code as `export const NODE_SOMETHING = 9NNN;` and its context below.
export const NODE_CODE_RANGE_START = 9000;
/** The TOML run config is not TOML, or a field is missing or out of range. */
export const NODE_INVALID_CONFIG = 9001;
/** A gossip announcement's bytes are malformed (length, version, fields). */
export const NODE_MALFORMED_ANNOUNCEMENT = 9002;
/** A peer's result failed a check (commitment, batch, decoding, shapes). */
export const NODE_RESULT_REJECTED = 9003;
/** A checkpoint location on chain could not be understood or fetched. */
export const NODE_CHECKPOINT_UNAVAILABLE = 9004;
/** The local run (launcher) failed: a node exited, the run did not finish in time. */
export const NODE_LOCAL_RUN_FAILED = 9005;
/** A caller passed an argument a node function cannot work with (e.g. a member listed twice). */
export const NODE_INVALID_ARGUMENT = 9006;

export type NodeErrorContext = {
  [NODE_CODE_RANGE_START]: { reason: string };
  [NODE_INVALID_CONFIG]: { path: string; field: string; reason: string };
  [NODE_MALFORMED_ANNOUNCEMENT]: { offset: number; reason: string };
  [NODE_RESULT_REJECTED]: { step: string; sender: string; reason: string };
  [NODE_CHECKPOINT_UNAVAILABLE]: { location: string; reason: string };
  [NODE_LOCAL_RUN_FAILED]: { reason: string };
  [NODE_INVALID_ARGUMENT]: { what: string; reason: string };
};
