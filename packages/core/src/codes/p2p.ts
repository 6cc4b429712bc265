// p2p codes: 5000-5999. Codes are never removed, reused or renumbered.
// Add a code as `export const P2P_SOMETHING = 5NNN;` and its context below.
export const P2P_CODE_RANGE_START = 5000;
export const P2P_MALFORMED_NODE_ID = 5001;
export const P2P_MALFORMED_KEY_FILE = 5002;
export const P2P_MALFORMED_ENVELOPE = 5003;
export const P2P_MESSAGE_TOO_LARGE = 5004;
export const P2P_SIGNATURE_INVALID = 5005;
export const P2P_SENDER_NOT_MEMBER = 5006;
export const P2P_DUPLICATE_MESSAGE = 5007;
export const P2P_TOPIC_MISMATCH = 5008;
export const P2P_MALFORMED_TICKET = 5009;
export const P2P_MALFORMED_BLOB_FRAME = 5010;
export const P2P_BLOB_TOO_LARGE = 5011;
export const P2P_BLOB_HASH_MISMATCH = 5012;
export const P2P_BLOB_SIZE_MISMATCH = 5013;
export const P2P_BLOB_NOT_FOUND = 5014;
export const P2P_BLOB_STALLED = 5015;
export const P2P_BLOB_FETCH_FAILED = 5016;
export const P2P_PROVIDER_UNREACHABLE = 5017;
export const P2P_STOPPED = 5018;
export const P2P_PEER_BANNED = 5019;
export const P2P_ABORTED = 5020;
export const P2P_INVALID_CONFIG = 5021;

export type P2pErrorContext = {
  [P2P_CODE_RANGE_START]: { reason: string };
  [P2P_MALFORMED_NODE_ID]: { length: number; reason: string };
  [P2P_MALFORMED_KEY_FILE]: { path: string; reason: string };
  [P2P_MALFORMED_ENVELOPE]: { reason: string };
  [P2P_MESSAGE_TOO_LARGE]: { size: number; limit: number };
  [P2P_SIGNATURE_INVALID]: { sender: string };
  [P2P_SENDER_NOT_MEMBER]: { sender: string; topic: string };
  [P2P_DUPLICATE_MESSAGE]: { messageId: string };
  [P2P_TOPIC_MISMATCH]: { expected: string; received: string };
  [P2P_MALFORMED_TICKET]: { reason: string };
  [P2P_MALFORMED_BLOB_FRAME]: { frame: string; reason: string };
  [P2P_BLOB_TOO_LARGE]: { size: number; limit: number };
  [P2P_BLOB_HASH_MISMATCH]: { expected: string; received: string; provider: string };
  [P2P_BLOB_SIZE_MISMATCH]: { expected: number; received: number; provider: string };
  [P2P_BLOB_NOT_FOUND]: { hash: string; provider: string };
  [P2P_BLOB_STALLED]: { hash: string; provider: string; idleMs: number; received: number };
  [P2P_BLOB_FETCH_FAILED]: { hash: string; attempts: number; reasons: string[] };
  [P2P_PROVIDER_UNREACHABLE]: { provider: string; reason: string };
  [P2P_STOPPED]: { what: string };
  [P2P_PEER_BANNED]: { peer: string; score: number };
  [P2P_ABORTED]: { what: string };
  [P2P_INVALID_CONFIG]: { field: string; value: string; expected: string };
};
