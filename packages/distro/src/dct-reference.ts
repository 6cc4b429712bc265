import type { ChunkLayout } from './chunk-layout.ts';
import { dctBasis } from './dct-basis.ts';

/**
 * Readable matrix-form chunked DCT, the reference every fast path is tested against.
 * Each chunkRows × chunkCols tile X of the row-major [rows, cols] input becomes D_r · X · D_cᵀ
 * (float64 accumulation), stored chunk-major (see ChunkLayout).
 */
export function referenceEncode(input: Float32Array, layout: ChunkLayout, output: Float32Array): void {
  const { cols, chunkRows: R, chunkCols: C, rowChunks, colChunks, chunkElems } = layout;
  const dr = dctBasis(R);
  const dc = dctBasis(C);
  const tile = new Float64Array(chunkElems);
  const half = new Float64Array(chunkElems); // X · D_cᵀ
  for (let ty = 0; ty < rowChunks; ty++) {
    for (let tx = 0; tx < colChunks; tx++) {
      for (let i = 0; i < R; i++) for (let j = 0; j < C; j++) tile[i * C + j] = input[(ty * R + i) * cols + tx * C + j]!;
      for (let i = 0; i < R; i++) {
        for (let v = 0; v < C; v++) {
          let sum = 0;
          for (let j = 0; j < C; j++) sum += tile[i * C + j]! * dc[v * C + j]!;
          half[i * C + v] = sum;
        }
      }
      const base = (ty * colChunks + tx) * chunkElems;
      for (let u = 0; u < R; u++) {
        for (let v = 0; v < C; v++) {
          let sum = 0;
          for (let i = 0; i < R; i++) sum += dr[u * R + i]! * half[i * C + v]!;
          output[base + u * C + v] = sum;
        }
      }
    }
  }
}

/** Inverse of {@link referenceEncode}: every tile Y becomes D_rᵀ · Y · D_c. */
export function referenceDecode(coefficients: Float32Array, layout: ChunkLayout, output: Float32Array): void {
  const { cols, chunkRows: R, chunkCols: C, rowChunks, colChunks, chunkElems } = layout;
  const dr = dctBasis(R);
  const dc = dctBasis(C);
  const half = new Float64Array(chunkElems); // Y · D_c
  for (let ty = 0; ty < rowChunks; ty++) {
    for (let tx = 0; tx < colChunks; tx++) {
      const base = (ty * colChunks + tx) * chunkElems;
      for (let u = 0; u < R; u++) {
        for (let j = 0; j < C; j++) {
          let sum = 0;
          for (let v = 0; v < C; v++) sum += coefficients[base + u * C + v]! * dc[v * C + j]!;
          half[u * C + j] = sum;
        }
      }
      for (let i = 0; i < R; i++) {
        for (let j = 0; j < C; j++) {
          let sum = 0;
          for (let u = 0; u < R; u++) sum += dr[u * R + i]! * half[u * C + j]!;
          output[(ty * R + i) * cols + tx * C + j] = sum;
        }
      }
    }
  }
}
