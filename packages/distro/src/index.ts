/**
 * @packageDocumentation
 * DisTrO / DeMo optimizer math: chunked DCT, top-k, 1-bit packing, wire format, optimizers.
 */
export * from './chunk-layout.ts';
export * from './sparse-chunks.ts';
export * from './kernels.ts';
export * from './dct-basis.ts';
export * from './dct-reference.ts';
export * from './dct-fast.ts';
export * from './topk.ts';
export * from './scatter-mean.ts';
export * from './elementwise.ts';
export * from './typescript-kernels.ts';
export * from './bit-packing.ts';
export * from './bf16.ts';
export * from './distro-result.ts';
export * from './wire-format.ts';
export * from './bit-stream.ts';
export * from './compact-wire-format.ts';
export * from './named-tensor.ts';
export * from './grad-clip.ts';
export * from './lr-schedule.ts';
export * from './distro-config.ts';
export * from './distro-optimizer.ts';
export * from './demo-optimizer.ts';
export * from './adamw.ts';
export * from './byte-accounting.ts';
export * from './overlap-queue.ts';
export * from './kernel-check.ts';
export * from './kernel-scalars.ts';
