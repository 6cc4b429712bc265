import { createRng, fillGaussian, isPsycheError, DISTRO_INDEX_OUT_OF_RANGE, DISTRO_INVALID_CONFIG, DISTRO_NON_FINITE_VALUE, DISTRO_OPTIMIZER_STATE, DISTRO_SHAPE_MISMATCH, psycheErrorCodeOf, psycheErrorCodeOfAsync } from '@psyche/core';
import { describe, expect, it } from 'vitest';
import {
  AdamW,
  ByteCounter,
  DemoOptimizer,
  DistroOptimizer,
  OverlapQueue,
  checkKernelsAgainstReference,
  clipGradNorm,
  cosineSchedule,
  decodeDistroResult,
  denseBf16Bytes,
  encodeDistroResult,
  globalGradNorm,
  referenceKernels,
  typescriptKernels,
  wsdSchedule,
  type DistroKernels,
  type NamedTensor,
} from '../index.ts';

function model(seed: number): NamedTensor[] {
  const rng = createRng(seed);
  return [
    { name: 'w', shape: [64, 128], data: fillGaussian(rng, new Float32Array(64 * 128)) },
    { name: 'b', shape: [100], data: fillGaussian(rng, new Float32Array(100)) },
  ];
}

function gradsFor(params: NamedTensor[], seed: number): Map<string, Float32Array> {
  const rng = createRng(seed);
  // keep |g| away from 0 so float rounding cannot flip a sign
  return new Map(params.map((p) => [p.name, Float32Array.from(p.data, () => (rng.nextFloat() < 0.5 ? -1 : 1) * (0.5 + rng.nextFloat()))]));
}

const codeOf = psycheErrorCodeOfAsync;

describe('DisTrO semantics', () => {
  it('with top-k = chunk size and decay 0, one worker reduces to sign-SGD (both variants)', async () => {
    for (const Opt of [DistroOptimizer, DemoOptimizer]) {
      const params = model(1);
      const before = params.map((p) => p.data.slice());
      const grads = gradsFor(params, 2);
      const opt = new Opt(params, { topk: 64 * 64, compressionDecay: 0, clipGradNorm: 0, weightDecay: 0 });
      const { result } = await opt.generate(grads, 0.01);
      await opt.apply([result], 0.01);
      params.forEach((p, s) => p.data.forEach((w, i) => expect(w).toBeCloseTo(before[s]![i]! - 0.01 * Math.sign(grads.get(p.name)![i]!), 6)));
      // everything was sent, so (after the late or immediate error feedback) nothing is left in the momentum
      if (opt instanceof DistroOptimizer) await opt.generate(new Map(params.map((p) => [p.name, new Float32Array(p.data.length)])), 0);
      for (const p of params) expect(Math.max(...opt.momentum(p.name)!.map(Math.abs))).toBeLessThan(1e-6);
    }
  });

  it('keeps what was not sent as momentum (error feedback) and decays it', async () => {
    const params = model(3);
    const grads = gradsFor(params, 4);
    const opt = new DemoOptimizer(params, { topk: 4, compressionDecay: 0.5, clipGradNorm: 0 });
    await opt.generate(grads, 1);
    const residual = opt.momentum('w')!.slice();
    const gradNorm = Math.hypot(...grads.get('w')!);
    const residualNorm = Math.hypot(...residual);
    expect(residualNorm).toBeGreaterThan(0.5 * gradNorm); // top-4 of 4096 leaves most of the energy
    expect(residualNorm).toBeLessThan(gradNorm);
    const zero = new Map(params.map((p) => [p.name, new Float32Array(p.data.length)]));
    await opt.generate(zero, 1);
    // second step: delta = 0.5·residual minus what was sent of it
    expect(Math.hypot(...opt.momentum('w')!)).toBeLessThan(0.5 * residualNorm + 1e-6);
  });

  it('lookahead moves the weights along sign(delta) and undoing it restores them bit-exactly', async () => {
    const params = model(5);
    const opt = new DistroOptimizer(params, { clipGradNorm: 0 });
    await opt.generate(gradsFor(params, 6), 0.1);
    const before = params.map((p) => p.data.slice());
    await opt.applyLookahead(0.05);
    const moved = params[0]!.data.some((w, i) => w !== before[0]![i]);
    expect(moved).toBe(true);
    expect(await codeOf(() => opt.applyLookahead(0.05))).toBe(DISTRO_OPTIMIZER_STATE);
    expect(await codeOf(() => opt.apply([], 0.1))).toBe(DISTRO_OPTIMIZER_STATE);
    await opt.undoLookahead();
    params.forEach((p, s) => expect([...p.data]).toEqual([...before[s]!]));
  });

  it('all nodes applying the same decoded results stay bit-identical', async () => {
    const nodes = [0, 1, 2].map(() => model(7));
    const opts = nodes.map((p) => new DistroOptimizer(p, { topk: 4 }));
    for (let step = 0; step < 3; step++) {
      const wires: Uint8Array[] = [];
      for (const [n, opt] of opts.entries()) {
        await opt.applyLookahead(step === 0 ? 0 : 0.01);
        wires.push(encodeDistroResult((await opt.generate(gradsFor(nodes[n]!, 100 * step + n), 0.01)).result, 'sign'));
      }
      const results = wires.map((w) => decodeDistroResult(w));
      for (const opt of opts) await opt.apply(results, 0.01);
    }
    for (const n of [1, 2]) nodes[n]!.forEach((p, s) => expect([...p.data]).toEqual([...nodes[0]![s]!.data]));
  });

  it('rejects bad gradients, bad configs and hostile results without touching the weights', async () => {
    const params = model(8);
    expect(await codeOf(async () => new DistroOptimizer(params, { compressionDecay: 1 }))).toBe(DISTRO_INVALID_CONFIG);
    expect(await codeOf(async () => new DistroOptimizer(params, { topk: 0 }))).toBe(DISTRO_INVALID_CONFIG);
    const opt = new DistroOptimizer(params);
    const bad = gradsFor(params, 9);
    bad.get('b')![3] = Number.NaN;
    expect(await codeOf(() => opt.generate(bad, 0.1))).toBe(DISTRO_NON_FINITE_VALUE);
    const { result } = await opt.generate(gradsFor(params, 10), 0.1);
    const snapshot = params.map((p) => p.data.slice());
    const hostile = { parameters: result.parameters.map((p, i) => (i === 1 ? { ...p, indices: p.indices.map((x, j) => (j === 0 ? 999 : x)) } : p)) };
    expect(await codeOf(() => opt.apply([result, hostile], 0.1))).toBe(DISTRO_INDEX_OUT_OF_RANGE);
    params.forEach((p, s) => expect([...p.data]).toEqual([...snapshot[s]!]));
  });
});

