import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { GPU_PROVIDER_UNAVAILABLE, PsycheError } from '@psyche/core';

/** Where a session runs. Chosen explicitly; an unavailable provider is an error, never a silent CPU fallback. */
export type ExecutionProvider = 'cpu' | 'cuda' | 'webgpu';

const require = createRequire(import.meta.url);

/** Absolute path of onnxruntime-node's entry (the worker `require`s it). */
export function onnxRuntimePath(): string {
  return require.resolve('onnxruntime-node');
}

/** The folder holding onnxruntime-node's native binding and shared libraries for this platform. */
export function onnxRuntimeBinDir(): string {
  return join(dirname(onnxRuntimePath()), '..', 'bin', 'napi-v6', process.platform, process.arch);
}

export const PROVIDER_INSTALL_HINTS: Readonly<Record<Exclude<ExecutionProvider, 'cpu'>, string>> = {
  cuda:
    'onnxruntime-node ships its CUDA provider outside the npm package, and this project skips that download (.npmrc onnxruntime-node-install=skip). ' +
    'On a Linux x64 machine with CUDA 12 and cuDNN 9 and network access run `node node_modules/onnxruntime-node/script/install --onnxruntime-node-install=cuda12` ' +
    '(or `ONNXRUNTIME_NODE_INSTALL=cuda12 npm rebuild onnxruntime-node`); it puts libonnxruntime_providers_cuda.so and libonnxruntime_providers_shared.so next to the binding.',
  webgpu:
    'the WebGPU provider (Dawn) is bundled but needs a GPU adapter: install the Vulkan loader (`apt-get install libvulkan1`) and a Vulkan driver for your GPU (mesa-vulkan-drivers or the vendor driver); software adapters are rejected.',
};

/**
 * Fails fast, before a worker is spawned, when a provider's libraries are known to be missing.
 * Providers that pass this check can still fail at session creation (no adapter, wrong CUDA):
 * the executor turns that into the same GPU_PROVIDER_UNAVAILABLE error.
 */
export function assertProviderInstalled(provider: ExecutionProvider): void {
  if (provider === 'cpu') return;
  if (provider === 'cuda') {
    const missing = ['libonnxruntime_providers_cuda.so', 'libonnxruntime_providers_shared.so'].filter((f) => !existsSync(join(onnxRuntimeBinDir(), f)));
    if (process.platform !== 'linux' && process.platform !== 'win32') missing.push(`a CUDA build of onnxruntime-node for ${process.platform}`);
    if (missing.length > 0) throw providerUnavailable('cuda', missing.join(', '));
  }
}

export function providerUnavailable(provider: Exclude<ExecutionProvider, 'cpu'>, missing: string): PsycheError<typeof GPU_PROVIDER_UNAVAILABLE> {
  const install = PROVIDER_INSTALL_HINTS[provider];
  return new PsycheError(GPU_PROVIDER_UNAVAILABLE, { provider, missing, install }, `execution provider ${provider} is unavailable: missing ${missing}. To install: ${install}`);
}
