import { DISTRO_INVALID_CONFIG, PsycheError, describeValue } from '@psyche/core';

/**
 * The scalars of the element-wise kernels, checked by every backend before it touches a buffer:
 * a NaN decay or lr would silently turn the whole momentum or every weight into NaN, and a symbol
 * or object would throw a TypeError in the TypeScript loop (or reach the native addon).
 * decay ∈ [0, 1] (DeMo's β), lr finite and ≥ 0.
 */
export function assertKernelScalars(decay: number | undefined, lr: number): void {
  if (decay !== undefined && (typeof decay !== 'number' || !(decay >= 0 && decay <= 1))) {
    throw new PsycheError(DISTRO_INVALID_CONFIG, { field: 'decay', value: describeValue(decay), expected: 'number in [0, 1]' }, `kernel decay must be a number in [0, 1], got ${describeValue(decay)}`);
  }
  if (typeof lr !== 'number' || !Number.isFinite(lr) || lr < 0) {
    throw new PsycheError(DISTRO_INVALID_CONFIG, { field: 'lr', value: describeValue(lr), expected: 'finite number ≥ 0' }, `kernel lr must be a finite number ≥ 0, got ${describeValue(lr)}`);
  }
}
