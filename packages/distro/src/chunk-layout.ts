import { DISTRO_INVALID_CONFIG, DISTRO_SHAPE_MISMATCH, PsycheError, describeShape, describeValue } from '@psyche/core';

/** Default chunk length per dimension (DeMo and Psyche both use 64). */
export const DEFAULT_CHUNK = 64;

/**
 * How a tensor is cut into DCT chunks.
 *
 * Rule for any rank: the tensor is viewed as a row-major matrix [rows, cols] with
 * cols = last dimension and rows = product of all leading dimensions (rank 0 and 1: rows = 1).
 * Each dimension's chunk length is the largest divisor of it that is ≤ the configured chunk,
 * so 4096 → 64, 100 → 50, 37 → 37 (prime ≤ 64) and 1 → 1. A vector therefore gets 1-D DCTs
 * of length chunkCols and a matrix 2-D DCTs over chunkRows × chunkCols tiles.
 *
 * Coefficients are stored chunk-major: chunk c = tileRow·colChunks + tileCol occupies
 * [c·chunkElems, (c+1)·chunkElems), and inside it coefficient (u, v) sits at u·chunkCols + v.
 */
export interface ChunkLayout {
  readonly shape: readonly number[];
  readonly rows: number;
  readonly cols: number;
  readonly chunkRows: number;
  readonly chunkCols: number;
  readonly rowChunks: number;
  readonly colChunks: number;
  readonly numChunks: number;
  readonly chunkElems: number;
  /** rows · cols */
  readonly size: number;
}

/** The largest divisor of `dim` that is ≤ `maxChunk` (≥ 1). */
export function largestDivisorAtMost(dim: number, maxChunk: number): number {
  for (let c = Math.min(dim, maxChunk); c > 1; c--) if (dim % c === 0) return c;
  return 1;
}

export function computeChunkLayout(shape: readonly number[], maxChunk: number = DEFAULT_CHUNK): ChunkLayout {
  if (!Number.isInteger(maxChunk) || maxChunk < 1 || maxChunk > 4096) {
    throw new PsycheError(
      DISTRO_INVALID_CONFIG,
      { field: 'chunk', value: describeValue(maxChunk), expected: 'integer in [1, 4096]' },
      `chunk must be an integer in [1, 4096], got ${describeValue(maxChunk)}`,
    );
  }
  assertShape(shape);
  const cols = shape.length === 0 ? 1 : shape[shape.length - 1]!;
  const rows = shape.slice(0, -1).reduce((a, b) => a * b, 1);
  if (rows * cols > 2 ** 31) {
    throw new PsycheError(
      DISTRO_SHAPE_MISMATCH,
      { name: 'shape', expected: 'at most 2^31 elements', received: describeShape(shape) },
      `tensor of shape ${describeShape(shape)} is too large`,
    );
  }
  return layoutWithChunks(shape, largestDivisorAtMost(rows, maxChunk), largestDivisorAtMost(cols, maxChunk));
}

/**
 * An array of positive integers, checked before anything reads it: a shape from a JS caller can be
 * anything, and `for…of` over a non-array, or JSON.stringify of one nested 6,000 deep to print it,
 * threw a TypeError or RangeError instead of DISTRO_SHAPE_MISMATCH.
 */
function assertShape(shape: unknown): asserts shape is readonly number[] {
  if (!Array.isArray(shape) || !shape.every((dim) => Number.isInteger(dim) && dim >= 1 && dim <= 2 ** 31)) {
    throw new PsycheError(
      DISTRO_SHAPE_MISMATCH,
      { name: 'shape', expected: 'positive integer dimensions', received: describeShape(shape) },
      `invalid shape ${describeShape(shape)}`,
    );
  }
}

/** A layout with explicit chunk lengths (as read from the wire); they must divide rows and cols. */
export function layoutWithChunks(shape: readonly number[], chunkRows: number, chunkCols: number): ChunkLayout {
  assertShape(shape);
  const cols = shape.length === 0 ? 1 : shape[shape.length - 1]!;
  const rows = shape.slice(0, -1).reduce((a, b) => a * b, 1);
  if (!Number.isInteger(chunkRows) || !Number.isInteger(chunkCols) || chunkRows < 1 || chunkCols < 1 || rows % chunkRows !== 0 || cols % chunkCols !== 0) {
    throw new PsycheError(
      DISTRO_SHAPE_MISMATCH,
      { name: 'chunk', expected: `divisors of ${rows}×${cols}`, received: `${describeValue(chunkRows)}×${describeValue(chunkCols)}` },
      `chunk ${describeValue(chunkRows)}×${describeValue(chunkCols)} does not tile ${rows}×${cols}`,
    );
  }
  const rowChunks = rows / chunkRows;
  const colChunks = cols / chunkCols;
  return {
    shape: [...shape],
    rows,
    cols,
    chunkRows,
    chunkCols,
    rowChunks,
    colChunks,
    numChunks: rowChunks * colChunks,
    chunkElems: chunkRows * chunkCols,
    size: rows * cols,
  };
}

/** Bits needed to address one coefficient inside a chunk: ceil(log2(chunkElems)); 12 for 64×64. */
export function indexBits(layout: ChunkLayout): number {
  return layout.chunkElems <= 1 ? 0 : Math.ceil(Math.log2(layout.chunkElems));
}
