import { PsycheError, VERIFY_LAYOUT_MISMATCH, VERIFY_MALFORMED_RESULT, describeValue } from '@psyche/core';

/**
 * One tensor's top-k selection, structurally @psyche/distro's SparseChunks (so verify needs no
 * dependency on distro): k coefficients per chunk, indices ascending inside each chunk.
 */
export interface SparseSelection {
  readonly layout: { readonly numChunks: number; readonly chunkElems: number };
  readonly k: number;
  readonly indices: Uint32Array; // [numChunks · k]
  readonly values: Float32Array; // [numChunks · k]
}

/** Similarity of two results (or tensors). Each lies in [0, 1] except manhattan (absolute). */
export interface Similarity {
  /** |A ∩ B| / |A ∪ B| over (tensor, chunk, index) positions; 1 when both are empty. */
  readonly jaccard: number;
  /** Fraction of shared positions whose values differ in sign (0 counts as its own sign); 1 when nothing is shared. */
  readonly signHamming: number;
  /** Σ |a − b| over the union (a missing coefficient is 0). */
  readonly manhattan: number;
  /** manhattan / (‖a‖₁ + ‖b‖₁): 0 identical, 1 disjoint or opposite; 0 when both are zero. */
  readonly relativeManhattan: number;
  /** a·b / (‖a‖₂‖b‖₂); 0 when either is all zeros. */
  readonly cosine: number;
  readonly shared: number;
  readonly union: number;
}

/** Running sums, so several tensors of a result aggregate before any ratio is taken. */
class SimilarityAccumulator {
  shared = 0;
  union = 0;
  signDisagreements = 0;
  manhattan = 0;
  l1a = 0;
  l1b = 0;
  dot = 0;
  squaresA = 0;
  squaresB = 0;

  onlyA(value: number): void {
    this.union++;
    this.manhattan += Math.abs(value);
    this.l1a += Math.abs(value);
    this.squaresA += value * value;
  }

  onlyB(value: number): void {
    this.union++;
    this.manhattan += Math.abs(value);
    this.l1b += Math.abs(value);
    this.squaresB += value * value;
  }

  both(a: number, b: number): void {
    this.union++;
    this.shared++;
    if (Math.sign(a) !== Math.sign(b)) this.signDisagreements++;
    this.manhattan += Math.abs(a - b);
    this.l1a += Math.abs(a);
    this.l1b += Math.abs(b);
    this.dot += a * b;
    this.squaresA += a * a;
    this.squaresB += b * b;
  }

  result(): Similarity {
    const norms = Math.sqrt(this.squaresA) * Math.sqrt(this.squaresB);
    const l1 = this.l1a + this.l1b;
    return {
      jaccard: this.union === 0 ? 1 : this.shared / this.union,
      signHamming: this.shared === 0 ? 1 : this.signDisagreements / this.shared,
      manhattan: this.manhattan,
      relativeManhattan: l1 === 0 ? 0 : this.manhattan / l1,
      cosine: norms === 0 ? 0 : Math.max(-1, Math.min(1, this.dot / norms)),
      shared: this.shared,
      union: this.union,
    };
  }
}

function malformed(what: string, reason: string): PsycheError {
  return new PsycheError(VERIFY_MALFORMED_RESULT, { what, reason }, `malformed ${what}: ${reason}`);
}

/** Checks lengths, index range, ascending order and finiteness: hostile results must not steer the merge. */
export function assertSparseSelection(selection: SparseSelection, what = 'selection'): void {
  const { layout, k, indices, values } = selection;
  if (!Number.isInteger(layout.numChunks) || layout.numChunks < 0 || !Number.isInteger(layout.chunkElems) || layout.chunkElems < 1) {
    throw malformed(what, 'invalid layout');
  }
  if (!Number.isInteger(k) || k < 0 || k > layout.chunkElems) throw malformed(what, `k=${describeValue(k)} outside [0, ${layout.chunkElems}]`);
  if (!(indices instanceof Uint32Array) || !(values instanceof Float32Array)) throw malformed(what, 'indices must be Uint32Array, values Float32Array');
  const expected = layout.numChunks * k;
  if (indices.length !== expected || values.length !== expected) {
    throw malformed(what, `expected ${expected} indices and values, got ${indices.length} and ${values.length}`);
  }
  for (let chunk = 0; chunk < layout.numChunks; chunk++) {
    let previous = -1;
    for (let j = chunk * k; j < (chunk + 1) * k; j++) {
      const index = indices[j]!;
      if (index >= layout.chunkElems) throw malformed(what, `index ${index} at ${j} outside chunk of ${layout.chunkElems}`);
      if (index <= previous) throw malformed(what, `indices of chunk ${chunk} not strictly ascending at ${j}`);
      if (!Number.isFinite(values[j]!)) throw malformed(what, `non-finite value at ${j}`);
      previous = index;
    }
  }
}

