// verify codes: 6000-6999. Codes are never removed, reused or renumbered.
// Add a code as `export const VERIFY_SOMETHING = 6NNN;` and its context below.
export const VERIFY_CODE_RANGE_START = 6000;
/** An Ed25519 signature that is not 64 bytes. */
export const VERIFY_MALFORMED_SIGNATURE = 6001;
/** An Ed25519 public key that is not 32 bytes, or not a point on the curve. */
export const VERIFY_MALFORMED_PUBLIC_KEY = 6002;
/** A commitment encoding of the wrong length or a data hash that is not 32 bytes. */
export const VERIFY_MALFORMED_COMMITMENT = 6003;
/** Bloom filter bytes that do not decode (truncated, bad version, non-zero padding, trailing bytes). */
export const VERIFY_MALFORMED_BLOOM = 6004;
/** Bloom filter parameters outside what the encoding and the on-chain program accept. */
export const VERIFY_BLOOM_PARAMETER_OUT_OF_RANGE = 6005;
/** A Merkle inclusion proof that does not fit its tree (index ≥ count, wrong sibling count, truncated). */
export const VERIFY_MALFORMED_MERKLE_PROOF = 6006;
/** A witness index outside [0, witness count) (Psyche accepted any index, then panicked). */
export const VERIFY_WITNESS_INDEX_OUT_OF_RANGE = 6007;
/** Two results (or tensors) compared by a similarity metric do not have the same layout. */
export const VERIFY_LAYOUT_MISMATCH = 6008;
/** A sparse result whose indices are out of their chunk, not ascending, or whose arrays disagree in length. */
export const VERIFY_MALFORMED_RESULT = 6009;
/** Committee or consensus parameters that make no sense (more verifiers than nodes, empty set...). */
export const VERIFY_INVALID_PARAMETER = 6010;
/** A witness report that does not decode (truncated, bad version, oversized or mislabelled parts). */
export const VERIFY_MALFORMED_WITNESS_REPORT = 6011;

export type VerifyErrorContext = {
  [VERIFY_CODE_RANGE_START]: { reason: string };
  [VERIFY_MALFORMED_SIGNATURE]: { length: number; expected: number };
  [VERIFY_MALFORMED_PUBLIC_KEY]: { length: number; reason: string };
  [VERIFY_MALFORMED_COMMITMENT]: { length: number; expected: number; what: string };
  [VERIFY_MALFORMED_BLOOM]: { offset: number; reason: string };
  [VERIFY_BLOOM_PARAMETER_OUT_OF_RANGE]: { field: string; value: string; expected: string };
  [VERIFY_MALFORMED_MERKLE_PROOF]: { reason: string };
  [VERIFY_WITNESS_INDEX_OUT_OF_RANGE]: { index: string; witnessCount: number };
  [VERIFY_LAYOUT_MISMATCH]: { what: string; expected: string; received: string };
  [VERIFY_MALFORMED_RESULT]: { what: string; reason: string };
  [VERIFY_INVALID_PARAMETER]: { field: string; value: string; expected: string };
  [VERIFY_MALFORMED_WITNESS_REPORT]: { offset: number; reason: string };
};
