import { describe, expect, it } from 'vitest';
import {
  DISTRO_INDEX_OUT_OF_RANGE,
  DISTRO_INVALID_CONFIG,
  DISTRO_RESULT_LAYOUT_MISMATCH,
  DISTRO_SHAPE_MISMATCH,
  GPU_NATIVE_UNAVAILABLE,
  createRng,
  fillGaussian,
  isPsycheError,
  psycheErrorCodeOfAsync,
} from '@psyche/core';
import { checkKernelsAgainstReference, computeChunkLayout, referenceKernels, typescriptKernels, type ChunkLayout, type DistroKernels } from '@psyche/distro';
import { existsSync } from 'node:fs';
import { bestKernels, cudaAddonPath, cudaKernels, nativeKernels } from '../native-kernels.ts';

// The addon is built by the package's install script (or `npm run build:native -w @psyche/gpu`);
// where it could not be built the suite checks the fallback instead.
let native: ReturnType<typeof nativeKernels> | undefined;
try {
  native = nativeKernels();
} catch (e) {
  console.warn(`native kernels not built here: ${(e as Error).message}`);
}

async function expectDecodeMatches(coefficients: Float32Array, layout: ChunkLayout, what: string): Promise<void> {
  const ref = new Float32Array(layout.size);
  const got = new Float32Array(layout.size).fill(Number.NaN);
  await referenceKernels.decode(coefficients, layout, ref);
  await native!.decode(coefficients, layout, got);
  let diff = 0;
  let scale = 1;
  for (let i = 0; i < ref.length; i++) {
    diff = Math.max(diff, Math.abs(ref[i]! - got[i]!));
    scale = Math.max(scale, Math.abs(ref[i]!));
  }
  console.log(`decode ${what}: max diff ${(diff / scale).toExponential(2)} (relative, tolerance 1e-5)`);
  expect(diff / scale).toBeLessThanOrEqual(1e-5);
}

async function expectTopkMatches(coefficients: Float32Array, layout: ChunkLayout, k: number): Promise<void> {
  const n = layout.numChunks * k;
  const [ri, rv, ni, nv] = [new Uint32Array(n), new Float32Array(n), new Uint32Array(n), new Float32Array(n)];
  await referenceKernels.topk(coefficients, layout, k, ri, rv);
  await native!.topk(coefficients, layout, k, ni, nv);
  expect(Array.from(ni)).toEqual(Array.from(ri));
  expect(Array.from(nv)).toEqual(Array.from(rv));
}

