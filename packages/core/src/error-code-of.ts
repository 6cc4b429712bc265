import { isPsycheError } from './psyche-error.ts';

/**
 * Runs `fn` and says how it failed: the PsycheError code it threw, −1 for any other exception,
 * undefined when it returned. For tests and compliance suites that check stable codes.
 */
export function psycheErrorCodeOf(fn: () => unknown): number | undefined {
  try {
    fn();
  } catch (e) {
    return isPsycheError(e) ? e.code : -1;
  }
  return undefined;
}

/** The same for an asynchronous `fn`. */
export async function psycheErrorCodeOfAsync(fn: () => Promise<unknown>): Promise<number | undefined> {
  try {
    await fn();
  } catch (e) {
    return isPsycheError(e) ? e.code : -1;
  }
  return undefined;
}
