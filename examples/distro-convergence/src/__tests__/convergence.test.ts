import { createRng } from '@psyche/core';
import { describe, expect, it } from 'vitest';
import { createMlp, lossAndGradients } from '../mlp.ts';
import { defaultComparisonOptions, runComparison } from '../run-comparison.ts';
import { TeacherTask } from '../teacher-task.ts';

describe('hand-written MLP gradients', () => {
  it('match central finite differences', () => {
    const shape = { inputs: 6, hidden: 5, classes: 3 };
    const mlp = createMlp(shape, 'fd');
    const batch = new TeacherTask(shape, 'fd').sampler('fd/data')(4);
    const { gradients } = lossAndGradients(mlp, batch.x, batch.labels);
    const rng = createRng('fd-probe');
    let worst = 0;
    for (const p of mlp.params) {
      for (let probe = 0; probe < 6; probe++) {
        const i = rng.nextInt(p.data.length);
        const saved = p.data[i]!;
        const h = 1e-2;
        p.data[i] = saved + h;
        const up = lossAndGradients(mlp, batch.x, batch.labels).loss;
        p.data[i] = saved - h;
        const down = lossAndGradients(mlp, batch.x, batch.labels).loss;
        p.data[i] = saved;
        const numeric = (up - down) / (2 * h);
        worst = Math.max(worst, Math.abs(numeric - gradients.get(p.name)![i]!));
      }
    }
    console.log(`MLP gradient vs finite differences: max abs diff ${worst.toExponential(2)}`);
    expect(worst).toBeLessThan(2e-3);
  });
});

describe('DisTrO vs AdamW (short run)', () => {
  it('both reduce the validation loss and DisTrO workers stay bit-identical (the 5% bar is checked by the full example)', async () => {
    const result = await runComparison({ ...defaultComparisonOptions, steps: 60, evalEvery: 20, validationSize: 512 });
    const first = result.curve[0]!;
    const last = result.curve[result.curve.length - 1]!;
    expect(result.workersIdentical).toBe(true);
    expect(last.distroLoss).toBeLessThan(first.distroLoss);
    expect(last.adamwLoss).toBeLessThan(first.adamwLoss);
    expect(result.denseBytesPerStep / result.distroBytesPerStep).toBeGreaterThan(400);
  }, 120_000);
});
