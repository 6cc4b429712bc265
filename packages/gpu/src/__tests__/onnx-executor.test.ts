import { describe, expect, it } from 'vitest';
import { GPU_EXECUTOR_CLOSED, GPU_INPUT_MISMATCH, GPU_PROVIDER_UNAVAILABLE, GPU_SESSION_FAILED, isPsycheError, psycheErrorCodeOfAsync } from '@psyche/core';
import { encodeOnnxModel, GraphBuilder } from '@psyche/modeling';
import { OnnxExecutor, type HostDType } from '../onnx-executor.ts';

function squareSumModel(): Uint8Array {
  const g = new GraphBuilder();
  const x = g.input('x', 'float32', [3]);
  const loss = g.reduceSum(g.mul(x, x), [0]);
  const [dx] = g.gradients(loss, [x]);
  g.output(loss, 'loss');
  g.output(dx!, 'dx');
  return encodeOnnxModel(g.build());
}

/** n chained 512×512 matmuls: long enough to observe the event loop while it runs. */
function heavyModel(n: number): Uint8Array {
  const g = new GraphBuilder();
  const a = g.input('a', 'float32', [512, 512]);
  let y = a;
  for (let i = 0; i < n; i++) y = g.tanh(g.matmul(y, a));
  g.output(g.reduceSum(y, [0, 1]), 'out');
  return encodeOnnxModel(g.build());
}

async function rejection(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (e) {
    return e;
  }
  return undefined;
}

