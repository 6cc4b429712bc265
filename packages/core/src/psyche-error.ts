import type { CoordinatorErrorContext } from './codes/coordinator.ts';
import type { CoreErrorContext } from './codes/core.ts';
import type { DataProviderErrorContext } from './codes/data-provider.ts';
import type { DistroErrorContext } from './codes/distro.ts';
import type { GpuErrorContext } from './codes/gpu.ts';
import type { ModelingErrorContext } from './codes/modeling.ts';
import type { NodeErrorContext } from './codes/node.ts';
import type { P2pErrorContext } from './codes/p2p.ts';
import type { VerifyErrorContext } from './codes/verify.ts';

/** Typed context of every code, one range per package (see `codes/*.ts`). */
export type PsycheErrorContext = CoreErrorContext &
  DistroErrorContext &
  ModelingErrorContext &
  GpuErrorContext &
  P2pErrorContext &
  VerifyErrorContext &
  DataProviderErrorContext &
  CoordinatorErrorContext &
  NodeErrorContext;

export type PsycheErrorCode = keyof PsycheErrorContext;

/**
 * The one error class of the SDK. `code` is stable across releases; `context` is typed per code.
 * Match with {@link isPsycheError}, which compares `name` (works across bundled copies), not `instanceof`.
 *
 * @example
 * try { reader.u32(); } catch (e) { if (isPsycheError(e, CORE_BYTES_OUT_OF_RANGE)) e.context.needed; }
 */
export class PsycheError<C extends PsycheErrorCode = PsycheErrorCode> extends Error {
  override readonly name = 'PsycheError';
  readonly code: C;
  readonly context: PsycheErrorContext[C];

  constructor(code: C, context: PsycheErrorContext[C], message: string, options?: { cause?: unknown }) {
    super(`[${code}] ${message}`, options);
    this.code = code;
    this.context = context;
  }
}

export function isPsycheError<C extends PsycheErrorCode>(e: unknown, code?: C): e is PsycheError<C> {
  if (typeof e !== 'object' || e === null) return false;
  const candidate = e as { name?: unknown; code?: unknown };
  if (candidate.name !== 'PsycheError' || typeof candidate.code !== 'number') return false;
  return code === undefined || candidate.code === code;
}
