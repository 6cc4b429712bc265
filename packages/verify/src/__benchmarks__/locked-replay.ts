import {
  clipGradNorm,
  computeChunkLayout,
  type ChunkLayout,
  type DistroKernels,
  type DistroResult,
  type Gradients,
  type NamedTensor,
  type ParameterSelection,
} from '@psyche/distro';

/**
 * A verifier's replay of one node's DisTrO generate step (weight decay 0, no lookahead), the same
 * math as DistroOptimizer with one change: error feedback removes the coefficients at the indices
 * the NODE published last step (values taken from the verifier's own momentum), not at the indices
 * the verifier itself would have chosen. DisTrO's "delta −= decode(own result)" zeroes exactly the
 * sent coefficients of delta, so for an honest node both are the same operation; locking to the
 * published indices keeps the verifier's momentum from drifting away from the node's when its
 * arithmetic differs (bf16, other kernels), and needs only public data (the indices survive the
 * 1-bit wire).
 */
export class LockedDistroReplay {
  private readonly slots: { name: string; layout: ChunkLayout; k: number; delta: Float32Array; dense: Float32Array; decoded: Float32Array }[];

  constructor(
    params: readonly NamedTensor[],
    private readonly config: { topk: number; chunk: number; compressionDecay: number; clipGradNorm: number; kernels: DistroKernels },
  ) {
    this.slots = params.map((p) => {
      const layout = computeChunkLayout(p.shape, config.chunk);
      return {
        name: p.name,
        layout,
        k: Math.min(config.topk, layout.chunkElems),
        delta: new Float32Array(layout.size),
        dense: new Float32Array(layout.size),
        decoded: new Float32Array(layout.size),
      };
    });
  }

  /** An independent copy (a cheater branching off its true state, in the calibration). */
  clone(): LockedDistroReplay {
    const copy = Object.create(LockedDistroReplay.prototype) as LockedDistroReplay;
    Object.assign(copy, {
      config: this.config,
      slots: this.slots.map((slot) => ({ ...slot, delta: slot.delta.slice(), dense: new Float32Array(slot.dense.length), decoded: new Float32Array(slot.decoded.length) })),
    });
    return copy;
  }

  /** `published`: the node's result of the previous step (undefined at the first step). Clips `gradients` in place. */
  async generate(gradients: Gradients, lr: number, published: DistroResult | undefined): Promise<DistroResult> {
    const { kernels } = this.config;
    if (this.config.clipGradNorm > 0) clipGradNorm(gradients, this.config.clipGradNorm);
    if (published !== undefined) {
      for (const [s, slot] of this.slots.entries()) {
        const claim = published.parameters[s]!;
        await kernels.encode(slot.delta, slot.layout, slot.dense);
        const values = Float32Array.from(claim.indices, (index, j) => slot.dense[Math.floor(j / claim.k) * slot.layout.chunkElems + index]!);
        await kernels.scatterMean([{ layout: slot.layout, k: claim.k, indices: claim.indices, values }], slot.layout, slot.dense);
        await kernels.decode(slot.dense, slot.layout, slot.decoded);
        for (let i = 0; i < slot.delta.length; i++) slot.delta[i] = slot.delta[i]! - slot.decoded[i]!;
      }
    }
    const parameters: ParameterSelection[] = [];
    for (const slot of this.slots) {
      await kernels.decayAccumulate(slot.delta, gradients.get(slot.name)!, this.config.compressionDecay, lr);
      await kernels.encode(slot.delta, slot.layout, slot.dense);
      const indices = new Uint32Array(slot.layout.numChunks * slot.k);
      const values = new Float32Array(slot.layout.numChunks * slot.k);
      await kernels.topk(slot.dense, slot.layout, slot.k, indices, values);
      parameters.push({ name: slot.name, layout: slot.layout, k: slot.k, indices, values });
    }
    return { parameters };
  }
}