describe.runIf(native)('native DisTrO kernels vs the TypeScript reference', () => {
  it('agree on every op and shape (max differences printed)', async () => {
    const report = await checkKernelsAgainstReference(native!, { shapes: [[256, 256], [100, 37], [1000], [3, 5, 64], [1], [130, 64], [64, 4096]], k: 8 });
    for (const c of report.checks) console.log(`${report.kernels} ${c.op} [${c.shape.join('×')}]: max diff ${c.maxDiff.toExponential(2)} (tolerance ${c.tolerance})`);
    expect(report.ok).toBe(true);
  });

  it('agrees on 32×32 and 16×16 chunks (generic transforms; the AVX-512 top-k on 1,024-element chunks)', async () => {
    for (const chunk of [32, 16]) {
      const report = await checkKernelsAgainstReference(native!, { shapes: [[256, 256], [96, 160]], chunk, k: chunk === 32 ? 40 : 8, seed: chunk });
      for (const c of report.checks.filter((x) => !x.ok)) console.log(`chunk ${chunk} ${c.op} [${c.shape.join('×')}]: max diff ${c.maxDiff}`);
      expect(report.ok).toBe(true);
    }
  });

  it('agrees with k = 32 on 64×64 chunks, including exact ties', async () => {
    const report = await checkKernelsAgainstReference(native!, { shapes: [[512, 512]], k: 32, seed: 9 });
    expect(report.ok).toBe(true);
  });

  it('top-k matches the reference on adversarial chunks (all equal, zeros, NaNs, ±0, infinities)', async () => {
    const layout = computeChunkLayout([64, 64 * 6]);
    const x = new Float32Array(layout.size);
    const fill = (chunk: number, f: (i: number) => number): void => {
      for (let r = 0; r < 64; r++) for (let c = 0; c < 64; c++) x[r * layout.cols + chunk * 64 + c] = f(r * 64 + c);
    };
    fill(0, () => 1); // every magnitude tied
    fill(1, () => 0);
    fill(2, (i) => (i % 3 === 0 ? Number.NaN : i % 5)); // NaNs and many ties
    fill(3, (i) => (i % 2 ? -0 : 0));
    fill(4, (i) => (i === 4095 ? Number.POSITIVE_INFINITY : i === 7 ? Number.NEGATIVE_INFINITY : (i % 17) - 8));
    fill(5, (i) => (i < 4000 ? Number.NaN : i));
    const coeffs = new Float32Array(layout.size);
    // topk works on chunk-major coefficients; copy tiles so chunk c holds pattern c
    for (let c = 0; c < 6; c++) for (let r = 0; r < 64; r++) for (let j = 0; j < 64; j++) coeffs[c * 4096 + r * 64 + j] = x[r * layout.cols + c * 64 + j]!;
    for (const k of [1, 32, 64]) await expectTopkMatches(coeffs, layout, k);
  });

  // The 64×64 decode picks a sparse or a dense first pass per tile by counting nonzeros (≤ 256:
  // sparse); both must match the reference on either side of that boundary and on any input.
  it('decode matches the reference on sparse, boundary and dense tiles (max differences printed)', async () => {
    const layout = computeChunkLayout([128, 64 * 6]);
    const rng = createRng(21);
    const coefficients = new Float32Array(layout.size);
    const nonzerosPerTile = [0, 1, 32, 256, 257, 4096];
    for (let c = 0; c < layout.numChunks; c++) {
      const count = nonzerosPerTile[c % nonzerosPerTile.length]!;
      const base = c * layout.chunkElems;
      // distinct positions: a seeded shuffle of the tile
      const order = Array.from({ length: layout.chunkElems }, (_, i) => i);
      for (let i = order.length - 1; i > 0; i--) {
        const j = rng.nextInt(i + 1);
        [order[i], order[j]] = [order[j]!, order[i]!];
      }
      for (let j = 0; j < count; j++) coefficients[base + order[j]!] = rng.nextFloat() * 8 - 4;
    }
    // a whole zero row and column of nonzeros, and a lone DC term
    coefficients[5 * layout.chunkElems] = 3;
    await expectDecodeMatches(coefficients, layout, 'mixed sparse/dense tiles');

    const dense = fillGaussian(createRng(22), new Float32Array(layout.size));
    await expectDecodeMatches(dense, layout, 'gaussian dense');
    const spiky = dense.map((v, i) => (i % 97 === 0 ? v * 1e6 : v * 1e-3));
    await expectDecodeMatches(spiky, layout, 'spiky dense (1e6 outliers)');
  });

  it('encode matches the reference on adversarial tiles (constant, alternating, spikes, huge and tiny)', async () => {
    const layout = computeChunkLayout([64, 64 * 5]);
    const x = new Float32Array(layout.size);
    for (let r = 0; r < 64; r++)
      for (let c = 0; c < layout.cols; c++) {
        const tile = Math.floor(c / 64);
        const i = r * 64 + (c % 64);
        x[r * layout.cols + c] = [1, (r + c) % 2 ? -1 : 1, i === 2080 ? 1e4 : 0, (i % 13) * 1e30, (i % 7) * 1e-30][tile]!;
      }
    const ref = new Float32Array(layout.size);
    const got = new Float32Array(layout.size);
    await referenceKernels.encode(x, layout, ref);
    await native!.encode(x, layout, got);
    // per tile, relative to the tile's largest coefficient (the tiles differ by 60 orders of magnitude)
    for (let c = 0; c < layout.numChunks; c++) {
      const r = ref.subarray(c * 4096, (c + 1) * 4096);
      const g = got.subarray(c * 4096, (c + 1) * 4096);
      const scale = r.reduce((m, v) => Math.max(m, Math.abs(v)), 0) || 1;
      const diff = r.reduce((m, v, i) => Math.max(m, Math.abs(v - g[i]!)), 0) / scale;
      console.log(`encode adversarial tile ${c}: max diff ${diff.toExponential(2)} relative to the tile's max`);
      expect(diff).toBeLessThanOrEqual(1e-5);
    }
  });

  // Encode, decode and scatter-mean stream whole 64-byte lines and write partial lines at the edges
  // of each thread's run of tiles; views at every float offset move those edges around.
  it('writes exactly the output view at any alignment, with runs of tiles split between threads', async () => {
    const layout = computeChunkLayout([128, 64 * 40]);
    const input = fillGaussian(createRng(31), new Float32Array(layout.size));
    const refCoefficients = new Float32Array(layout.size);
    const refDecoded = new Float32Array(layout.size);
    await referenceKernels.encode(input, layout, refCoefficients);
    await referenceKernels.decode(refCoefficients, layout, refDecoded);
    const k = 32;
    const indices = new Uint32Array(layout.numChunks * k);
    const values = new Float32Array(layout.numChunks * k);
    await referenceKernels.topk(refCoefficients, layout, k, indices, values);
    const refScattered = new Float32Array(layout.size);
    await referenceKernels.scatterMean([{ layout, k, indices, values }], layout, refScattered);
    const sentinel = 12345;
    const maxDiff = (a: Float32Array, b: Float32Array): number => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i]!)), 0);
    for (const offset of [0, 1, 2, 3, 4, 5, 8, 13, 15]) {
      const view = (): [Float32Array, Float32Array] => {
        const backing = new Float32Array(layout.size + 32).fill(sentinel);
        return [backing, backing.subarray(offset, offset + layout.size)];
      };
      const [encBacking, encoded] = view();
      await native!.encode(input, layout, encoded);
      const [decBacking, decoded] = view();
      await native!.decode(refCoefficients, layout, decoded);
      const [scatBacking, scattered] = view();
      await native!.scatterMean([{ layout, k, indices, values }], layout, scattered);
      expect(maxDiff(encoded, refCoefficients)).toBeLessThan(1e-4);
      expect(maxDiff(decoded, refDecoded)).toBeLessThan(1e-4);
      expect(maxDiff(scattered, refScattered)).toBe(0);
      for (const backing of [encBacking, decBacking, scatBacking]) {
        for (let i = 0; i < offset; i++) expect(backing[i]).toBe(sentinel);
        for (let i = offset + layout.size; i < backing.length; i++) expect(backing[i]).toBe(sentinel);
      }
    }
  });

  it('top-k matches the reference on 64×64 chunks full of ties (quantized values, k up to 64)', async () => {
    const layout = computeChunkLayout([128, 128 * 4]);
    const rng = createRng(5);
    const coeffs = new Float32Array(layout.size);
    for (let c = 0; c < layout.numChunks; c++) {
      const levels = [2, 3, 17, 1000][c % 4]!;
      for (let i = 0; i < 4096; i++) coeffs[c * 4096 + i] = (rng.nextInt(levels) - (levels >> 1)) * 0.25;
    }
    // a chunk whose winners are all ties at the threshold, and one with ties spread over the groups
    for (let i = 0; i < 4096; i++) coeffs[3 * 4096 + i] = i % 256 === 7 || i % 256 === 200 ? 5 : 1;
    for (const k of [1, 7, 32, 64]) await expectTopkMatches(coeffs, layout, k);
  });

  it('top-k matches the reference on random 64×64 chunks with and without duplicated magnitudes', async () => {
    const layout = computeChunkLayout([256, 512]);
    const coeffs = fillGaussian(createRng(77), new Float32Array(layout.size));
    for (let i = 0; i + 5 < coeffs.length; i += 11) coeffs[i + 5] = -coeffs[i]!;
    await expectTopkMatches(coeffs, layout, 32);
  });

  it('scatter-mean averages an index repeated inside one selection, as the reference does', async () => {
    const layout = computeChunkLayout([8, 8]);
    const sel = { layout, k: 3, indices: Uint32Array.of(5, 5, 9), values: Float32Array.of(1, 4, -2) };
    const other = { layout, k: 3, indices: Uint32Array.of(5, 1, 2), values: Float32Array.of(7, 1, 1) };
    for (const selections of [[sel], [sel, other]]) {
      const ref = new Float32Array(64);
      const got = new Float32Array(64).fill(99);
      await referenceKernels.scatterMean(selections, layout, ref);
      await native!.scatterMean(selections, layout, got);
      expect(Array.from(got)).toEqual(Array.from(ref));
    }
  });

  it('does not block the event loop while it works', async () => {
    const layout = computeChunkLayout([2048, 2048]);
    const input = new Float32Array(layout.size).fill(1);
    const out = new Float32Array(layout.size);
    let ticks = 0;
    const timer = setInterval(() => ticks++, 1);
    const started = performance.now();
    for (let i = 0; i < 10; i++) await native!.encode(input, layout, out);
    clearInterval(timer);
    const ms = performance.now() - started;
    console.log(`10 encodes of 2048×2048 took ${ms.toFixed(1)} ms; ${ticks} 1 ms timer ticks meanwhile`);
    expect(ticks).toBeGreaterThan(0);
  });

  it('rejects mismatched buffers with the same coded errors as the TypeScript kernels', async () => {
    const layout = computeChunkLayout([64, 64]);
    for (const k of [native!, referenceKernels]) {
      let caught: unknown;
      try {
        await k.encode(new Float32Array(10), layout, new Float32Array(layout.size));
      } catch (e) {
        caught = e;
      }
      expect(isPsycheError(caught)).toBe(true);
    }
  });

  it('every mismatched argument gets exactly the TypeScript kernels\' code, and the output is left untouched', async () => {
    const layout = computeChunkLayout([64, 128]); // 2 chunks of 4096
    const n = layout.size;
    const full = (): Float32Array => new Float32Array(n).fill(7);
    const selection = (k: number, indices: Uint32Array) => ({ layout, k, indices, values: new Float32Array(indices.length).fill(1) });
    const cases: [string, number, (k: DistroKernels, out: Float32Array) => Promise<void>][] = [
      ['encode input', DISTRO_SHAPE_MISMATCH, (k, out) => k.encode(new Float32Array(n - 1), layout, out)],
      ['encode output', DISTRO_SHAPE_MISMATCH, (k, out) => k.encode(full(), layout, out.subarray(1))],
      ['decode coefficients', DISTRO_SHAPE_MISMATCH, (k, out) => k.decode(new Float32Array(n + 1), layout, out)],
      ['topk k = 0', DISTRO_SHAPE_MISMATCH, (k) => k.topk(full(), layout, 0, new Uint32Array(0), new Float32Array(0))],
      ['topk k > chunk', DISTRO_SHAPE_MISMATCH, (k) => k.topk(full(), layout, 4097, new Uint32Array(2 * 4097), new Float32Array(2 * 4097))],
      ['topk fractional k', DISTRO_SHAPE_MISMATCH, (k) => k.topk(full(), layout, 1.5, new Uint32Array(3), new Float32Array(3))],
      ['topk indices length', DISTRO_SHAPE_MISMATCH, (k) => k.topk(full(), layout, 4, new Uint32Array(7), new Float32Array(8))],
      ['scatterMean index ≥ chunk', DISTRO_INDEX_OUT_OF_RANGE, (k, out) => k.scatterMean([selection(1, Uint32Array.of(3, 4096))], layout, out)],
      ['scatterMean k vs lengths', DISTRO_RESULT_LAYOUT_MISMATCH, (k, out) => k.scatterMean([selection(2, Uint32Array.of(1, 2, 3))], layout, out)],
      ['scatterMean other layout', DISTRO_RESULT_LAYOUT_MISMATCH, (k, out) => k.scatterMean([{ ...selection(1, Uint32Array.of(0)), layout: computeChunkLayout([64, 64]) }], layout, out)],
      ['decayAccumulate', DISTRO_SHAPE_MISMATCH, (k, out) => k.decayAccumulate(out, new Float32Array(n - 1), 0.9, 0.1)],
      ['signDescent', DISTRO_SHAPE_MISMATCH, (k, out) => k.signDescent(out, new Float32Array(n + 1), 0.1)],
      // A NaN scalar turned every element into NaN; a symbol threw a TypeError in the TypeScript loop.
      ['decayAccumulate decay NaN', DISTRO_INVALID_CONFIG, (k, out) => k.decayAccumulate(out, full(), Number.NaN, 0.1)],
      ['decayAccumulate decay 1.5', DISTRO_INVALID_CONFIG, (k, out) => k.decayAccumulate(out, full(), 1.5, 0.1)],
      ['decayAccumulate lr symbol', DISTRO_INVALID_CONFIG, (k, out) => k.decayAccumulate(out, full(), 0.9, Symbol('lr') as unknown as number)],
      ['decayAccumulate lr Infinity', DISTRO_INVALID_CONFIG, (k, out) => k.decayAccumulate(out, full(), 0.9, Number.POSITIVE_INFINITY)],
      ['signDescent lr NaN', DISTRO_INVALID_CONFIG, (k, out) => k.signDescent(out, full(), Number.NaN)],
      ['signDescent lr -1', DISTRO_INVALID_CONFIG, (k, out) => k.signDescent(out, full(), -1)],
      ['signDescent lr {toString: null}', DISTRO_INVALID_CONFIG, (k, out) => k.signDescent(out, full(), { toString: null } as unknown as number)],
    ];
    for (const [what, code, call] of cases) {
      for (const k of [native!, referenceKernels, typescriptKernels]) {
        const out = full();
        expect([what, k.name, await psycheErrorCodeOfAsync(() => call(k, out))]).toEqual([what, k.name, code]);
        expect(out.every((v) => v === 7)).toBe(true);
      }
    }
  });

  it('a hand-made layout whose fields disagree never reaches the addon (it would index past the buffers): DISTRO_SHAPE_MISMATCH, output untouched', async () => {
    const layout = computeChunkLayout([64, 128]);
    const lying: ChunkLayout[] = [
      { ...layout, rows: 128 }, // rows·cols = 2 × size: the addon would read and write past both buffers
      { ...layout, cols: 256, colChunks: 4, numChunks: 4 },
      { ...layout, chunkRows: 48 }, // does not tile 64 rows
      { ...layout, chunkElems: 8192 }, // would let k exceed a real chunk
      { ...layout, shape: [64, 64] },
    ];
    for (const bad of lying) {
      const out = new Float32Array(layout.size).fill(7);
      const coefficients = new Float32Array(layout.size).fill(1);
      const calls = [
        () => native!.encode(coefficients, bad, out),
        () => native!.decode(coefficients, bad, out),
        () => native!.topk(coefficients, bad, 4, new Uint32Array(bad.numChunks * 4), new Float32Array(bad.numChunks * 4)),
        () => native!.scatterMean([], bad, out),
      ];
      for (const call of calls) expect([JSON.stringify(bad).slice(0, 60), await psycheErrorCodeOfAsync(call)]).toEqual([JSON.stringify(bad).slice(0, 60), DISTRO_SHAPE_MISMATCH]);
      expect(out.every((v) => v === 7)).toBe(true);
    }
  });
});