function assertSameLayout(a: SparseSelection, b: SparseSelection, tensor: number): void {
  if (a.layout.numChunks !== b.layout.numChunks || a.layout.chunkElems !== b.layout.chunkElems) {
    throw new PsycheError(
      VERIFY_LAYOUT_MISMATCH,
      {
        what: `tensor ${tensor}`,
        expected: `${a.layout.numChunks} chunks × ${a.layout.chunkElems}`,
        received: `${b.layout.numChunks} chunks × ${b.layout.chunkElems}`,
      },
      `tensor ${tensor}: layouts differ`,
    );
  }
}

/** Merges two sorted chunk selections (k may differ between them). */
function accumulateSparse(acc: SimilarityAccumulator, a: SparseSelection, b: SparseSelection): void {
  for (let chunk = 0; chunk < a.layout.numChunks; chunk++) {
    let i = chunk * a.k;
    let j = chunk * b.k;
    const endA = i + a.k;
    const endB = j + b.k;
    while (i < endA || j < endB) {
      const indexA = i < endA ? a.indices[i]! : Infinity;
      const indexB = j < endB ? b.indices[j]! : Infinity;
      if (indexA === indexB) acc.both(a.values[i++]!, b.values[j++]!);
      else if (indexA < indexB) acc.onlyA(a.values[i++]!);
      else acc.onlyB(b.values[j++]!);
    }
  }
}

/**
 * Similarity between two DisTrO results (one selection per parameter tensor, same order), summed
 * over all tensors before the ratios. Throws VERIFY_LAYOUT_MISMATCH / VERIFY_MALFORMED_RESULT.
 */
export function compareSparseResults(a: readonly SparseSelection[], b: readonly SparseSelection[]): Similarity {
  if (a.length !== b.length) {
    throw new PsycheError(
      VERIFY_LAYOUT_MISMATCH,
      { what: 'tensor count', expected: String(a.length), received: String(b.length) },
      `results have ${a.length} and ${b.length} tensors`,
    );
  }
  const acc = new SimilarityAccumulator();
  a.forEach((selectionA, tensor) => {
    const selectionB = b[tensor]!;
    assertSameLayout(selectionA, selectionB, tensor);
    assertSparseSelection(selectionA, `result A tensor ${tensor}`);
    assertSparseSelection(selectionB, `result B tensor ${tensor}`);
    accumulateSparse(acc, selectionA, selectionB);
  });
  return acc.result();
}

/** Similarity of two tensors' selections. */
export function compareSparse(a: SparseSelection, b: SparseSelection): Similarity {
  return compareSparseResults([a], [b]);
}

/**
 * Similarity between dense tensors. The support of a dense tensor is its non-zero entries: Jaccard
 * compares supports, signHamming counts sign disagreements where both are non-zero.
 */
export function compareDense(a: Float32Array, b: Float32Array): Similarity {
  if (a.length !== b.length) {
    throw new PsycheError(
      VERIFY_LAYOUT_MISMATCH,
      { what: 'dense length', expected: String(a.length), received: String(b.length) },
      `dense tensors have ${a.length} and ${b.length} elements`,
    );
  }
  const acc = new SimilarityAccumulator();
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!;
    const y = b[i]!;
    if (x !== 0 && y !== 0) acc.both(x, y);
    else if (x !== 0) acc.onlyA(x);
    else if (y !== 0) acc.onlyB(y);
  }
  return acc.result();
}

/** Scatters a selection into dense chunk-major coefficients (unselected = 0): the readable reference for tests. */
export function sparseToDense(selection: SparseSelection): Float32Array {
  assertSparseSelection(selection);
  const { layout, k, indices, values } = selection;
  const out = new Float32Array(layout.numChunks * layout.chunkElems);
  for (let j = 0; j < indices.length; j++) out[Math.floor(j / k) * layout.chunkElems + indices[j]!] = values[j]!;
  return out;
}
