import {
  DISTRO_INVALID_CONFIG,
  DISTRO_NON_FINITE_VALUE,
  DISTRO_RESULT_LAYOUT_MISMATCH,
  DISTRO_SHAPE_MISMATCH,
  DISTRO_UNKNOWN_PARAMETER,
  PsycheError,
  describeValue,
} from '@psyche/core';
import { type ChunkLayout, computeChunkLayout } from './chunk-layout.ts';
import type { ResolvedDistroConfig } from './distro-config.ts';
import type { DistroResult, ParameterSelection } from './distro-result.ts';
import { clipGradNorm } from './grad-clip.ts';
import type { Gradients, NamedTensor } from './named-tensor.ts';
import { assertSelectionsFit } from './scatter-mean.ts';
import type { SparseChunks } from './sparse-chunks.ts';

/** A NaN, infinite or negative learning rate would corrupt every weight it touches: refused before any state changes. */
export function assertLearningRate(lr: number): void {
  if (typeof lr !== 'number' || !Number.isFinite(lr) || lr < 0) {
    throw new PsycheError(DISTRO_INVALID_CONFIG, { field: 'lr', value: describeValue(lr), expected: 'finite number ≥ 0' }, `learning rate must be a finite number ≥ 0, got ${describeValue(lr)}`);
  }
}

interface Slot {
  readonly param: NamedTensor;
  readonly layout: ChunkLayout;
  readonly k: number;
  readonly delta: Float32Array; // decoupled momentum, never sent whole
  readonly dense: Float32Array; // scratch: coefficients, then the decoded direction
  readonly decoded: Float32Array; // scratch
  saved: Float32Array | undefined; // weights before a lookahead, restored bit-exactly
}

/**
 * What DisTrO and DeMo share: the per-parameter momentum, compression of it, subtraction of
 * what was sent (error feedback), and the sign-SGD apply of everyone's results.
 */
export class SparseMomentum {
  readonly config: ResolvedDistroConfig;
  readonly slots: readonly Slot[];
  private readonly byName = new Map<string, Slot>();

  constructor(params: readonly NamedTensor[], config: ResolvedDistroConfig) {
    this.config = config;
    this.slots = params.map((param) => {
      const layout = computeChunkLayout(param.shape, config.chunk);
      if (param.data.length !== layout.size) {
        throw new PsycheError(DISTRO_SHAPE_MISMATCH, { name: param.name, expected: String(layout.size), received: describeValue(param.data.length) }, `${param.name}: data length ${describeValue(param.data.length)} ≠ ∏shape ${layout.size}`);
      }
      if (this.byName.has(param.name)) throw new PsycheError(DISTRO_SHAPE_MISMATCH, { name: param.name, expected: 'unique names', received: 'duplicate' }, `duplicate parameter ${param.name}`);
      const slot: Slot = {
        param,
        layout,
        k: Math.min(config.topk, layout.chunkElems),
        delta: new Float32Array(layout.size),
        dense: new Float32Array(layout.size),
        decoded: new Float32Array(layout.size),
        saved: undefined,
      };
      this.byName.set(param.name, slot);
      return slot;
    });
  }

  /** Checks names, lengths and finiteness, then clips (in place) when configured; returns the pre-clip norm. */
  prepareGradients(gradients: Gradients): number {
    for (const name of gradients.keys()) if (!this.byName.has(name)) throw new PsycheError(DISTRO_UNKNOWN_PARAMETER, { name }, `gradient for unknown parameter ${name}`);
    for (const { param } of this.slots) {
      const g = gradients.get(param.name);
      if (g === undefined || g.length !== param.data.length) {
        throw new PsycheError(DISTRO_SHAPE_MISMATCH, { name: param.name, expected: String(param.data.length), received: g === undefined ? 'missing' : describeValue(g?.length) }, `gradient of ${param.name}: expected ${param.data.length} values`);
      }
      for (let i = 0; i < g.length; i++) if (!Number.isFinite(g[i]!)) throw new PsycheError(DISTRO_NON_FINITE_VALUE, { name: param.name, index: i }, `gradient of ${param.name} is not finite at ${i}`);
    }
    return this.config.clipGradNorm > 0 ? clipGradNorm(gradients, this.config.clipGradNorm) : Number.NaN;
  }

  weightDecay(lr: number): void {
    const factor = 1 - lr * this.config.weightDecay;
    if (factor === 1) return;
    for (const { param } of this.slots) for (let i = 0; i < param.data.length; i++) param.data[i] = param.data[i]! * factor;
  }

  async accumulate(gradients: Gradients, lr: number): Promise<void> {
    for (const slot of this.slots) await this.config.kernels.decayAccumulate(slot.delta, gradients.get(slot.param.name)!, this.config.compressionDecay, lr);
  }

