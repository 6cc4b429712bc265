// DisTrO kernels on a 4096×4096 tensor, chunk 64, top-k 32: native vs TypeScript.
// compress = encode (DCT) + topk; decompress = scatterMean of one selection + decode.
import { loadavg } from 'node:os';
import { computeChunkLayout, referenceKernels, typescriptKernels, type DistroKernels } from '@psyche/distro';
import { createRng, fillGaussian } from '@psyche/core';
import { nativeKernels } from '../native-kernels.ts';

export interface KernelFigures {
  kernels: string;
  encodeMs: number;
  topkMs: number;
  scatterMeanMs: number;
  decodeMs: number;
  compressMs: number;
  decompressMs: number;
  /** Process CPU time (all threads) of compress + decompress: what the work costs regardless of load. */
  cpuMsPerRoundTrip: number;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

export async function benchKernels(kernels: DistroKernels, runs: number, size = 4096, k = 32): Promise<KernelFigures> {
  const layout = computeChunkLayout([size, size], 64);
  const input = fillGaussian(createRng(1), new Float32Array(layout.size));
  const coeffs = new Float32Array(layout.size);
  const out = new Float32Array(layout.size);
  const indices = new Uint32Array(layout.numChunks * k);
  const values = new Float32Array(layout.numChunks * k);
  const t = { encode: [] as number[], topk: [] as number[], scatter: [] as number[], decode: [] as number[], compress: [] as number[], decompress: [] as number[] };
  const cpu: number[] = [];
  for (let r = 0; r < runs + 1; r++) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    await kernels.encode(input, layout, coeffs);
    const t1 = performance.now();
    await kernels.topk(coeffs, layout, k, indices, values);
    const t2 = performance.now();
    await kernels.scatterMean([{ layout, k, indices, values }], layout, coeffs);
    const t3 = performance.now();
    await kernels.decode(coeffs, layout, out);
    const t4 = performance.now();
    const c1 = process.cpuUsage(c0);
    if (r === 0) continue; // warm-up
    cpu.push((c1.user + c1.system) / 1000);
    t.encode.push(t1 - t0);
    t.topk.push(t2 - t1);
    t.scatter.push(t3 - t2);
    t.decode.push(t4 - t3);
    t.compress.push(t2 - t0);
    t.decompress.push(t4 - t2);
  }
  return { kernels: kernels.name, encodeMs: median(t.encode), topkMs: median(t.topk), scatterMeanMs: median(t.scatter), decodeMs: median(t.decode), compressMs: median(t.compress), decompressMs: median(t.decompress), cpuMsPerRoundTrip: median(cpu) };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const runs = Number(process.argv[2] ?? 7);
  console.log('load before', loadavg());
  console.log(await benchKernels(nativeKernels(), runs));
  console.log(await benchKernels(typescriptKernels, Math.max(1, Math.floor(runs / 3))));
  if (process.argv.includes('--reference')) console.log(await benchKernels(referenceKernels, 1));
  console.log('load after', loadavg());
}
