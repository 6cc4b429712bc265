import type { ChunkLayout } from './chunk-layout.ts';
import { type Codelet, createCodelet } from './dct-codelet.ts';

/**
 * Separable fast chunked DCT: per tile, a row pass (input float32 → float64 scratch) then a
 * column pass (scratch → chunk-major float32 output), each 1-D transform a generated codelet.
 */
interface TilePlan {
  rowForward: Codelet; // length chunkCols, reads float32
  colForward: Codelet; // length chunkRows, writes float32
  rowInverse: Codelet; // length chunkCols, reads float32 coefficients
  colInverse: Codelet; // length chunkRows, writes float32 output
  scratch: Float64Array; // [chunkRows, chunkCols]
}

const plans = new Map<string, TilePlan>();

function planFor(layout: ChunkLayout): TilePlan {
  const key = `${layout.chunkRows}x${layout.chunkCols}`;
  let plan = plans.get(key);
  if (plan === undefined) {
    plan = {
      rowForward: createCodelet(layout.chunkCols, false),
      colForward: createCodelet(layout.chunkRows, false),
      rowInverse: createCodelet(layout.chunkCols, true),
      colInverse: createCodelet(layout.chunkRows, true),
      scratch: new Float64Array(layout.chunkElems),
    };
    plans.set(key, plan);
  }
  return plan;
}

export function fastEncode(input: Float32Array, layout: ChunkLayout, output: Float32Array): void {
  const { cols, chunkRows: R, chunkCols: C, rowChunks, colChunks, chunkElems } = layout;
  const { rowForward, colForward, scratch } = planFor(layout);
  for (let ty = 0; ty < rowChunks; ty++) {
    for (let tx = 0; tx < colChunks; tx++) {
      const origin = ty * R * cols + tx * C;
      for (let i = 0; i < R; i++) rowForward(input, origin + i * cols, 1, scratch, i * C, 1);
      const base = (ty * colChunks + tx) * chunkElems;
      for (let j = 0; j < C; j++) colForward(scratch, j, C, output, base + j, C);
    }
  }
}

export function fastDecode(coefficients: Float32Array, layout: ChunkLayout, output: Float32Array): void {
  const { cols, chunkRows: R, chunkCols: C, rowChunks, colChunks, chunkElems } = layout;
  const { rowInverse, colInverse, scratch } = planFor(layout);
  for (let ty = 0; ty < rowChunks; ty++) {
    for (let tx = 0; tx < colChunks; tx++) {
      const base = (ty * colChunks + tx) * chunkElems;
      for (let u = 0; u < R; u++) {
        const rowStart = base + u * C;
        // Decoding a sparse aggregate: most coefficient rows are all zero and transform to zero.
        let nonZero = false;
        for (let v = 0; v < C; v++) {
          if (coefficients[rowStart + v] !== 0) {
            nonZero = true;
            break;
          }
        }
        if (nonZero) rowInverse(coefficients, rowStart, 1, scratch, u * C, 1);
        else scratch.fill(0, u * C, u * C + C);
      }
      const origin = ty * R * cols + tx * C;
      for (let j = 0; j < C; j++) colInverse(scratch, j, C, output, origin + j, cols);
    }
  }
}
