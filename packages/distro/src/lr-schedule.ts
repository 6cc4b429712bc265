import { DISTRO_INVALID_CONFIG, PsycheError, describeValue } from '@psyche/core';

/** Learning rate as a function of the 0-based step. */
export type LrSchedule = (step: number) => number;

function check(field: string, value: number, ok: boolean, expected: string): void {
  if (!ok || !Number.isFinite(value)) {
    throw new PsycheError(DISTRO_INVALID_CONFIG, { field, value: describeValue(value), expected }, `${field}: expected ${expected}, got ${describeValue(value)}`);
  }
}

/** typeof before a comparison: `>=` on a symbol or a {toString: null} from a JS caller throws a TypeError. */
const isNumber = (value: unknown): value is number => typeof value === 'number';

export function constantSchedule(lr: number): LrSchedule {
  check('lr', lr, isNumber(lr) && lr >= 0, '≥ 0');
  return () => lr;
}

export interface CosineScheduleOptions {
  readonly baseLr: number;
  readonly warmupSteps: number;
  readonly totalSteps: number;
  readonly minLr?: number;
}

/** Linear warmup from 0 to baseLr, then half-cosine decay to minLr at totalSteps (held after). */
export function cosineSchedule({ baseLr, warmupSteps, totalSteps, minLr = 0 }: CosineScheduleOptions): LrSchedule {
  check('baseLr', baseLr, isNumber(baseLr) && baseLr >= 0, '≥ 0');
  check('warmupSteps', warmupSteps, Number.isInteger(warmupSteps) && warmupSteps >= 0, 'integer ≥ 0');
  check('totalSteps', totalSteps, Number.isInteger(totalSteps) && totalSteps > warmupSteps, `integer > warmupSteps`);
  check('minLr', minLr, isNumber(minLr) && minLr >= 0 && minLr <= baseLr, '0 ≤ minLr ≤ baseLr');
  return (step) => {
    if (step < warmupSteps) return (baseLr * (step + 1)) / warmupSteps;
    const progress = Math.min(1, (step - warmupSteps) / (totalSteps - warmupSteps));
    return minLr + 0.5 * (baseLr - minLr) * (1 + Math.cos(Math.PI * progress));
  };
}

export interface WsdScheduleOptions {
  readonly baseLr: number;
  readonly warmupSteps: number;
  readonly stableSteps: number;
  readonly decaySteps: number;
  readonly minLr?: number;
}

/** Warmup–stable–decay (as Psyche's production runs): linear warmup, constant, then linear decay to minLr. */
export function wsdSchedule({ baseLr, warmupSteps, stableSteps, decaySteps, minLr = 0 }: WsdScheduleOptions): LrSchedule {
  check('baseLr', baseLr, isNumber(baseLr) && baseLr >= 0, '≥ 0');
  for (const [field, value] of [['warmupSteps', warmupSteps], ['stableSteps', stableSteps], ['decaySteps', decaySteps]] as const) {
    check(field, value, Number.isInteger(value) && value >= 0, 'integer ≥ 0');
  }
  check('minLr', minLr, isNumber(minLr) && minLr >= 0 && minLr <= baseLr, '0 ≤ minLr ≤ baseLr');
  return (step) => {
    if (step < warmupSteps) return (baseLr * (step + 1)) / warmupSteps;
    if (step < warmupSteps + stableSteps) return baseLr;
    if (decaySteps === 0) return minLr;
    const progress = Math.min(1, (step - warmupSteps - stableSteps + 1) / decaySteps);
    return baseLr + (minLr - baseLr) * progress;
  };
}
