import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DISTRO_SHAPE_MISMATCH, GPU_KERNEL_ARGUMENT, GPU_KERNEL_FAILED, GPU_NATIVE_UNAVAILABLE, PsycheError, describeValue } from '@psyche/core';
import { assertKernelScalars, assertSelectionsFit, layoutWithChunks, typescriptKernels, type ChunkLayout, type DistroKernels } from '@psyche/distro';

/** The addons' raw functions (native/distro_kernels.cc and native/cuda/distro_cuda_addon.cc). */
interface NativeAddon {
  encode(input: Float32Array, output: Float32Array, rows: number, cols: number, chunkRows: number, chunkCols: number): Promise<void>;
  decode(coefficients: Float32Array, output: Float32Array, rows: number, cols: number, chunkRows: number, chunkCols: number): Promise<void>;
  topk(coefficients: Float32Array, rows: number, cols: number, chunkRows: number, chunkCols: number, k: number, indices: Uint32Array, values: Float32Array): Promise<void>;
  scatterMean(indices: Uint32Array[], values: Float32Array[], ks: number[], output: Float32Array, rows: number, cols: number, chunkRows: number, chunkCols: number): Promise<void>;
  decayAccumulate(delta: Float32Array, grad: Float32Array, decay: number, lr: number): Promise<void>;
  signDescent(weights: Float32Array, direction: Float32Array, lr: number): Promise<void>;
  readonly threads: number;
  readonly simd: string;
}

/** The CUDA addon adds device discovery. */
interface CudaAddon extends NativeAddon {
  deviceCount(): number;
  deviceName(): string;
}

/** build/Release/ of this package, from src/ (sources) and dist/ (built) alike. */
export function nativeAddonPath(): string {
  return join(dirname(fileURLToPath(import.meta.url)), '..', 'build', 'Release', 'psyche_distro_kernels.node');
}

/** build-cuda/psyche_distro_cuda.node, built by `npm run build:cuda -w @psyche/gpu` where nvcc exists. */
export function cudaAddonPath(): string {
  return join(dirname(fileURLToPath(import.meta.url)), '..', 'build-cuda', 'psyche_distro_cuda.node');
}

const loaded = new Map<string, { addon?: NativeAddon; error?: string }>();

function loadAddon(path = nativeAddonPath(), buildCommand = 'build:native'): { addon?: NativeAddon; error?: string } {
  let result = loaded.get(path);
  if (result) return result;
  if (!existsSync(path)) result = { error: `${path} is missing (build it with \`npm run ${buildCommand} -w @psyche/gpu\`)` };
  else {
    try {
      result = { addon: createRequire(import.meta.url)(path) as NativeAddon };
    } catch (e) {
      result = { error: `${path} failed to load: ${e instanceof Error ? e.message : String(e)}` };
    }
  }
  loaded.set(path, result);
  return result;
}

function expectLength(what: string, array: ArrayLike<number>, length: number): void {
  // describeValue and ?.: a JS caller's buffer can be null or carry a length whose String() throws.
  const got = (array as ArrayLike<number> | null | undefined)?.length;
  if (got !== length) {
    throw new PsycheError(DISTRO_SHAPE_MISMATCH, { name: what, expected: String(length), received: describeValue(got) }, `${what}: expected length ${length}, got ${describeValue(got)}`);
  }
}

async function call(op: string, run: () => Promise<void>): Promise<void> {
  try {
    await run();
  } catch (e) {
    if (e instanceof RangeError) throw new PsycheError(GPU_KERNEL_ARGUMENT, { name: op, expected: 'buffers matching the layout', received: e.message }, `${op}: ${e.message}`);
    const reason = e instanceof Error ? e.message : String(e);
    throw new PsycheError(GPU_KERNEL_FAILED, { op, reason }, `${op}: ${reason}`);
  }
}

const dims = (l: ChunkLayout): [number, number, number, number] => [l.rows, l.cols, l.chunkRows, l.chunkCols];

/**
 * The addon indexes memory with rows, cols and the chunk sizes alone, while the buffers were checked
 * against layout.size: a hand-made layout whose fields disagree (rows·cols ≠ size, chunks that do not
 * tile) would make it read or write past them. Such a layout is DISTRO_SHAPE_MISMATCH before any call.
 */
function assertConsistentLayout(l: ChunkLayout): void {
  const fresh = layoutWithChunks(l.shape, l.chunkRows, l.chunkCols);
  const fields = ['rows', 'cols', 'rowChunks', 'colChunks', 'numChunks', 'chunkElems', 'size'] as const;
  const wrong = fields.find((f) => fresh[f] !== l[f]);
  if (wrong !== undefined) {
    throw new PsycheError(DISTRO_SHAPE_MISMATCH, { name: `layout.${wrong}`, expected: String(fresh[wrong]), received: describeValue(l[wrong]) }, `layout.${wrong} is ${describeValue(l[wrong])}, its shape and chunks give ${fresh[wrong]}`);
  }
}

/**
 * The C++ kernels (SIMD loops, persistent thread pool, work off the event loop) behind
 * @psyche/distro's DistroKernels. Arguments are checked here with the same codes as the TypeScript
 * kernels, so the backends are interchangeable. Throws GPU_NATIVE_UNAVAILABLE when the addon is not built.
 */
