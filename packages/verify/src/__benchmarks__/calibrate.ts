// npm run calibrate -w @psyche/verify: the recomputation experiment, figures into BENCHMARKS.md.
import { DEFAULT_SIMILARITY_THRESHOLDS } from '../recomputation-verdict.ts';
import type { Similarity } from '../similarity.ts';
import { writeBenchmarkSection, machineLine } from './benchmarks-file.ts';
import { availableKernels, FULL_CALIBRATION as BASE_CALIBRATION, HELD_OUT_SEEDS, isHonest, rates, runCalibration, type CalibrationOptions, type Sample } from './calibration.ts';

const f = (x: number, digits = 4) => (Number.isFinite(x) ? x.toFixed(digits) : String(x));
const LABELS: Record<string, string> = {
  honest: 'honest: other kernel + other shard count',
  'honest-bf16': 'honest: same, gradients rounded to bf16',
};
const describe = (s: Similarity | undefined) =>
  s === undefined ? '' : `J ${f(s.jaccard, 3)}, H ${f(s.signHamming, 3)}, rel-L1 ${f(s.relativeManhattan, 3)}, cos ${f(s.cosine, 3)}`;

async function experiment(options: CalibrationOptions): Promise<{ table: string; honestFlagged: number; minDetected: number; extremes: string; losses: string }> {
  const samples: Sample[] = [];
  const losses: string[] = [];
  for (const seed of options.seeds) {
    const started = performance.now();
    const run = await runCalibration(seed, options);
    if (!run.lockedReplayExact) throw new Error(`${seed}: locked replay differs from DistroOptimizer`);
    samples.push(...run.samples);
    losses.push(`${seed}: held-out loss ${f(run.firstLoss, 3)} → ${f(run.lastLoss, 3)} (${f((performance.now() - started) / 1000, 1)} s)`);
    console.log(losses[losses.length - 1]);
  }
  const rows = rates(samples, DEFAULT_SIMILARITY_THRESHOLDS);
  const lines = [
    '| results | count | flagged | closest to the thresholds |',
    '| --- | ---: | ---: | --- |',
    ...rows.map((r) => `| ${LABELS[r.kind] ?? r.kind} | ${r.count} | ${f(100 * r.flaggedRate, 2)}% | ${describe(r.worst)} |`),
  ];
  const honest = samples.filter((s) => isHonest(s.kind)).map((s) => s.similarity);
  const adversarial = samples.filter((s) => !isHonest(s.kind)).map((s) => s.similarity);
  const extremes = [
    `honest: min Jaccard ${f(Math.min(...honest.map((s) => s.jaccard)))}, max sign-Hamming ${f(Math.max(...honest.map((s) => s.signHamming)))}, max relative L1 ${Math.max(...honest.map((s) => s.relativeManhattan)).toExponential(2)}, min cosine ${f(Math.min(...honest.map((s) => s.cosine)), 6)}`,
    `adversarial: max Jaccard ${f(Math.max(...adversarial.map((s) => s.jaccard)))} (copies of the honest indices: scaled, flipped), min relative L1 ${f(Math.min(...adversarial.map((s) => s.relativeManhattan)))}, max cosine among those with Jaccard < 1: ${f(Math.max(...adversarial.filter((s) => s.jaccard < 1).map((s) => s.cosine)))}`,
  ].join('\n- ');
  const honestFlagged = Math.max(...rows.filter((r) => isHonest(r.kind)).map((r) => r.flaggedRate));
  const minDetected = Math.min(...rows.filter((r) => !isHonest(r.kind)).map((r) => r.flaggedRate));
  return { table: lines.join('\n'), honestFlagged, minDetected, extremes: `- ${extremes}`, losses: losses.join('; ') };
}

const t = DEFAULT_SIMILARITY_THRESHOLDS;
const { kernels, note: kernelNote } = await availableKernels();
console.log(kernelNote);
const FULL_CALIBRATION = { ...BASE_CALIBRATION, kernels };
const f32 = await experiment(FULL_CALIBRATION);
const sign = await experiment({ ...FULL_CALIBRATION, signOnly: true });
const heldOut = await experiment({ ...FULL_CALIBRATION, seeds: HELD_OUT_SEEDS });
const heldOutSign = await experiment({ ...FULL_CALIBRATION, seeds: HELD_OUT_SEEDS, signOnly: true });
const pass = (e: { honestFlagged: number; minDetected: number }) => e.honestFlagged <= 0.01 && e.minDetected >= 0.99;

