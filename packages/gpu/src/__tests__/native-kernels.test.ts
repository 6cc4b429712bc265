import { describe, expect, it } from 'vitest';
import { isPsycheError } from '@psyche/core';
import { checkKernelsAgainstReference, computeChunkLayout, referenceKernels } from '@psyche/distro';
import { bestKernels, nativeKernels } from '../native-kernels.ts';

// The addon is built by the package's install script (or `npm run build:native -w @psyche/gpu`);
// where it could not be built the suite checks the fallback instead.
let native: ReturnType<typeof nativeKernels> | undefined;
try {
  native = nativeKernels();
} catch (e) {
  console.warn(`native kernels not built here: ${(e as Error).message}`);
}

describe.runIf(native)('native DisTrO kernels vs the TypeScript reference', () => {
  it('agree on every op and shape (max differences printed)', async () => {
    const report = await checkKernelsAgainstReference(native!, { shapes: [[256, 256], [100, 37], [1000], [3, 5, 64], [1], [130, 64], [64, 4096]], k: 8 });
    for (const c of report.checks) console.log(`${report.kernels} ${c.op} [${c.shape.join('×')}]: max diff ${c.maxDiff.toExponential(2)} (tolerance ${c.tolerance})`);
    expect(report.ok).toBe(true);
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
    for (const k of [1, 32, 64]) {
      const n = layout.numChunks * k;
      const [ri, rv, ni, nv] = [new Uint32Array(n), new Float32Array(n), new Uint32Array(n), new Float32Array(n)];
      await referenceKernels.topk(coeffs, layout, k, ri, rv);
      await native!.topk(coeffs, layout, k, ni, nv);
      expect(Array.from(ni)).toEqual(Array.from(ri));
      expect(Array.from(nv)).toEqual(Array.from(rv));
    }
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
  });

  it('bestKernels returns a working backend either way', async () => {
    const lines: string[] = [];
    const k = bestKernels({ warn: (l) => lines.push(l) });
    expect(lines.length).toBeLessThanOrEqual(1);
    const report = await checkKernelsAgainstReference(k, { shapes: [[64, 64]] });
    expect(report.ok).toBe(true);
  });
});
