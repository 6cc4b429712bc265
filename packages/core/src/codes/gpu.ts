// gpu codes: 4000-4999. Codes are never removed, reused or renumbered.
// Add a code as `export const GPU_SOMETHING = 4NNN;` and its context below.
export const GPU_CODE_RANGE_START = 4000;
/** The requested execution provider (cuda, webgpu) cannot be loaded; `install` says how to get it. */
export const GPU_PROVIDER_UNAVAILABLE = 4001;
/** ONNX Runtime rejected the model or failed while running it. */
export const GPU_SESSION_FAILED = 4002;
/** The executor was closed (or is closing); no more runs are accepted. */
export const GPU_EXECUTOR_CLOSED = 4003;
/** Feeds do not match the session's inputs (missing name, wrong dtype or length). */
export const GPU_INPUT_MISMATCH = 4004;
/** The native kernel addon is not built or failed to load. */
export const GPU_NATIVE_UNAVAILABLE = 4005;
/** A kernel got buffers whose lengths do not match the chunk layout, or an out-of-range k. */
export const GPU_KERNEL_ARGUMENT = 4006;
/** A native or CUDA kernel failed while running (a CUDA error, out of device memory). */
export const GPU_KERNEL_FAILED = 4007;

export type GpuErrorContext = {
  [GPU_CODE_RANGE_START]: { reason: string };
  [GPU_PROVIDER_UNAVAILABLE]: { provider: string; missing: string; install: string };
  [GPU_SESSION_FAILED]: { reason: string };
  [GPU_EXECUTOR_CLOSED]: { reason: string };
  [GPU_INPUT_MISMATCH]: { name: string; expected: string; received: string };
  [GPU_NATIVE_UNAVAILABLE]: { reason: string };
  [GPU_KERNEL_ARGUMENT]: { name: string; expected: string; received: string };
  [GPU_KERNEL_FAILED]: { op: string; reason: string };
};