describe('learning rates and half-applied steps', () => {
  it('a NaN, infinite or negative lr is DISTRO_INVALID_CONFIG and changes no weight, momentum or lookahead', async () => {
    for (const Opt of [DistroOptimizer, DemoOptimizer]) {
      const params = model(30);
      const opt = new Opt(params, { topk: 4 });
      const { result } = await opt.generate(gradsFor(params, 31), 0.01);
      const weights = params.map((p) => p.data.slice());
      const momentum = params.map((p) => opt.momentum(p.name)!.slice());
      for (const lr of [Number.NaN, Infinity, -0.01]) {
        expect(await codeOf(() => opt.generate(gradsFor(params, 32), lr))).toBe(DISTRO_INVALID_CONFIG);
        expect(await codeOf(() => opt.apply([result], lr))).toBe(DISTRO_INVALID_CONFIG);
        if (opt instanceof DistroOptimizer) expect(await codeOf(() => opt.applyLookahead(lr))).toBe(DISTRO_INVALID_CONFIG);
      }
      params.forEach((p, s) => expect([...p.data]).toEqual([...weights[s]!]));
      params.forEach((p, s) => expect([...opt.momentum(p.name)!]).toEqual([...momentum[s]!]));
      if (opt instanceof DistroOptimizer) await opt.applyLookahead(0.01); // no lookahead was left applied
    }
  });

  it('AdamW checks every gradient and the lr before moving any weight (a bad second gradient used to leave the first applied)', () => {
    const params = model(33);
    const opt = new AdamW(params);
    const before = params.map((p) => p.data.slice());
    const grads = gradsFor(params, 34);
    const missingSecond = new Map([...grads].filter(([name]) => name !== 'b'));
    const nonFinite = new Map([...grads].map(([name, g]) => [name, name === 'b' ? Float32Array.from(g, (v, i) => (i === 5 ? Number.NaN : v)) : g]));
    expect(psycheErrorCodeOf(() => opt.step(missingSecond, 0.01))).toBe(DISTRO_SHAPE_MISMATCH);
    expect(psycheErrorCodeOf(() => opt.step(nonFinite, 0.01))).toBe(DISTRO_NON_FINITE_VALUE);
    for (const lr of [Number.NaN, -1]) expect(psycheErrorCodeOf(() => opt.step(grads, lr))).toBe(DISTRO_INVALID_CONFIG);
    params.forEach((p, s) => expect([...p.data]).toEqual([...before[s]!]));
    // and the step counter did not advance: the first real step still moves by exactly lr·sign(g)
    opt.step(grads, 0.01);
    params.forEach((p, s) => p.data.forEach((w, i) => expect(w).toBeCloseTo(before[s]![i]! - 0.01 * Math.sign(grads.get(p.name)![i]!), 5)));
  });
});