export function nativeKernels(addonPath?: string): DistroKernels & { readonly threads: number; readonly simd: string } {
  const { addon, error } = loadAddon(addonPath);
  if (!addon) throw new PsycheError(GPU_NATIVE_UNAVAILABLE, { reason: error ?? 'unknown' }, `native DisTrO kernels unavailable: ${error}`);
  return { ...kernelsOverAddon(addon, `native-cpp(${addon.simd}, ${addon.threads} threads)`), threads: addon.threads, simd: addon.simd };
}

/**
 * The CUDA kernels (native/cuda) behind the same interface: each call copies its buffers to the
 * device and back. **Unchecked on a GPU in this repository** (no GPU machine was available): run
 * `checkKernelsAgainstReference(cudaKernels())` from @psyche/distro on the target machine before
 * relying on them; the test suite does exactly that wherever a device is visible. Throws
 * GPU_NATIVE_UNAVAILABLE when the CUDA addon is not built (`npm run build:cuda -w @psyche/gpu`,
 * needs nvcc) or no CUDA device is visible.
 */
export function cudaKernels(addonPath = cudaAddonPath()): DistroKernels & { readonly device: string; readonly checkedOnGpu: false } {
  const { addon, error } = loadAddon(addonPath, 'build:cuda');
  if (!addon) throw new PsycheError(GPU_NATIVE_UNAVAILABLE, { reason: error ?? 'unknown' }, `CUDA DisTrO kernels unavailable: ${error}`);
  const cuda = addon as CudaAddon;
  if (cuda.deviceCount() < 1) {
    const reason = 'no CUDA device visible (no NVIDIA driver or GPU on this machine)';
    throw new PsycheError(GPU_NATIVE_UNAVAILABLE, { reason }, `CUDA DisTrO kernels unavailable: ${reason}`);
  }
  const device = cuda.deviceName();
  return { ...kernelsOverAddon(addon, `cuda(${device}, unchecked on GPU)`), device, checkedOnGpu: false };
}

/** Argument checks with the TypeScript kernels' codes, then the addon call off the event loop. */
function kernelsOverAddon(addon: NativeAddon, name: string): DistroKernels {
  return {
    name,
    encode: (input, layout, output) => {
      assertConsistentLayout(layout);
      expectLength('input', input, layout.size);
      expectLength('output', output, layout.size);
      return call('encode', () => addon.encode(input, output, ...dims(layout)));
    },
    decode: (coefficients, layout, output) => {
      assertConsistentLayout(layout);
      expectLength('coefficients', coefficients, layout.size);
      expectLength('output', output, layout.size);
      return call('decode', () => addon.decode(coefficients, output, ...dims(layout)));
    },
    topk: (coefficients, layout, k, indices, values) => {
      assertConsistentLayout(layout);
      expectLength('coefficients', coefficients, layout.size);
      if (!Number.isInteger(k) || k < 1 || k > layout.chunkElems) {
        throw new PsycheError(DISTRO_SHAPE_MISMATCH, { name: 'k', expected: `1..${layout.chunkElems}`, received: describeValue(k) }, `k must be in [1, ${layout.chunkElems}], got ${describeValue(k)}`);
      }
      expectLength('indices', indices, layout.numChunks * k);
      expectLength('values', values, layout.numChunks * k);
      return call('topk', () => addon.topk(coefficients, ...dims(layout), k, indices, values));
    },
    scatterMean: (selections, layout, output) => {
      assertConsistentLayout(layout);
      expectLength('output', output, layout.size);
      assertSelectionsFit(selections, layout);
      return call('scatterMean', () =>
        addon.scatterMean(
          selections.map((s) => s.indices),
          selections.map((s) => s.values),
          selections.map((s) => s.k),
          output,
          ...dims(layout),
        ),
      );
    },
    decayAccumulate: (delta, grad, decay, lr) => {
      expectLength('grad', grad, delta.length);
      assertKernelScalars(decay, lr);
      return call('decayAccumulate', () => addon.decayAccumulate(delta, grad, decay, lr));
    },
    signDescent: (weights, direction, lr) => {
      expectLength('direction', direction, weights.length);
      assertKernelScalars(undefined, lr);
      return call('signDescent', () => addon.signDescent(weights, direction, lr));
    },
  };
}

const warnedFor = new Set<string>();

/**
 * The fastest kernels available: native when the addon is built, otherwise @psyche/distro's
 * TypeScript kernels with a one-line warning (once per process). With `cuda: true`, the CUDA kernels
 * where the CUDA addon is built and a device is visible (one warning line saying they are unchecked
 * on a GPU), else the CPU choice above with one line saying why.
 */
export function bestKernels(options: { warn?: (line: string) => void; addonPath?: string; cuda?: boolean; cudaAddonPath?: string } = {}): DistroKernels {
  if (options.cuda) {
    // Opt-in only: the CUDA kernels have not been checked on a GPU here (see cudaKernels).
    try {
      const kernels = cudaKernels(options.cudaAddonPath);
      (options.warn ?? console.warn)(`@psyche/gpu: using ${kernels.name}: the CUDA DisTrO kernels have not been checked on a GPU in this repository`);
      return kernels;
    } catch (e) {
      (options.warn ?? console.warn)(`@psyche/gpu: ${(e as Error).message}; using the CPU kernels`);
    }
  }
  const path = options.addonPath ?? nativeAddonPath();
  const { addon, error } = loadAddon(path);
  if (addon) return nativeKernels(path);
  if (!warnedFor.has(path)) {
    warnedFor.add(path);
    (options.warn ?? console.warn)(`@psyche/gpu: native DisTrO kernels unavailable (${error}); using the TypeScript kernels`);
  }
  return typescriptKernels;
}
