import { integerOption } from './config-checks-internal.ts';
import type { AuthorizeHook, AuthorizationResult, DataRequest } from './tcp-data-server.ts';

/** Batch ids [start, end] inclusive, as Psyche's ClosedInterval. */
export type BatchInterval = readonly [start: number, end: number];

export interface RoundAuthorizer {
  /** The hook to give startTcpDataServer. */
  authorize: AuthorizeHook;
  /** Records which ids each client was assigned at `step` (the coordinator's data assignment). */
  setAssignments(step: number, assignments: Readonly<Record<string, readonly BatchInterval[]>>): void;
}

const inside = (id: number, intervals: readonly BatchInterval[]): boolean => intervals.some(([start, end]) => id >= start && id <= end);

/**
 * The authorization rule of Psyche's data server, kept for the last `keepSteps` steps (default 2,
 * because training overlaps the next round): ids outside everything assigned at `step` are
 * 'wrong-data-id-for-step'; ids of the step assigned to another client are 'not-in-this-round'.
 */
export function createRoundAuthorizer(options: { keepSteps?: number } = {}): RoundAuthorizer {
  // NaN or 0 forgot every step at once (all requests rejected); Infinity kept every step forever.
  const keepSteps = integerOption('keepSteps', options.keepSteps ?? 2, 1);
  const steps = new Map<number, Map<string, readonly BatchInterval[]>>();
  return {
    setAssignments(step, assignments) {
      steps.set(step, new Map(Object.entries(assignments)));
      const known = [...steps.keys()].sort((a, b) => b - a);
      for (const old of known.slice(keepSteps)) steps.delete(old);
    },
    authorize(request: DataRequest): AuthorizationResult {
      const assignments = steps.get(request.step);
      if (assignments === undefined) return { rejected: 'wrong-data-id-for-step' };
      const all = [...assignments.values()].flat();
      if (!request.batchIds.every((id) => inside(id, all))) return { rejected: 'wrong-data-id-for-step' };
      const mine = assignments.get(request.clientId) ?? [];
      return request.batchIds.every((id) => inside(id, mine)) ? 'ok' : { rejected: 'not-in-this-round' };
    },
  };
}
