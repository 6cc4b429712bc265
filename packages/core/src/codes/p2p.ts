// p2p codes: 5000-5999. Codes are never removed, reused or renumbered.
// Add a code as `export const P2P_SOMETHING = 5NNN;` and its context below.
export const P2P_CODE_RANGE_START = 5000;

export type P2pErrorContext = {
  [P2P_CODE_RANGE_START]: { reason: string };
};
