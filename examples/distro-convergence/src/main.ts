/**
 * The DisTrO convergence example: 4 simulated workers, each on its own data, train the same MLP
 * with DisTrO (chunk 64, top-4, 1-bit signs, Psyche's lookahead and 2-round overlap) and with
 * data-parallel AdamW on the same samples. Prints both validation-loss curves, bytes per step and
 * the compression ratio, and exits non-zero if DisTrO ends more than 5% above AdamW.
 *
 *   npm run example:distro -- --steps 1500 --workers 4 --no-overlap
 */
import { parseArgs } from 'node:util';
import { defaultComparisonOptions, runComparison } from './run-comparison.ts';

const { values } = parseArgs({
  options: {
    steps: { type: 'string' },
    workers: { type: 'string' },
    'distro-lr': { type: 'string' },
    'adamw-lr': { type: 'string' },
    topk: { type: 'string' },
    'no-overlap': { type: 'boolean' },
  },
});
const num = (v: string | undefined, fallback: number) => (v === undefined ? fallback : Number(v));
const options = {
  ...defaultComparisonOptions,
  steps: num(values.steps, defaultComparisonOptions.steps),
  workers: num(values.workers, defaultComparisonOptions.workers),
  distroLr: num(values['distro-lr'], defaultComparisonOptions.distroLr),
  adamwLr: num(values['adamw-lr'], defaultComparisonOptions.adamwLr),
  topk: num(values.topk, defaultComparisonOptions.topk),
  overlap: values['no-overlap'] !== true,
};

console.log(`DisTrO vs AdamW: ${options.workers} workers × batch ${options.batchPerWorker}, ${options.steps} steps, chunk ${options.chunk}, top-${options.topk}, 1-bit, overlap ${options.overlap ? 'on' : 'off'}`);
console.log('step   DisTrO val loss   AdamW val loss');
const started = performance.now();
const result = await runComparison({
  ...options,
  onProgress: (p) => console.log(`${String(p.step).padStart(5)}   ${p.distroLoss.toFixed(4).padStart(15)}   ${p.adamwLoss.toFixed(4).padStart(14)}`),
});
const gap = result.finalDistroLoss / result.finalAdamwLoss - 1;
console.log(`\nparameters: ${result.parameters}`);
console.log(`bytes per worker per step: DisTrO sends ${result.distroBytesPerStep.toFixed(0)} B and receives ${result.distroBytesReceivedPerStep.toFixed(0)} B; AdamW sends its dense bf16 gradient, ${result.denseBytesPerStep} B`);
console.log(`compression ratio vs dense bf16: ${result.compressionRatio.toFixed(1)}× (small tensors compress less than large ones: a 4096×4096 matrix reaches 1,257×)`);
console.log(`final validation loss: DisTrO ${result.finalDistroLoss.toFixed(4)}, AdamW ${result.finalAdamwLoss.toFixed(4)} (DisTrO ${(gap * 100).toFixed(2)}% ${gap >= 0 ? 'above' : 'below'} AdamW; bar: within 5%)`);
console.log(`workers bit-identical after training: ${result.workersIdentical}; ${((performance.now() - started) / 1000).toFixed(1)} s`);
if (gap > 0.05 || !result.workersIdentical) process.exitCode = 1;
