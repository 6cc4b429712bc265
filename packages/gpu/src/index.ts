/**
 * @packageDocumentation
 * Execution for Psyche nodes: ONNX Runtime sessions in worker threads with explicitly chosen
 * providers (cpu, cuda, webgpu), and native DisTrO kernels (C++ N-API addon, CUDA) implementing
 * @psyche/distro's DistroKernels.
 */
export * from './execution-provider.ts';
export * from './onnx-executor.ts';
export * from './native-kernels.ts';
export * from './llama-session.ts';