describe.runIf(native)('native kernels with arguments String() or JSON.stringify cannot print', () => {
  it('a k, buffer length or layout field that is {toString: null}, a symbol or null is DISTRO_SHAPE_MISMATCH, as in the TypeScript kernels', async () => {
    const layout = computeChunkLayout([64, 128]);
    const n = layout.size;
    const deep = JSON.parse(`${'['.repeat(6000)}${']'.repeat(6000)}`) as number[];
    for (const bad of [{ toString: null }, Symbol('s')] as unknown[]) {
      const buffer = { length: bad } as unknown as Float32Array;
      const calls: [string, () => Promise<void>][] = [
        ['topk k', () => native!.topk(new Float32Array(n), layout, bad as number, new Uint32Array(8), new Float32Array(8))],
        ['encode input', () => native!.encode(buffer, layout, new Float32Array(n))],
        ['decayAccumulate grad', () => native!.decayAccumulate(new Float32Array(4), buffer, 0.9, 0.1)],
        ['encode null input', () => native!.encode(null as unknown as Float32Array, layout, new Float32Array(n))],
        ['layout.size', () => native!.encode(new Float32Array(n), { ...layout, size: bad as number }, new Float32Array(n))],
        ['layout.shape', () => native!.encode(new Float32Array(n), { ...layout, shape: bad as number[] }, new Float32Array(n))],
        ['layout.shape deep', () => native!.encode(new Float32Array(n), { ...layout, shape: deep }, new Float32Array(n))],
      ];
      for (const [what, call] of calls) expect([what, await psycheErrorCodeOfAsync(call)]).toEqual([what, DISTRO_SHAPE_MISMATCH]);
    }
  });
});

