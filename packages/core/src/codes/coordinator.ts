// coordinator codes: 8000-8999. Codes are never removed, reused or renumbered.
// Add a code as `export const COORDINATOR_SOMETHING = 8NNN;` and its context below.
// 8000-8099: client side; 8100-8199: returned by the on-chain program as Custom(code), with the
// same number, so a failed transaction maps to a code without a table; 8900-8999: the SBF linker.
export const COORDINATOR_CODE_RANGE_START = 8000;
export const COORDINATOR_PROGRAM_ERROR = 8001;
export const COORDINATOR_MALFORMED_ACCOUNT = 8002;
export const COORDINATOR_TRANSACTION_FAILED = 8003;
export const COORDINATOR_INVALID_CONFIG = 8004;
export const COORDINATOR_RPC_ERROR = 8005;
export const COORDINATOR_MALFORMED_SNAPSHOT = 8006;
export const COORDINATOR_MALFORMED_INSTRUCTION = 8007;
/** A WebSocket message from the RPC endpoint larger than the client admits (maxSubscriptionMessageBytes). */
export const COORDINATOR_RPC_MESSAGE_TOO_LARGE = 8008;

// Program codes (Custom(n) of a failed instruction).
export const COORDINATOR_PROGRAM_INVALID_INSTRUCTION = 8100;
export const COORDINATOR_PROGRAM_MISSING_SIGNER = 8101;
export const COORDINATOR_PROGRAM_WRONG_OWNER = 8102;
export const COORDINATOR_PROGRAM_NOT_WRITABLE = 8103;
export const COORDINATOR_PROGRAM_WRONG_ACCOUNT_SIZE = 8104;
export const COORDINATOR_PROGRAM_ALREADY_INITIALIZED = 8105;
export const COORDINATOR_PROGRAM_NOT_INITIALIZED = 8106;
export const COORDINATOR_PROGRAM_INVALID_CONFIG = 8107;
export const COORDINATOR_PROGRAM_NOT_AUTHORITY = 8108;
export const COORDINATOR_PROGRAM_WRONG_STATE = 8109;
export const COORDINATOR_PROGRAM_RUN_FULL = 8110;
export const COORDINATOR_PROGRAM_ALREADY_JOINED = 8111;
export const COORDINATOR_PROGRAM_NOT_A_CLIENT = 8112;
export const COORDINATOR_PROGRAM_NOT_A_WITNESS = 8113;
export const COORDINATOR_PROGRAM_INDEX_OUT_OF_RANGE = 8114;
export const COORDINATOR_PROGRAM_WRONG_ROUND = 8115;
export const COORDINATOR_PROGRAM_DUPLICATE_WITNESS = 8116;
export const COORDINATOR_PROGRAM_REVEAL_MISMATCH = 8117;
export const COORDINATOR_PROGRAM_NOT_ENOUGH_ACCOUNTS = 8118;
export const COORDINATOR_PROGRAM_HALTED = 8119;
export const COORDINATOR_PROGRAM_CLIENT_HEALTHY = 8120;
export const COORDINATOR_PROGRAM_TOO_EARLY = 8121;
/** A Bloom filter that is not canonical (docs/verify.md), or probe parameters out of range. */
export const COORDINATOR_PROGRAM_MALFORMED_BLOOM = 8123;
/** A witness's participant filter not sized for the round's clients (1%) or not seeded by the round seed. */
export const COORDINATOR_PROGRAM_BLOOM_MISMATCH = 8124;
/** A witness votes for a participant that its own participant filter does not contain. */
export const COORDINATOR_PROGRAM_PARTICIPANT_NOT_IN_BLOOM = 8125;

// The SBF linker.
export const COORDINATOR_LINKER_MALFORMED_OBJECT = 8900;
export const COORDINATOR_LINKER_UNSUPPORTED_SECTION = 8901;
export const COORDINATOR_LINKER_UNSUPPORTED_RELOCATION = 8902;
export const COORDINATOR_LINKER_UNSUPPORTED_INSTRUCTION = 8903;
export const COORDINATOR_LINKER_UNDEFINED_SYMBOL = 8904;
export const COORDINATOR_LINKER_MISSING_ENTRYPOINT = 8905;
export const COORDINATOR_BUILD_FAILED = 8906;