describe('OnnxExecutor', () => {
  it('runs a graph built by @psyche/modeling in a worker (cpu)', async () => {
    const exec = await OnnxExecutor.create({ model: squareSumModel() });
    expect(exec.inputNames).toEqual(['x']);
    const { outputs } = await exec.run({ x: { dtype: 'float32', dims: [3], data: Float32Array.of(1, 2, 3) } });
    expect(Array.from(outputs.loss!.data as Float32Array)).toEqual([14]);
    expect(Array.from(outputs.dx!.data as Float32Array)).toEqual([2, 4, 6]);
    await exec.close();
    expect(isPsycheError(await rejection(exec.run({ x: { dtype: 'float32', dims: [3], data: new Float32Array(3) } })), GPU_EXECUTOR_CLOSED)).toBe(true);
  });

  it('rejects feeds that do not match', async () => {
    const exec = await OnnxExecutor.create({ model: squareSumModel() });
    expect(isPsycheError(await rejection(exec.run({})), GPU_INPUT_MISMATCH)).toBe(true);
    expect(isPsycheError(await rejection(exec.run({ x: { dtype: 'float32', dims: [3], data: new Float32Array(2) } })), GPU_INPUT_MISMATCH)).toBe(true);
    // an unknown dtype (from an untyped caller) and dims whose product matches but are not sizes
    const bad = [
      { dtype: 'int32' as HostDType, dims: [3], data: new Float32Array(3) },
      { dtype: 'float32' as const, dims: [-1, -3], data: new Float32Array(3) },
      { dtype: 'float32' as const, dims: [1.5, 2], data: new Float32Array(3) },
      // Values whose String() throws (or, nested 6,000 deep, overflows the stack) or a null-prototype data
      // object without a constructor: printing them threw a TypeError or RangeError, not GPU_INPUT_MISMATCH.
      { dtype: { toString: null } as unknown as HostDType, dims: [3], data: new Float32Array(3) },
      { dtype: 'float32' as const, dims: [{ toString: null }] as unknown as number[], data: new Float32Array(3) },
      { dtype: 'float32' as const, dims: JSON.parse(`${'['.repeat(6000)}${']'.repeat(6000)}`) as number[], data: new Float32Array(3) },
      { dtype: 'float32' as const, dims: Symbol('s') as unknown as number[], data: new Float32Array(3) },
      { dtype: 'float32' as const, dims: [3], data: Object.create(null) as Float32Array },
      { dtype: 'float32' as const, dims: [3], data: { length: { toString: null } } as unknown as Float32Array },
    ];
    for (const x of bad) expect(await psycheErrorCodeOfAsync(() => exec.run({ x }))).toBe(GPU_INPUT_MISMATCH); // −1 for a TypeError
    // the executor still works after the rejected feeds
    expect(Array.from((await exec.run({ x: { dtype: 'float32', dims: [3], data: Float32Array.of(1, 1, 1) } })).outputs.loss!.data as Float32Array)).toEqual([3]);
    await exec.close();
  });

  it('options of the wrong type are coded before the worker starts (a symbol was a DataCloneError, an unknown provider object a TypeError)', async () => {
    for (const bad of [{ toString: null }, Symbol('s')] as unknown[]) {
      const model = squareSumModel();
      expect(await psycheErrorCodeOfAsync(() => OnnxExecutor.create({ model, provider: bad as 'cpu' }))).toBe(GPU_PROVIDER_UNAVAILABLE);
      expect(await psycheErrorCodeOfAsync(() => OnnxExecutor.create({ model, intraOpNumThreads: bad as number }))).toBe(GPU_SESSION_FAILED);
      expect(await psycheErrorCodeOfAsync(() => OnnxExecutor.create({ model, graphOptimizationLevel: bad as 'all' }))).toBe(GPU_SESSION_FAILED);
      expect(await psycheErrorCodeOfAsync(() => OnnxExecutor.create({ model, allowSpinning: bad as boolean }))).toBe(GPU_SESSION_FAILED);
      expect(await psycheErrorCodeOfAsync(() => OnnxExecutor.create({ model: bad as Uint8Array }))).toBe(GPU_SESSION_FAILED);
    }
  });

  it('a broken model is a coded session error', async () => {
    expect(isPsycheError(await rejection(OnnxExecutor.create({ model: Uint8Array.of(1, 2, 3) })), GPU_SESSION_FAILED)).toBe(true);
  });

  it('keeps the event loop responsive during a long run, and closes cooperatively mid-run', async () => {
    const exec = await OnnxExecutor.create({ model: heavyModel(48), intraOpNumThreads: 1 });
    const a = new Float32Array(512 * 512).fill(0.001);
    let ticks = 0;
    const timer = setInterval(() => ticks++, 5);
    const started = performance.now();
    const run = exec.run({ a: { dtype: 'float32', dims: [512, 512], data: a } });
    await new Promise((r) => setTimeout(r, 20));
    const closed = exec.close(); // mid-run: the run must still complete and the process must survive
    const { runMs } = await run;
    await closed;
    clearInterval(timer);
    const wall = performance.now() - started;
    console.log(`run ${runMs.toFixed(1)} ms in the worker; ${ticks} timer ticks of 5 ms during ${wall.toFixed(1)} ms wall`);
    // A blocked loop would tick about once; a free one ticks roughly wall/5 times (loose: shared CPU).
    expect(ticks).toBeGreaterThan(Math.min(10, wall / 20));
  });

  it('never falls back silently: cuda / webgpu either work or fail with GPU_PROVIDER_UNAVAILABLE naming what is missing', async () => {
    for (const provider of ['cuda', 'webgpu'] as const) {
      const e = await rejection(OnnxExecutor.create({ model: squareSumModel(), provider }).then((x) => x.close()));
      if (e === undefined) continue; // this machine has the provider
      expect(isPsycheError(e, GPU_PROVIDER_UNAVAILABLE)).toBe(true);
      if (isPsycheError(e, GPU_PROVIDER_UNAVAILABLE)) {
        expect(e.context.provider).toBe(provider);
        expect(e.context.missing.length).toBeGreaterThan(0);
        expect(e.context.install).toMatch(provider === 'cuda' ? /cuda12/ : /vulkan/i);
        console.log(`${provider}: ${e.message.slice(0, 200)}`);
      }
    }
  });
});