  /**
   * top-k of the DCT of every momentum; or, with `selectAt`, the coefficients at the indices another
   * result chose (a verifier replaying a node must remove what that node published, not its own top-k).
   */
  /** Top-k of each chunk's DCT, or the coefficients at `selectAt`'s indices (then also the top-k when `withTopk`). */
  async compress(selectAt?: DistroResult, withTopk = false): Promise<{ result: DistroResult; topk?: DistroResult }> {
    const { kernels } = this.config;
    const forced = selectAt === undefined ? undefined : this.matchResults([selectAt]);
    const parameters: ParameterSelection[] = [];
    const topkParameters: ParameterSelection[] = [];
    for (const [s, slot] of this.slots.entries()) {
      await kernels.encode(slot.delta, slot.layout, slot.dense);
      const chosen = forced?.[s]?.[0];
      if (chosen === undefined || withTopk) {
        const indices = new Uint32Array(slot.layout.numChunks * slot.k);
        const values = new Float32Array(slot.layout.numChunks * slot.k);
        await kernels.topk(slot.dense, slot.layout, slot.k, indices, values);
        (chosen === undefined ? parameters : topkParameters).push({ name: slot.param.name, layout: slot.layout, k: slot.k, indices, values });
      }
      if (chosen !== undefined) {
        const indices = chosen.indices.slice();
        const values = new Float32Array(indices.length);
        for (let j = 0; j < indices.length; j++) values[j] = slot.dense[Math.floor(j / chosen.k) * slot.layout.chunkElems + indices[j]!]!;
        parameters.push({ name: slot.param.name, layout: slot.layout, k: chosen.k, indices, values });
      }
    }
    return forced !== undefined && withTopk ? { result: { parameters }, topk: { parameters: topkParameters } } : { result: { parameters } };
  }

  /** Error feedback: delta ← delta − decode(own selection). */
  async subtractSent(own: DistroResult): Promise<void> {
    const { kernels } = this.config;
    const selections = this.matchResults([own]);
    for (let s = 0; s < this.slots.length; s++) {
      const slot = this.slots[s]!;
      await kernels.scatterMean(selections[s]!, slot.layout, slot.dense);
      await kernels.decode(slot.dense, slot.layout, slot.decoded);
      for (let i = 0; i < slot.delta.length; i++) slot.delta[i] = slot.delta[i]! - slot.decoded[i]!;
    }
  }

  /** w ← w − lr·sign(decode(scatter-mean of every result)). Validates all results before touching a weight. */
  async applyResults(results: readonly DistroResult[], lr: number): Promise<void> {
    const { kernels } = this.config;
    const selections = this.matchResults(results);
    for (let s = 0; s < this.slots.length; s++) {
      const slot = this.slots[s]!;
      await kernels.scatterMean(selections[s]!, slot.layout, slot.dense);
      await kernels.decode(slot.dense, slot.layout, slot.decoded);
      await kernels.signDescent(slot.param.data, slot.decoded, lr);
    }
  }

  /**
   * Lookahead: w ← w − lr·sign(delta), keeping the weights from before it. Undoing restores that copy
   * rather than adding lr·sign(delta) back, because (w − a) + a ≠ w in float32 and nodes must hold
   * bit-identical weights.
   */
  async applyLookahead(lr: number): Promise<void> {
    for (const slot of this.slots) {
      slot.saved ??= new Float32Array(slot.param.data.length);
      slot.saved.set(slot.param.data);
      await this.config.kernels.signDescent(slot.param.data, slot.delta, lr);
    }
  }

  restoreLookahead(): void {
    for (const slot of this.slots) if (slot.saved !== undefined) slot.param.data.set(slot.saved);
  }

  /** Per slot, the selections of every result for that parameter, after checking each result covers exactly our parameters. */
  matchResults(results: readonly DistroResult[]): SparseChunks[][] {
    const perSlot: SparseChunks[][] = this.slots.map(() => []);
    for (const result of results) {
      const seen = new Set<string>();
      if (result.parameters.length !== this.slots.length) {
        throw new PsycheError(DISTRO_RESULT_LAYOUT_MISMATCH, { name: '*', reason: `${result.parameters.length} parameters, expected ${this.slots.length}` }, `result has ${result.parameters.length} parameters, expected ${this.slots.length}`);
      }
      for (const selection of result.parameters) {
        const slot = this.byName.get(selection.name);
        if (slot === undefined || seen.has(selection.name)) throw new PsycheError(DISTRO_UNKNOWN_PARAMETER, { name: selection.name }, `result for unknown or repeated parameter ${selection.name}`);
        seen.add(selection.name);
        const { layout } = selection;
        if (layout.size !== slot.layout.size || layout.rows !== slot.layout.rows || layout.chunkRows !== slot.layout.chunkRows || layout.chunkCols !== slot.layout.chunkCols) {
          throw new PsycheError(DISTRO_RESULT_LAYOUT_MISMATCH, { name: selection.name, reason: 'shape or chunking differs' }, `${selection.name}: result layout differs from the parameter's`);
        }
        perSlot[this.slots.indexOf(slot)]!.push(selection);
      }
    }
    // Validate every index now, so a bad selection cannot leave some parameters updated and others not.
    perSlot.forEach((selections, s) => assertSelectionsFit(selections, this.slots[s]!.layout, this.slots[s]!.param.name));
    return perSlot;
  }
}