describe('kernel selection', () => {
  it('falls back to the TypeScript kernels with exactly one warning line when the addon is missing', async () => {
    const lines: string[] = [];
    const addonPath = '/nonexistent/psyche_distro_kernels.node';
    const a = bestKernels({ addonPath, warn: (l) => lines.push(l) });
    const b = bestKernels({ addonPath, warn: (l) => lines.push(l) });
    expect(a.name).toBe('typescript-fast');
    expect(b).toBe(a);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/TypeScript kernels/);
    expect(() => nativeKernels(addonPath)).toThrow(/unavailable/);
    expect(() => nativeKernels(addonPath)).toThrowError(expect.objectContaining({ code: GPU_NATIVE_UNAVAILABLE }));
  });

  it('bestKernels returns a working backend either way', async () => {
    const lines: string[] = [];
    const k = bestKernels({ warn: (l) => lines.push(l) });
    expect(lines.length).toBeLessThanOrEqual(1);
    const report = await checkKernelsAgainstReference(k, { shapes: [[64, 64]] });
    expect(report.ok).toBe(true);
  });
});

// The CUDA kernels are built only where nvcc exists (`npm run build:cuda -w @psyche/gpu`) and run only
// where a device is visible. On a GPU machine this suite is their check against the reference; here
// (no GPU) it checks that they are reported unavailable with a coded error and never chosen silently.
let cuda: ReturnType<typeof cudaKernels> | undefined;
let cudaError: unknown;
try {
  cuda = cudaKernels();
} catch (e) {
  cudaError = e;
  console.warn(`CUDA kernels not checked here: ${(e as Error).message}`);
}

