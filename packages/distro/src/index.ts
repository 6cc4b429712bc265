/**
 * @packageDocumentation
 * DisTrO / DeMo optimizer math: chunked DCT, top-k, 1-bit packing, wire format, optimizers.
 */
export * from './chunk-layout.ts';
export * from './sparse-chunks.ts';
export * from './kernels.ts';
