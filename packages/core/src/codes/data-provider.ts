// data-provider codes: 7000-7999. Codes are never removed, reused or renumbered.
// Add a code as `export const DATA_SOMETHING = 7NNN;` and its context below.
export const DATA_CODE_RANGE_START = 7000;
export const DATA_MANIFEST_MALFORMED = 7001;
export const DATA_MANIFEST_MISMATCH = 7002;
export const DATA_FILE_MISSING = 7003;
export const DATA_FILE_TRUNCATED = 7004;
export const DATA_CHECKSUM_MISMATCH = 7005;
export const DATA_TOKEN_OUT_OF_RANGE = 7006;
export const DATA_BATCH_ID_OUT_OF_RANGE = 7007;
export const DATA_INVALID_CONFIG = 7008;
export const DATA_HTTP_STATUS = 7009;
export const DATA_HTTP_SHORT_READ = 7010;
export const DATA_HTTP_FAILED = 7011;
export const DATA_TIMEOUT = 7012;
export const DATA_ABORTED = 7013;
export const DATA_FRAME_MALFORMED = 7014;
export const DATA_FRAME_TOO_LARGE = 7015;
export const DATA_REQUEST_REJECTED = 7016;
export const DATA_CONNECTION_CLOSED = 7017;
export const DATA_SERVER_BUSY = 7018;
export const DATA_PROTOCOL_VERSION_MISMATCH = 7019;
export const DATA_PROVIDER_INCOMPATIBLE = 7020;
export const DATA_PROVIDER_CLOSED = 7021;
export const DATA_REMOTE_ERROR = 7022;
export const DATA_TOKENIZE_INPUT_INVALID = 7023;
/** A command-line argument of `psyche-data` is unknown, missing, malformed or out of range. */
export const DATA_INVALID_ARGUMENT = 7024;

export type DataRejectionReason = 'not-in-this-round' | 'wrong-data-id-for-step';

export type DataProviderErrorContext = {
  [DATA_CODE_RANGE_START]: { reason: string };
  [DATA_MANIFEST_MALFORMED]: { source: string; reason: string };
  [DATA_MANIFEST_MISMATCH]: { file: string; field: string; expected: string; actual: string };
  [DATA_FILE_MISSING]: { file: string };
  [DATA_FILE_TRUNCATED]: { file: string; expectedBytes: number; actualBytes: number };
  [DATA_CHECKSUM_MISMATCH]: { file: string; expected: string; actual: string };
  [DATA_TOKEN_OUT_OF_RANGE]: { source: string; position: number; token: number; vocabSize: number };
  [DATA_BATCH_ID_OUT_OF_RANGE]: { batchId: string; reason: string };
  [DATA_INVALID_CONFIG]: { field: string; value: string; expected: string };
  [DATA_HTTP_STATUS]: { url: string; status: number };
  [DATA_HTTP_SHORT_READ]: { url: string; expectedBytes: number; receivedBytes: number };
  [DATA_HTTP_FAILED]: { url: string; attempts: number; reason: string };
  [DATA_TIMEOUT]: { operation: string; timeoutMs: number };
  [DATA_ABORTED]: { operation: string };
  [DATA_FRAME_MALFORMED]: { offset: number; reason: string };
  [DATA_FRAME_TOO_LARGE]: { length: number; limit: number };
  [DATA_REQUEST_REJECTED]: { reason: DataRejectionReason; step: number; batchIds: string };
  [DATA_CONNECTION_CLOSED]: { peer: string; reason: string };
  [DATA_SERVER_BUSY]: { peer: string; maxConnections: number };
  [DATA_PROTOCOL_VERSION_MISMATCH]: { received: number; supported: number };
  [DATA_PROVIDER_INCOMPATIBLE]: { field: string; expected: string; actual: string };
  [DATA_PROVIDER_CLOSED]: { provider: string };
  [DATA_REMOTE_ERROR]: { peer: string; code: number; message: string };
  [DATA_TOKENIZE_INPUT_INVALID]: { file: string; reason: string };
  [DATA_INVALID_ARGUMENT]: { argument: string; expected: string; received: string };
};
