import type { ChunkLayout } from './chunk-layout.ts';

/**
 * One tensor's top-k selection: exactly k coefficients per chunk.
 * indices[c·k + j] is a position inside chunk c (0 ≤ index < chunkElems), ascending within the
 * chunk; values[c·k + j] is the signed coefficient there (±1 after 1-bit quantization).
 */
export interface SparseChunks {
  readonly layout: ChunkLayout;
  readonly k: number;
  readonly indices: Uint32Array; // [numChunks · k]
  readonly values: Float32Array; // [numChunks · k]
}
