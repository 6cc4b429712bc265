import { describeValue } from './describe-value.ts';
import { CORE_INVALID_ARGUMENT } from './codes/core.ts';
import { PsycheError } from './psyche-error.ts';

/** Throws CORE_INVALID_ARGUMENT unless `value` is an integer in [min, max]. */
export function assertInteger(argument: string, value: unknown, min = 0, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new PsycheError(
      CORE_INVALID_ARGUMENT,
      { argument, expected: `integer in [${min}, ${max}]`, received: describeValue(value) },
      `${argument}: expected an integer in [${min}, ${max}], got ${describeValue(value)}`,
    );
  }
  return value;
}

/** Throws CORE_INVALID_ARGUMENT unless `value` is a finite number in [min, max]. */
export function assertFiniteNumber(argument: string, value: unknown, min = -Infinity, max = Infinity): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max) {
    throw new PsycheError(
      CORE_INVALID_ARGUMENT,
      { argument, expected: `finite number in [${min}, ${max}]`, received: describeValue(value) },
      `${argument}: expected a finite number in [${min}, ${max}], got ${describeValue(value)}`,
    );
  }
  return value;
}

/** Throws CORE_INVALID_ARGUMENT unless `value` is a Uint8Array (of `length`, when given). */
export function assertBytes(argument: string, value: unknown, length?: number): Uint8Array {
  if (!(value instanceof Uint8Array)) {
    throw new PsycheError(
      CORE_INVALID_ARGUMENT,
      { argument, expected: 'Uint8Array', received: typeof value },
      `${argument}: expected Uint8Array, got ${typeof value}`,
    );
  }
  if (length !== undefined && value.length !== length) {
    throw new PsycheError(
      CORE_INVALID_ARGUMENT,
      { argument, expected: `Uint8Array of length ${length}`, received: `length=${value.length}` },
      `${argument}: expected Uint8Array of length ${length}, got length=${value.length}`,
    );
  }
  return value;
}
