import type { ChunkLayout } from './chunk-layout.ts';

/**
 * Tie rule, shared by every implementation: coefficient a beats b when |a| > |b|, or |a| = |b|
 * and a's index is lower (as ONNX Runtime's TopK). NaN counts as magnitude −1, below every
 * number, so it is only ever chosen to fill a chunk with fewer than k numbers (never, for k ≤ chunk).
 * The k winners are written in ascending index order.
 */
function magnitude(value: number): number {
  return value === value ? Math.abs(value) : -1;
}

/** Readable reference: sort each chunk's entries by the tie rule, keep k, order by index. */
export function referenceTopk(coefficients: Float32Array, layout: ChunkLayout, k: number, indices: Uint32Array, values: Float32Array): void {
  const { numChunks, chunkElems } = layout;
  for (let c = 0; c < numChunks; c++) {
    const base = c * chunkElems;
    const order = Array.from({ length: chunkElems }, (_, i) => i);
    order.sort((a, b) => magnitude(coefficients[base + b]!) - magnitude(coefficients[base + a]!) || a - b);
    const chosen = order.slice(0, k).sort((a, b) => a - b);
    for (let j = 0; j < k; j++) {
      indices[c * k + j] = chosen[j]!;
      values[c * k + j] = coefficients[base + chosen[j]!]!;
    }
  }
}

/**
 * Fast path: one pass per chunk keeping the best k in a binary min-heap ordered by the tie rule
 * (root = the current worst winner). Most entries lose against the root in one comparison, so a
 * chunk costs ~chunkElems comparisons plus O(k log k) heap work per replacement.
 */
export function fastTopk(coefficients: Float32Array, layout: ChunkLayout, k: number, indices: Uint32Array, values: Float32Array): void {
  const { numChunks, chunkElems } = layout;
  const heapMag = new Float64Array(k);
  const heapIdx = new Int32Array(k);
  const sorted = new Uint32Array(k);
  for (let c = 0; c < numChunks; c++) {
    const base = c * chunkElems;
    let size = 0;
    for (let i = 0; i < chunkElems; i++) {
      const v = coefficients[base + i]!;
      const m = v === v ? Math.abs(v) : -1;
      if (size < k) {
        // sift up: parent must stay worse than (or equal to) child
        let pos = size++;
        while (pos > 0) {
          const parent = (pos - 1) >> 1;
          const pm = heapMag[parent]!;
          // Min-heap on the tie rule: (m, i) rises while it is worse than its parent. i is larger than
          // every index already in the heap, so an equal magnitude makes it the worse one.
          if (m <= pm) {
            heapMag[pos] = pm;
            heapIdx[pos] = heapIdx[parent]!;
            pos = parent;
          } else break;
        }
        heapMag[pos] = m;
        heapIdx[pos] = i;
      } else if (m > heapMag[0]!) {
        // i beats the root only with a strictly larger magnitude (its index is larger than the root's).
        let pos = 0;
        for (;;) {
          const left = 2 * pos + 1;
          if (left >= k) break;
          const right = left + 1;
          let child = left;
          if (right < k && isWorse(heapMag[right]!, heapIdx[right]!, heapMag[left]!, heapIdx[left]!)) child = right;
          if (isWorse(heapMag[child]!, heapIdx[child]!, m, i)) {
            heapMag[pos] = heapMag[child]!;
            heapIdx[pos] = heapIdx[child]!;
            pos = child;
          } else break;
        }
        heapMag[pos] = m;
        heapIdx[pos] = i;
      }
    }
    for (let j = 0; j < k; j++) sorted[j] = heapIdx[j]!;
    sorted.sort();
    for (let j = 0; j < k; j++) {
      const index = sorted[j]!;
      indices[c * k + j] = index;
      values[c * k + j] = coefficients[base + index]!;
    }
  }
}

/** (ma, ia) is worse than (mb, ib) under the tie rule. */
function isWorse(ma: number, ia: number, mb: number, ib: number): boolean {
  return ma < mb || (ma === mb && ia > ib);
}