describe('AdamW', () => {
  it('first step moves each weight by lr·sign(g) (bias-corrected m/√v = g/|g|) plus decoupled decay', () => {
    const params = model(11);
    const before = params.map((p) => p.data.slice());
    const grads = gradsFor(params, 12);
    new AdamW(params, { weightDecay: 0.1 }).step(grads, 0.01);
    params.forEach((p, s) => p.data.forEach((w, i) => expect(w).toBeCloseTo(before[s]![i]! * (1 - 0.001) - 0.01 * Math.sign(grads.get(p.name)![i]!), 5)));
  });
});

describe('kernels', () => {
  it('the fast TypeScript kernels agree with the reference', async () => {
    const report = await checkKernelsAgainstReference(typescriptKernels);
    for (const c of report.checks) console.log(`${report.kernels} ${c.op} ${JSON.stringify(c.shape)} max diff ${c.maxDiff.toExponential(2)}`);
    expect(report.ok).toBe(true);
  });
  it('the check catches a backend with the wrong tie rule', async () => {
    const wrongTies: DistroKernels = {
      ...typescriptKernels,
      name: 'higher-index-wins',
      topk: async (c, layout, k, indices, values) => {
        const flipped = c.slice().reverse();
        await referenceKernels.topk(flipped, { ...layout }, k, indices, values);
      },
    };
    const report = await checkKernelsAgainstReference(wrongTies, { shapes: [[64, 64]] });
    expect(report.ok).toBe(false);
    expect(report.checks.find((c) => c.op === 'topk')!.ok).toBe(false);
  });
});

describe('helpers', () => {
  it('clips to the global norm', () => {
    const g = new Map([['a', Float32Array.of(3, 0)], ['b', Float32Array.of(0, 4)]]);
    expect(clipGradNorm(g, 1)).toBeCloseTo(5);
    expect(globalGradNorm(g)).toBeCloseTo(1, 5);
  });
  it('schedules: cosine and warmup-stable-decay', () => {
    const cos = cosineSchedule({ baseLr: 1, warmupSteps: 10, totalSteps: 110, minLr: 0.1 });
    expect(cos(0)).toBeCloseTo(0.1);
    expect(cos(9)).toBeCloseTo(1);
    expect(cos(60)).toBeCloseTo(0.55);
    expect(cos(110)).toBeCloseTo(0.1);
    const wsd = wsdSchedule({ baseLr: 2, warmupSteps: 2, stableSteps: 5, decaySteps: 4 });
    expect([0, 1, 2, 6, 7, 8, 10, 50].map(wsd)).toEqual([1, 2, 2, 2, 1.5, 1, 0, 0]);
    expect(() => cosineSchedule({ baseLr: 1, warmupSteps: 10, totalSteps: 5 })).toThrow(/totalSteps/);
    // the code, not only the message
    for (const bad of [{ baseLr: 1, warmupSteps: 10, totalSteps: 5 }, { baseLr: Number.NaN, warmupSteps: 0, totalSteps: 5 }, { baseLr: 1, warmupSteps: 1.5, totalSteps: 5 }, { baseLr: 1, warmupSteps: 0, totalSteps: 5, minLr: 2 }]) {
      expect(psycheErrorCodeOf(() => cosineSchedule(bad))).toBe(DISTRO_INVALID_CONFIG);
    }
    for (const bad of [{ baseLr: -1, warmupSteps: 0, stableSteps: 0, decaySteps: 1 }, { baseLr: 1, warmupSteps: 0, stableSteps: Number.NaN, decaySteps: 1 }]) {
      expect(psycheErrorCodeOf(() => wsdSchedule(bad))).toBe(DISTRO_INVALID_CONFIG);
    }
  });
  it('overlap queue applies step s at s + 2', () => {
    const q = new OverlapQueue<string>();
    q.push(0, 'r0');
    expect(q.takeDue(0)).toBeUndefined();
    q.push(1, 'r1');
    expect(q.takeDue(1)).toBeUndefined();
    q.push(2, 'r2');
    expect(q.takeDue(2)).toBe('r0');
    expect(q.drain()).toEqual(['r1', 'r2']);
    // delay 0 applies at once; a delay that is not an integer ≥ 0 is refused (Number(undefined) of a missing CLI flag is NaN)
    const now = new OverlapQueue<string>(0);
    now.push(5, 'r5');
    expect(now.takeDue(5)).toBe('r5');
    for (const delay of [Number.NaN, -1, 1.5]) expect(psycheErrorCodeOf(() => new OverlapQueue<string>(delay))).toBe(DISTRO_INVALID_CONFIG);
  });
  it('counts bytes and the ratio to dense bf16', () => {
    const params = model(13);
    const counter = new ByteCounter(denseBf16Bytes(params));
    counter.recordStep(100, 300);
    counter.recordStep(300, 900);
    expect(counter.sentPerStep).toBe(200);
    expect(counter.compressionRatio).toBeCloseTo((2 * (64 * 128 + 100)) / 200);
  });
});