type ProgramCodeContext = { instruction: string; logs: readonly string[] };

export type CoordinatorErrorContext = {
  [COORDINATOR_CODE_RANGE_START]: { reason: string };
  [COORDINATOR_PROGRAM_ERROR]: { programCode: number; instruction: string; logs: readonly string[] };
  [COORDINATOR_MALFORMED_ACCOUNT]: { account: string; reason: string };
  [COORDINATOR_TRANSACTION_FAILED]: { instruction: string; error: string; logs: readonly string[] };
  [COORDINATOR_INVALID_CONFIG]: { field: string; reason: string };
  [COORDINATOR_RPC_ERROR]: { method: string; reason: string };
  [COORDINATOR_MALFORMED_SNAPSHOT]: { path: string; reason: string };
  [COORDINATOR_MALFORMED_INSTRUCTION]: { reason: string };
  [COORDINATOR_RPC_MESSAGE_TOO_LARGE]: { limit: number };
  [COORDINATOR_PROGRAM_INVALID_INSTRUCTION]: ProgramCodeContext;
  [COORDINATOR_PROGRAM_MISSING_SIGNER]: ProgramCodeContext;
  [COORDINATOR_PROGRAM_WRONG_OWNER]: ProgramCodeContext;
  [COORDINATOR_PROGRAM_NOT_WRITABLE]: ProgramCodeContext;
  [COORDINATOR_PROGRAM_WRONG_ACCOUNT_SIZE]: ProgramCodeContext;
  [COORDINATOR_PROGRAM_ALREADY_INITIALIZED]: ProgramCodeContext;
  [COORDINATOR_PROGRAM_NOT_INITIALIZED]: ProgramCodeContext;
  [COORDINATOR_PROGRAM_INVALID_CONFIG]: ProgramCodeContext;
  [COORDINATOR_PROGRAM_NOT_AUTHORITY]: ProgramCodeContext;
  [COORDINATOR_PROGRAM_WRONG_STATE]: ProgramCodeContext;
  [COORDINATOR_PROGRAM_RUN_FULL]: ProgramCodeContext;
  [COORDINATOR_PROGRAM_ALREADY_JOINED]: ProgramCodeContext;
  [COORDINATOR_PROGRAM_NOT_A_CLIENT]: ProgramCodeContext;
  [COORDINATOR_PROGRAM_NOT_A_WITNESS]: ProgramCodeContext;
  [COORDINATOR_PROGRAM_INDEX_OUT_OF_RANGE]: ProgramCodeContext;
  [COORDINATOR_PROGRAM_WRONG_ROUND]: ProgramCodeContext;
  [COORDINATOR_PROGRAM_DUPLICATE_WITNESS]: ProgramCodeContext;
  [COORDINATOR_PROGRAM_REVEAL_MISMATCH]: ProgramCodeContext;
  [COORDINATOR_PROGRAM_NOT_ENOUGH_ACCOUNTS]: ProgramCodeContext;
  [COORDINATOR_PROGRAM_HALTED]: ProgramCodeContext;
  [COORDINATOR_PROGRAM_CLIENT_HEALTHY]: ProgramCodeContext;
  [COORDINATOR_PROGRAM_TOO_EARLY]: ProgramCodeContext;
  [COORDINATOR_PROGRAM_MALFORMED_BLOOM]: ProgramCodeContext;
  [COORDINATOR_PROGRAM_BLOOM_MISMATCH]: ProgramCodeContext;
  [COORDINATOR_PROGRAM_PARTICIPANT_NOT_IN_BLOOM]: ProgramCodeContext;
  [COORDINATOR_LINKER_MALFORMED_OBJECT]: { reason: string };
  [COORDINATOR_LINKER_UNSUPPORTED_SECTION]: { section: string; reason: string };
  [COORDINATOR_LINKER_UNSUPPORTED_RELOCATION]: { section: string; type: number; offset: number };
  [COORDINATOR_LINKER_UNSUPPORTED_INSTRUCTION]: { opcode: number; offset: number; reason: string };
  [COORDINATOR_LINKER_UNDEFINED_SYMBOL]: { symbol: string };
  [COORDINATOR_LINKER_MISSING_ENTRYPOINT]: { symbol: string };
  [COORDINATOR_BUILD_FAILED]: { command: string; stderr: string };
};
