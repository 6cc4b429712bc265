import { DISTRO_INVALID_CONFIG, DISTRO_OPTIMIZER_STATE, PsycheError, describeValue } from '@psyche/core';

/**
 * Psyche's training/sharing overlap: results produced at step s are applied at step s + delay
 * (delay 2: round N trains on weights with round N−2 applied while N−1 is still being shared).
 * The first `delay` steps of an epoch apply nothing; the last `delay` results are drained with `drain`.
 */
/**
 * Steps are safe integers: a symbol or {toString: null} step from a JS caller threw a TypeError in
 * `step - delay`, in drain's sort, or in the duplicate message's template literal.
 */
function assertStep(step: unknown): asserts step is number {
  if (!Number.isSafeInteger(step)) {
    throw new PsycheError(DISTRO_OPTIMIZER_STATE, { reason: `step ${describeValue(step)} is not an integer` }, `overlap queue: step ${describeValue(step)} is not an integer`);
  }
}

export class OverlapQueue<T> {
  readonly delay: number;
  private readonly pending = new Map<number, T>();

  constructor(delay = 2) {
    // A NaN or fractional delay would make takeDue look up steps that never exist: nothing would ever be applied.
    if (!Number.isSafeInteger(delay) || delay < 0) {
      throw new PsycheError(DISTRO_INVALID_CONFIG, { field: 'delay', value: describeValue(delay), expected: 'integer ≥ 0' }, `overlap delay must be an integer ≥ 0, got ${describeValue(delay)}`);
    }
    this.delay = delay;
  }

  push(step: number, item: T): void {
    assertStep(step);
    if (this.pending.has(step)) throw new PsycheError(DISTRO_OPTIMIZER_STATE, { reason: `step ${step} pushed twice` }, `results of step ${step} pushed twice`);
    this.pending.set(step, item);
  }

  /** The item pushed at step − delay, removed from the queue (undefined in the first steps). */
  takeDue(step: number): T | undefined {
    assertStep(step);
    const due = step - this.delay;
    const item = this.pending.get(due);
    this.pending.delete(due);
    return item;
  }

  /** Everything still pending, in step order (for the end of an epoch). */
  drain(): T[] {
    const steps = [...this.pending.keys()].sort((a, b) => a - b);
    const items = steps.map((s) => this.pending.get(s)!);
    this.pending.clear();
    return items;
  }

  get size(): number {
    return this.pending.size;
  }
}
