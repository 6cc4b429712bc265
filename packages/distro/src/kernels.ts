import type { ChunkLayout } from './chunk-layout.ts';
import type { SparseChunks } from './sparse-chunks.ts';

/**
 * The numeric kernels DisTrO needs, one call per tensor. The TypeScript implementations in this
 * package are the reference; native (C++ N-API) and CUDA backends implement the same interface
 * and are checked against it (`checkKernelsAgainstReference`). Every method may complete
 * asynchronously so a backend can run off the event loop; buffers are owned by the caller and must
 * not be touched until the promise settles.
 */
export interface DistroKernels {
  readonly name: string;
  /** Chunked orthonormal DCT-II. input: float32 [rows·cols] row-major → output: float32 [numChunks·chunkElems] chunk-major. */
  encode(input: Float32Array, layout: ChunkLayout, output: Float32Array): Promise<void>;
  /** Inverse (DCT-III, the transpose): chunk-major coefficients → row-major tensor. */
  decode(coefficients: Float32Array, layout: ChunkLayout, output: Float32Array): Promise<void>;
  /**
   * Per chunk, the k coefficients of largest magnitude. Ties in magnitude: the lower index wins
   * (as ONNX Runtime's TopK). Written ascending by index. indices/values: [numChunks·k].
   */
  topk(coefficients: Float32Array, layout: ChunkLayout, k: number, indices: Uint32Array, values: Float32Array): Promise<void>;
  /**
   * Scatter-mean of several selections into dense chunk-major coefficients: a coefficient chosen by
   * m peers gets the mean of their m values; one chosen by nobody is 0 (the zero is not averaged in).
   */
  scatterMean(selections: readonly SparseChunks[], layout: ChunkLayout, output: Float32Array): Promise<void>;
  /** delta ← decay·delta + lr·grad (DisTrO's decoupled momentum with the learning rate folded in). */
  decayAccumulate(delta: Float32Array, grad: Float32Array, decay: number, lr: number): Promise<void>;
  /** weights ← weights − lr·sign(direction), sign(0) = 0. */
  signDescent(weights: Float32Array, direction: Float32Array, lr: number): Promise<void>;
}
