import {
  AdamW,
  ByteCounter,
  DistroOptimizer,
  OverlapQueue,
  clipGradNorm,
  cosineSchedule,
  decodeDistroResult,
  denseBf16Bytes,
  encodeDistroResult,
  type DistroResult,
} from '@psyche/distro';
import { type Mlp, createMlp, crossEntropy, forward, lossAndGradients } from './mlp.ts';
import { type Batch, TeacherTask } from './teacher-task.ts';

export interface ComparisonOptions {
  readonly steps: number;
  readonly workers: number;
  readonly batchPerWorker: number;
  readonly seed: string;
  readonly distroLr: number;
  readonly adamwLr: number;
  readonly topk: number;
  readonly chunk: number;
  /** Psyche's two-round overlap: results of step s are applied at step s + 2. */
  readonly overlap: boolean;
  readonly evalEvery: number;
  readonly validationSize: number;
  readonly onProgress?: (line: CurvePoint) => void;
}

export const defaultComparisonOptions: ComparisonOptions = {
  steps: 1000,
  workers: 4,
  batchPerWorker: 32,
  seed: 'distro-convergence',
  distroLr: 2e-3,
  adamwLr: 2e-3,
  topk: 4,
  chunk: 64,
  overlap: true,
  evalEvery: 100,
  validationSize: 2048,
};

export interface CurvePoint {
  readonly step: number;
  readonly distroLoss: number;
  readonly adamwLoss: number;
}

export interface ComparisonResult {
  readonly curve: CurvePoint[];
  readonly finalDistroLoss: number;
  readonly finalAdamwLoss: number;
  readonly parameters: number;
  /** Bytes one DisTrO worker sends per step (wire format, headers included). */
  readonly distroBytesPerStep: number;
  /** Bytes one DisTrO worker receives per step (the other workers' results). */
  readonly distroBytesReceivedPerStep: number;
  /** Dense bf16 bytes ÷ DisTrO bytes sent, per step. */
  readonly compressionRatio: number;
  /** Bytes one AdamW worker sends per step (its dense bf16 gradient). */
  readonly denseBytesPerStep: number;
  readonly workersIdentical: boolean;
}

function validationLoss(mlp: Mlp, validation: Batch): number {
  return crossEntropy(forward(mlp, validation.x, validation.labels.length), validation.labels, mlp.shape.classes);
}

/** Trains the same MLP on the same per-worker samples with DisTrO (1-bit) and with data-parallel AdamW. */
export async function runComparison(options: ComparisonOptions): Promise<ComparisonResult> {
  const shape = { inputs: 64, hidden: 256, classes: 16 };
  const task = new TeacherTask(shape, options.seed);
  const validation = task.sampler(`${options.seed}/validation`)(options.validationSize);
  const schedule = (base: number) => cosineSchedule({ baseLr: base, warmupSteps: Math.floor(options.steps / 20), totalSteps: options.steps, minLr: base / 10 });
  const distroSchedule = schedule(options.distroLr);
  const adamwSchedule = schedule(options.adamwLr);

  // DisTrO: every worker keeps its own copy of the weights; they stay identical because all apply the same results.
  const workers = Array.from({ length: options.workers }, (_, w) => {
    const mlp = createMlp(shape, `${options.seed}/init`);
    return {
      mlp,
      optimizer: new DistroOptimizer(mlp.params, { chunk: options.chunk, topk: options.topk, compressionDecay: 0.995, weightDecay: 0, clipGradNorm: 1 }),
      sample: task.sampler(`${options.seed}/worker-${w}`),
    };
  });
  // AdamW baseline: one model, the mean of the same workers' gradients (a dense all-reduce).
  const adamwModel = createMlp(shape, `${options.seed}/init`);
  const adamw = new AdamW(adamwModel.params, { beta1: 0.9, beta2: 0.95, weightDecay: 0 });
  const adamwSamplers = Array.from({ length: options.workers }, (_, w) => task.sampler(`${options.seed}/worker-${w}`));

  const queue = new OverlapQueue<DistroResult[]>(options.overlap ? 2 : 0);
  const curve: CurvePoint[] = [];
  const traffic = new ByteCounter(denseBf16Bytes(workers[0]!.mlp.params)); // worker 0's view
  let previousLr = 0;
  for (let step = 0; step < options.steps; step++) {
    const lr = distroSchedule(step);
    const wires: Uint8Array[] = [];
    for (const worker of workers) {
      await worker.optimizer.applyLookahead(previousLr);
      const batch = worker.sample(options.batchPerWorker);
      const { gradients } = lossAndGradients(worker.mlp, batch.x, batch.labels);
      const { result } = await worker.optimizer.generate(gradients, lr);
      wires.push(encodeDistroResult(result, 'sign'));
    }
    traffic.recordStep(wires[0]!.length, wires.slice(1).reduce((n, w) => n + w.length, 0));
    queue.push(step, wires.map((bytes) => decodeDistroResult(bytes)));
    const due = queue.takeDue(step);
    if (due !== undefined) for (const worker of workers) await worker.optimizer.apply(due, lr);
    previousLr = lr;

    const mean = new Map<string, Float32Array>();
    for (const sample of adamwSamplers) {
      const batch = sample(options.batchPerWorker);
      for (const [name, g] of lossAndGradients(adamwModel, batch.x, batch.labels).gradients) {
        const acc = mean.get(name) ?? new Float32Array(g.length);
        for (let i = 0; i < g.length; i++) acc[i]! += g[i]! / options.workers;
        mean.set(name, acc);
      }
    }
    clipGradNorm(mean, 1);
    adamw.step(mean, adamwSchedule(step));

    if ((step + 1) % options.evalEvery === 0 || step + 1 === options.steps) {
      const point = { step: step + 1, distroLoss: validationLoss(workers[0]!.mlp, validation), adamwLoss: validationLoss(adamwModel, validation) };
      curve.push(point);
      options.onProgress?.(point);
    }
  }
  // The last rounds of an epoch train nothing and only apply what is still in flight.
  for (const due of queue.drain()) for (const worker of workers) await worker.optimizer.apply(due, distroSchedule(options.steps - 1));

  const reference = workers[0]!.mlp.params;
  const workersIdentical = workers.every((w) => w.mlp.params.every((p, i) => p.data.every((v, j) => v === reference[i]!.data[j])));
  return {
    curve,
    finalDistroLoss: validationLoss(workers[0]!.mlp, validation),
    finalAdamwLoss: validationLoss(adamwModel, validation),
    parameters: reference.reduce((n, p) => n + p.data.length, 0),
    distroBytesPerStep: traffic.sentPerStep,
    distroBytesReceivedPerStep: traffic.received / traffic.steps,
    compressionRatio: traffic.compressionRatio,
    denseBytesPerStep: denseBf16Bytes(adamwModel.params),
    workersIdentical,
  };
}
