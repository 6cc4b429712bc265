import { describe, expect, it } from 'vitest';
import { runFullScenario, summarize } from '../__benchmarks__/full-run-scenario.ts';

const BAR = 200_000n;

describe('compute units with 256 clients and 32 witnesses', () => {
  it('keeps every instruction under 200,000 CU through a full run', async () => {
    const rows = summarize(await runFullScenario({ clients: 256, rounds: 2 }));
    console.table(rows.map((r) => ({ ...r, median: Number(r.median), max: Number(r.max) })));
    for (const row of rows) expect(row.max, row.name).toBeLessThan(BAR);
    // Every kind of instruction was measured.
    const names = rows.map((r) => r.name).join(' ');
    for (const kind of ['initialize', 'join', 'withdraw', 'kick', 'pause', 'resume', 'tick', 'warmup witness', 'witness', 'checkpoint', 'assignment', 'shuffle', 'bloom contains', 'bloom indices']) {
      expect(names).toContain(kind);
    }
  });
});
