/**
 * @packageDocumentation
 * ONNX graph builder with reverse-mode autodiff, LLaMA-style models, seeded initialization,
 * safetensors checkpoints with Hugging Face names, and sampling. Pure TypeScript: the graphs it
 * builds run in ONNX Runtime (see @psyche/gpu).
 */
export * from './dtype.ts';
export * from './onnx-model.ts';
export * from './graph-builder.ts';
export * from './parameters.ts';
export * from './llama-config.ts';
export * from './llama-model.ts';
export * from './mlp-model.ts';
export * from './safetensors.ts';
export * from './checkpoint.ts';
export * from './sampling.ts';