writeBenchmarkSection(
  'calibrate',
  `## Recomputation calibration (\`npm run calibrate -w @psyche/verify\`)

What: ${FULL_CALIBRATION.nodes} honest nodes train a tiny MLP (32→64 tanh→16, 3,152 parameters, hand-written
gradients, seeded teacher data) with @psyche/distro's \`DistroOptimizer\` (chunk ${FULL_CALIBRATION.chunk}, top-${FULL_CALIBRATION.topk},
decay ${FULL_CALIBRATION.compressionDecay}, lr ${FULL_CALIBRATION.lr}, clip 1.0) for ${FULL_CALIBRATION.steps} steps, ${FULL_CALIBRATION.seeds.length} seeds. Every node is
shadowed by two verifiers that recompute its work from public data on ANOTHER kernel set
(node i uses ${kernels.map((k) => `\`${k.name}\``).join(', ')}[i mod ${kernels.length}], its verifiers the next one; ${kernelNote})
and another shard count (1/2/4/8 float32 partial
gradients summed in order, as that many threads would); the second verifier also rounds its
gradients to bfloat16 (a mixed-precision GPU verifier, ~3 significant digits). A verifier's replay
(\`LockedDistroReplay\`) tracks the node's momentum from the shared weights, the node's assigned
batches and the node's published indices: error feedback removes the coefficients at the indices
the node published (values from the verifier's own momentum), which for an honest node is exactly
DisTrO's own error feedback (checked: bit-identical to \`DistroOptimizer\` on every node and step)
and keeps the verifier from drifting. Without that lock, the bf16 verifier's momentum drifted away
(Jaccard fell from 0.91 to 0.43 over 160 steps, measured once with an earlier version of this
experiment, 2 nodes) and no threshold separated it from the cheats. Each step the recomputation is compared
(Jaccard, sign-Hamming, relative L1, cosine over all tensors) with the honest result and with
adversarial results for the same step: random (random indices, values of the honest scale),
scaled ×10, sign-flipped, stale (the node's previous-step result), lazy-zero (all-zero values),
lazy-no-gradient (the node's true momentum, zero gradient: skips the forward/backward),
copied (another node's result of the same step), wrong-batch (the node's true state trained on a
batch it was not assigned).

Thresholds (\`DEFAULT_SIMILARITY_THRESHOLDS\`): reject if Jaccard < ${t.minJaccard}, sign-Hamming > ${t.maxSignHamming},
relative L1 > ${t.maxRelativeManhattan} or cosine < ${t.minCosine}. "Closest to the thresholds" is the honest sample nearest
to failing, or the adversarial sample nearest to passing.

${machineLine()}
Runs: ${f32.losses}.

### float32 values on the wire
${f32.table}

- ${f32.extremes.slice(2)}

Bar (≥ 99% of adversarial results detected, ≤ 1% of honest flagged): ${pass(f32) ? 'met' : 'NOT met'} (lowest detection ${f(100 * f32.minDetected, 2)}%, honest flagged ${f(100 * f32.honestFlagged, 2)}%).

### 1-bit values (Psyche's \`quantize_1bit\` wire: both sides compared as ±1)
Scaled ×10 cannot be expressed on a sign-only wire (and would be harmless), so it is left out.

${sign.table}

- ${sign.extremes.slice(2)}

Bar: ${pass(sign) ? 'met' : 'NOT met'} (lowest detection ${f(100 * sign.minDetected, 2)}%, honest flagged ${f(100 * sign.honestFlagged, 2)}%).

### Held-out seeds (${HELD_OUT_SEEDS.join(', ')}), same thresholds
Runs: ${heldOut.losses}.

float32:

${heldOut.table}

1-bit:

${heldOutSign.table}

Bar on held-out seeds: float32 ${pass(heldOut) ? 'met' : 'NOT met'} (lowest detection ${f(100 * heldOut.minDetected, 2)}%, honest flagged ${f(100 * heldOut.honestFlagged, 2)}%);
1-bit ${pass(heldOutSign) ? 'met' : 'NOT met'} (lowest detection ${f(100 * heldOutSign.minDetected, 2)}%, honest flagged ${f(100 * heldOutSign.honestFlagged, 2)}%).

Reading: honest fp32 recomputation on another kernel and shard count reproduces the result almost
bit for bit (the DCT and top-k are deterministic; float32 rounding differences never crossed a
top-k boundary here; the native C++ kernels match the TypeScript ones on top-k exactly). bf16
gradients do move a few coefficients across top-k boundaries, so that is the honest case that sets
the thresholds. The closest cheats are
"wrong batch" and "lazy no-gradient", which keep the node's true momentum and so share part of
its top-k; they stay well apart from the honest cluster on Jaccard, relative L1 and cosine. Limits: the model is tiny and every run is on one CPU type; the verifier needs the
target's momentum, which it replays from the start of the run (in a network: from the start of
the epoch or from a momentum snapshot the node commits to); GPU kernels with non-deterministic reductions
are not in this experiment.`,
);
console.log(`float32: honest flagged ${f(100 * f32.honestFlagged, 2)}%, lowest detection ${f(100 * f32.minDetected, 2)}%`);
console.log(`held-out float32: honest flagged ${f(100 * heldOut.honestFlagged, 2)}%, lowest detection ${f(100 * heldOut.minDetected, 2)}%`);
console.log(`held-out sign:    honest flagged ${f(100 * heldOutSign.honestFlagged, 2)}%, lowest detection ${f(100 * heldOutSign.minDetected, 2)}%`);
console.log(`sign:    honest flagged ${f(100 * sign.honestFlagged, 2)}%, lowest detection ${f(100 * sign.minDetected, 2)}%`);