describe('verifier replay (selectAt)', () => {
  it('a replica fed the published indices tracks the node bit-exactly; hostile indices are refused first', async () => {
    const node = model(20);
    const replica = model(20);
    const a = new DistroOptimizer(node, { topk: 4 });
    const b = new DistroOptimizer(replica, { topk: 4, kernels: referenceKernels });
    for (let step = 0; step < 3; step++) {
      const grads = gradsFor(node, 30 + step);
      const { result } = await a.generate(grads, 0.01);
      const published = decodeDistroResult(encodeDistroResult(result, 'sign'));
      const replayed = (await b.generate(new Map([...grads].map(([k, v]) => [k, v.slice()])), 0.01, { selectAt: published })).result;
      replayed.parameters.forEach((p, i) => {
        expect([...p.indices]).toEqual([...result.parameters[i]!.indices]);
        p.values.forEach((v, j) => expect(v).toBeCloseTo(result.parameters[i]!.values[j]!, 5));
      });
    }
    const published0 = (await a.generate(gradsFor(node, 98), 0.01)).result;
    const bad = { parameters: [{ ...published0.parameters[0]!, indices: new Uint32Array(published0.parameters[0]!.indices.length).fill(1 << 20) }, published0.parameters[1]!] };
    expect(await codeOf(() => b.generate(gradsFor(node, 99), 0.01, { selectAt: bad }))).toBe(DISTRO_INDEX_OUT_OF_RANGE);
  });

  it('reportTopk returns the unforced top-k next to the forced selection: equal to the node own top-k for an honest claim and for a shifted one', async () => {
    const node = model(21);
    const replica = model(21);
    const a = new DistroOptimizer(node, { topk: 4 });
    const b = new DistroOptimizer(replica, { topk: 4 });
    for (let step = 0; step < 3; step++) {
      const grads = gradsFor(node, 40 + step);
      const { result } = await a.generate(grads, 0.01);
      // A lying claim: every index moved by one (sorted again within each chunk).
      const shifted = { parameters: result.parameters.map((p) => ({ ...p, indices: shiftWithinChunks(p.indices, p.k, p.layout.chunkElems) })) };
      const claim = step === 2 ? shifted : result;
      const out = await b.generate(new Map([...grads].map(([k, v]) => [k, v.slice()])), 0.01, { selectAt: claim, reportTopk: true });
      expect(out.topk).toBeDefined();
      out.topk!.parameters.forEach((p, i) => {
        expect([...p.indices]).toEqual([...result.parameters[i]!.indices]);
        expect([...out.result.parameters[i]!.indices]).toEqual([...claim.parameters[i]!.indices]);
      });
    }
    expect((await b.generate(gradsFor(replica, 50), 0.01)).topk).toBeUndefined();
  });
});

function shiftWithinChunks(indices: Uint32Array, k: number, chunkElems: number): Uint32Array {
  const out = new Uint32Array(indices.length);
  for (let c = 0; c < indices.length; c += k) out.set(indices.subarray(c, c + k).map((i) => (i + 1) % chunkElems).sort(), c);
  return out;
}
