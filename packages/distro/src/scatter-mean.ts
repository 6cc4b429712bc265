import { DISTRO_INDEX_OUT_OF_RANGE, DISTRO_RESULT_LAYOUT_MISMATCH, PsycheError, describeValue } from '@psyche/core';
import type { ChunkLayout } from './chunk-layout.ts';
import type { SparseChunks } from './sparse-chunks.ts';

/**
 * Checks that every selection fits `layout` before anything is written, so a hostile selection
 * cannot leave a half-written aggregate behind.
 */
export const MAX_SELECTIONS = 65535;

export function assertSelectionsFit(selections: readonly SparseChunks[], layout: ChunkLayout, name = 'tensor'): void {
  if (selections.length > MAX_SELECTIONS) {
    throw new PsycheError(DISTRO_RESULT_LAYOUT_MISMATCH, { name, reason: `${selections.length} selections` }, `${name}: at most ${MAX_SELECTIONS} selections can be averaged`);
  }
  for (const s of selections) {
    if (s.layout.chunkRows !== layout.chunkRows || s.layout.chunkCols !== layout.chunkCols || s.layout.size !== layout.size || s.layout.rows !== layout.rows) {
      throw new PsycheError(DISTRO_RESULT_LAYOUT_MISMATCH, { name, reason: 'chunk layout differs' }, `${name}: selection has a different chunk layout`);
    }
    // k checked before numChunks·k: multiplying a symbol or a {toString: null} throws a TypeError.
    const expected = Number.isInteger(s.k) ? layout.numChunks * s.k : Number.NaN;
    if (!Number.isInteger(s.k) || s.k < 1 || s.k > layout.chunkElems || s.indices.length !== expected || s.values.length !== expected) {
      throw new PsycheError(DISTRO_RESULT_LAYOUT_MISMATCH, { name, reason: `k=${describeValue(s.k)}, ${describeValue(s.indices.length)} indices` }, `${name}: selection sizes do not match k`);
    }
    for (let i = 0; i < s.indices.length; i++) {
      if (s.indices[i]! >= layout.chunkElems) {
        throw new PsycheError(DISTRO_INDEX_OUT_OF_RANGE, { name, index: s.indices[i]!, limit: layout.chunkElems }, `${name}: index ${s.indices[i]} ≥ ${layout.chunkElems}`);
      }
    }
  }
}

/** Readable reference: sums and counts over the whole coefficient array, then divide. */
export function referenceScatterMean(selections: readonly SparseChunks[], layout: ChunkLayout, output: Float32Array): void {
  assertSelectionsFit(selections, layout);
  const sums = new Float64Array(layout.size);
  const counts = new Uint32Array(layout.size);
  for (const s of selections) {
    for (let c = 0; c < layout.numChunks; c++) {
      for (let j = 0; j < s.k; j++) {
        const position = c * layout.chunkElems + s.indices[c * s.k + j]!;
        sums[position]! += s.values[c * s.k + j]!;
        counts[position]!++;
      }
    }
  }
  for (let i = 0; i < layout.size; i++) output[i] = counts[i]! > 0 ? sums[i]! / counts[i]! : 0;
}

/**
 * Fast path: clear, accumulate into the output, then divide only the touched positions
 * (found again by walking the selections), so the dense pass is a single fill.
 */
export function fastScatterMean(selections: readonly SparseChunks[], layout: ChunkLayout, output: Float32Array): void {
  assertSelectionsFit(selections, layout);
  output.fill(0);
  if (selections.length === 0) return;
  if (selections.length === 1) {
    const s = selections[0]!;
    for (let c = 0; c < layout.numChunks; c++) {
      const base = c * layout.chunkElems;
      for (let j = 0; j < s.k; j++) output[base + s.indices[c * s.k + j]!] = s.values[c * s.k + j]!;
    }
    return;
  }
  // Sums accumulate in float32 (relative error ≲ peers·2⁻²⁴; exact for ±1 values); counts fit
  // u16 because selections are capped at MAX_SELECTIONS.
  const counts = new Uint16Array(layout.size);
  for (const s of selections) {
    for (let c = 0; c < layout.numChunks; c++) {
      const base = c * layout.chunkElems;
      for (let j = 0; j < s.k; j++) {
        const position = base + s.indices[c * s.k + j]!;
        output[position]! += s.values[c * s.k + j]!;
        counts[position]!++;
      }
    }
  }
  for (const s of selections) {
    for (let c = 0; c < layout.numChunks; c++) {
      const base = c * layout.chunkElems;
      for (let j = 0; j < s.k; j++) {
        const position = base + s.indices[c * s.k + j]!;
        const count = counts[position]!;
        if (count > 1) {
          output[position] = output[position]! / count;
          counts[position] = 1;
        }
      }
    }
  }
}
