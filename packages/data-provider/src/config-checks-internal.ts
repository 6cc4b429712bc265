import { DATA_INVALID_CONFIG, PsycheError, describeValue } from '@psyche/core';

/** Longest delay setTimeout honours (2^31 − 1 ms, about 24.8 days); node fires a longer one after 1 ms. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * A numeric option that must be an integer in [min, max]. NaN slips through `<`/`>` checks and
 * Math.max/min, and used as a count it gave empty loops (batches of zeros, no limit at all), so
 * NaN, fractions, ±Infinity and out-of-range values are DATA_INVALID_CONFIG naming the field.
 */
export function integerOption(field: string, value: number, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new PsycheError(DATA_INVALID_CONFIG, { field, value: describeValue(value), expected: `an integer in [${min}, ${max}]` }, `${field} must be an integer in [${min}, ${max}], got ${describeValue(value)}`);
  }
  return value;
}

/** A deadline in ms: at least 1 (0 or less fires at once) and at most MAX_TIMER_MS (longer fires after 1 ms). */
export function timeoutOption(field: string, value: number): number {
  return integerOption(field, value, 1, MAX_TIMER_MS);
}
