import { DISTRO_INVALID_CONFIG, PsycheError, describeValue } from '@psyche/core';
import { DEFAULT_CHUNK } from './chunk-layout.ts';
import type { DistroKernels } from './kernels.ts';
import { typescriptKernels } from './typescript-kernels.ts';

/** Settings shared by the DisTrO and DeMo optimizers. Defaults are Psyche's production run's. */
export interface DistroConfig {
  /** Largest chunk length per dimension (default 64). */
  readonly chunk?: number;
  /** Coefficients kept per chunk (default 4), clamped to the chunk's size for small tensors. */
  readonly topk?: number;
  /** Momentum decay β in delta ← β·delta + lr·g (default 0.995; the DeMo paper uses 0.999). */
  readonly compressionDecay?: number;
  /** Decoupled weight decay: w ← w·(1 − lr·wd) every step (default 0). */
  readonly weightDecay?: number;
  /** Clip gradients to this global L2 norm before each step; 0 disables (default 1.0). */
  readonly clipGradNorm?: number;
  /** Kernel backend (default: the fast TypeScript kernels). */
  readonly kernels?: DistroKernels;
}

export interface ResolvedDistroConfig {
  readonly chunk: number;
  readonly topk: number;
  readonly compressionDecay: number;
  readonly weightDecay: number;
  readonly clipGradNorm: number;
  readonly kernels: DistroKernels;
}

function invalid(field: string, value: unknown, expected: string): PsycheError {
  return new PsycheError(DISTRO_INVALID_CONFIG, { field, value: describeValue(value), expected }, `DisTrO config ${field}: expected ${expected}, got ${describeValue(value)}`);
}

/** Fills defaults and rejects bad hyperparameters up front (as DeMo's constructor does). */
export function resolveDistroConfig(config: DistroConfig = {}): ResolvedDistroConfig {
  const resolved = {
    chunk: config.chunk ?? DEFAULT_CHUNK,
    topk: config.topk ?? 4,
    compressionDecay: config.compressionDecay ?? 0.995,
    weightDecay: config.weightDecay ?? 0,
    clipGradNorm: config.clipGradNorm ?? 1,
    kernels: config.kernels ?? typescriptKernels,
  };
  // typeof before each comparison: `>=` on a symbol or a {toString: null} from a JS caller throws a TypeError.
  if (!Number.isInteger(resolved.chunk) || resolved.chunk < 1 || resolved.chunk > 4096) throw invalid('chunk', resolved.chunk, 'integer in [1, 4096]');
  if (!Number.isInteger(resolved.topk) || resolved.topk < 1) throw invalid('topk', resolved.topk, 'integer ≥ 1');
  if (!(typeof resolved.compressionDecay === 'number' && resolved.compressionDecay >= 0 && resolved.compressionDecay < 1)) throw invalid('compressionDecay', resolved.compressionDecay, 'number in [0, 1)');
  if (!(typeof resolved.weightDecay === 'number' && resolved.weightDecay >= 0 && Number.isFinite(resolved.weightDecay))) throw invalid('weightDecay', resolved.weightDecay, 'finite number ≥ 0');
  if (!(typeof resolved.clipGradNorm === 'number' && resolved.clipGradNorm >= 0 && Number.isFinite(resolved.clipGradNorm))) throw invalid('clipGradNorm', resolved.clipGradNorm, 'finite number ≥ 0 (0 disables)');
  return resolved;
}
