#!/usr/bin/env -S node --conditions=@psyche/source --import tsx
// The whole local run: npm run local -w @psyche/reference-node -- [--nodes 3] [--config configs/local.toml] [--out .psyche/local-run]
//   [--steps N] [--replicas k: verify by a replay ring of k instead of everyone replaying everyone]
import { parseArgs } from 'node:util';
import { DEFAULT_CONFIG, LocalRun, formatSummary } from '../local-run.ts';

const { values } = parseArgs({
  options: {
    nodes: { type: 'string', default: '3' },
    config: { type: 'string', default: DEFAULT_CONFIG },
    out: { type: 'string', default: '.psyche/local-run' },
    steps: { type: 'string' },
    replicas: { type: 'string' },
    'dashboard-port': { type: 'string', default: '0' },
    'keep-open': { type: 'boolean', default: false },
  },
});
const run = new LocalRun({
  nodes: Number(values.nodes),
  configPath: values.config,
  outDir: values.out,
  dashboardPort: Number(values['dashboard-port']),
  overrides: (r) => ({
    ...r,
    run: { ...r.run, ...(values.steps ? { totalSteps: BigInt(values.steps) } : {}) },
    verify: values.replicas === undefined ? r.verify : { recompute: true, replicas: Number(values.replicas) },
  }),
});
let code = 0;
const interrupted = () => void run.stop().then(() => process.exit(130));
process.once('SIGINT', interrupted);
try {
  await run.setup();
  for (let i = 0; i < Number(values.nodes); i++) run.startNode(i);
  await run.waitForNodes(15 * 60_000);
  const summary = await run.summarize();
  process.stdout.write(`${formatSummary(summary)}\n`);
  process.stdout.write(`\nlogs and checkpoints in ${values.out}; sample in ${values.out}/sample.txt\n`);
  if (!(summary.lastLoss < summary.firstLoss) || !summary.identicalWeights) code = 1;
  if (values['keep-open']) await new Promise((r) => process.once('SIGINT', r));
} catch (e) {
  process.stderr.write(`local run failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  code = 1;
} finally {
  await run.stop();
}
process.exit(code);