describe('CUDA DisTrO kernels', () => {
  it.runIf(cuda)('agree with the reference on every op (run only where a CUDA device is visible)', async () => {
    const report = await checkKernelsAgainstReference(cuda!, { shapes: [[256, 256], [100, 37], [1000], [130, 64], [512, 512]], k: 32 });
    for (const c of report.checks) console.log(`${report.kernels} ${c.op} [${c.shape.join('×')}]: max diff ${c.maxDiff.toExponential(2)} (tolerance ${c.tolerance})`);
    expect(report.ok).toBe(true);
  });

  it.runIf(!cuda)('without a built addon or a device: a coded error saying which, and bestKernels({ cuda: true }) falls back with one line', () => {
    expect(isPsycheError(cudaError) && cudaError.code === GPU_NATIVE_UNAVAILABLE).toBe(true);
    expect((cudaError as Error).message).toMatch(existsSync(cudaAddonPath()) ? /no CUDA device/ : /build:cuda/);
    const lines: string[] = [];
    const k = bestKernels({ cuda: true, warn: (l) => lines.push(l) });
    expect(k.name).not.toMatch(/^cuda/);
    expect(lines.filter((l) => /CUDA/.test(l))).toHaveLength(1);
  });

  it('a missing CUDA addon names the command that builds it', () => {
    expect(() => cudaKernels('/nonexistent/psyche_distro_cuda.node')).toThrow(/build:cuda/);
    expect(() => cudaKernels('/nonexistent/psyche_distro_cuda.node')).toThrowError(expect.objectContaining({ code: GPU_NATIVE_UNAVAILABLE }));
  });
});
