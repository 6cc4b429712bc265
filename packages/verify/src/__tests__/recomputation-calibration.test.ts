import { describe, expect, it } from 'vitest';
import { DEFAULT_SIMILARITY_THRESHOLDS } from '../index.ts';
import { ADVERSARIES, FULL_CALIBRATION, isHonest, rates, runCalibration } from '../__benchmarks__/calibration.ts';

// A small, fast version of `npm run calibrate`: real DisTrO results from a tiny MLP's real
// gradients, recomputed on the other kernel set and shard count (and with bf16 gradients).
describe('recomputation verdicts (small calibration run)', () => {
  it('accepts honest recomputations and rejects every kind of cheat', async () => {
    for (const signOnly of [false, true]) {
      const run = await runCalibration('unit-test', { ...FULL_CALIBRATION, nodes: 3, steps: 8, signOnly });
      expect(run.lastLoss).toBeLessThan(run.firstLoss); // it really trains
      expect(run.lockedReplayExact).toBe(true); // the verifier's replay is DisTrO's own math
      const rows = rates(run.samples, DEFAULT_SIMILARITY_THRESHOLDS);
      const kinds = rows.map((r) => r.kind);
      for (const adversary of ADVERSARIES) if (!(signOnly && adversary === 'scaled-x10')) expect(kinds).toContain(adversary);
      for (const row of rows) expect([row.kind, row.flaggedRate]).toEqual([row.kind, isHonest(row.kind) ? 0 : 1]);
    }
  });
});
