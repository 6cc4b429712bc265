import { DISTRO_OPTIMIZER_STATE, PsycheError } from '@psyche/core';
import { type DistroConfig, resolveDistroConfig } from './distro-config.ts';
import type { DistroResult } from './distro-result.ts';
import type { Gradients, NamedTensor } from './named-tensor.ts';
import { SparseMomentum, assertLearningRate } from './sparse-momentum-internal.ts';

export interface GenerateOptions {
  /** Take the coefficients at these indices instead of the top-k (verifier replay). */
  readonly selectAt?: DistroResult;
  /** With `selectAt`: also return the top-k this momentum would have chosen (what a verifier judges the claim against). */
  readonly reportTopk?: boolean;
}

export interface GenerateOutput {
  /** This node's result (unquantized); send `encodeDistroResult(result, 'sign')`. */
  readonly result: DistroResult;
  /** Global gradient norm before clipping (NaN when clipping is disabled). */
  readonly gradNorm: number;
  /** The unforced top-k of the same coefficients, when `selectAt` and `reportTopk` were given. */
  readonly topk?: DistroResult;
}

/**
 * DisTrO as Psyche runs it. Per round, for a node training step s:
 *
 *   applyLookahead(lr_{s−1})   before the forward pass: w ← w − lr_{s−1}·sign(delta)
 *   … forward/backward on the lookahead weights → gradients …
 *   generate(grads, lr_s)      undo the lookahead; delta ← delta − decode(own result of s−1)
 *                              (error feedback one step late); w ← w·(1 − lr·wd);
 *                              delta ← β·delta + lr·g; result = topk(DCT(delta))
 *   apply(results, lr)         w ← w − lr·sign(decode(scatter-mean(results)))
 *
 * With Psyche's two-round overlap, `apply` at step s receives the results of step s − 2 (see
 * OverlapQueue); every node must apply the same decoded results, its own included, so pass its
 * own result as decoded from its own wire bytes.
 *
 * @example
 * const opt = new DistroOptimizer(params, { topk: 4 });
 * opt.applyLookahead(prevLr);
 * const { result } = await opt.generate(grads, lr);
 * const bytes = encodeDistroResult(result, 'sign');
 * await opt.apply([decodeDistroResult(bytes), ...peers], lr);
 */
export class DistroOptimizer {
  private readonly core: SparseMomentum;
  private lookaheadLr: number | undefined;
  private lastOwn: DistroResult | undefined;

  constructor(params: readonly NamedTensor[], config: DistroConfig = {}) {
    this.core = new SparseMomentum(params, resolveDistroConfig(config));
  }

  get config() {
    return this.core.config;
  }

  /** Whether a lookahead is currently applied to the weights. */
  get lookaheadApplied(): boolean {
    return this.lookaheadLr !== undefined;
  }

  /** Moves the weights along this node's own pending direction before the forward pass. */
  async applyLookahead(lr: number): Promise<void> {
    assertLearningRate(lr);
    if (this.lookaheadLr !== undefined) throw new PsycheError(DISTRO_OPTIMIZER_STATE, { reason: 'lookahead already applied' }, 'applyLookahead called twice without generate');
    await this.core.applyLookahead(lr);
    this.lookaheadLr = lr;
  }

  /** Undoes a pending lookahead without generating (e.g. before saving a checkpoint). */
  async undoLookahead(): Promise<void> {
    if (this.lookaheadLr === undefined) return;
    this.core.restoreLookahead();
    this.lookaheadLr = undefined;
  }

  /**
   * One step's result. `options.selectAt` replaces top-k by the indices of a result someone else
   * published: a verifier replaying a node passes that node's decoded result so its momentum tracks
   * the node's exactly (error feedback removes what the node actually sent).
   */
  async generate(gradients: Gradients, lr: number, options: GenerateOptions = {}): Promise<GenerateOutput> {
    assertLearningRate(lr);
    const gradNorm = this.core.prepareGradients(gradients);
    if (options.selectAt !== undefined) this.core.matchResults([options.selectAt]); // validate before any state changes
    await this.undoLookahead();
    if (this.lastOwn !== undefined) await this.core.subtractSent(this.lastOwn);
    this.core.weightDecay(lr);
    await this.core.accumulate(gradients, lr);
    const { result, topk } = await this.core.compress(options.selectAt, options.reportTopk === true);
    this.lastOwn = result;
    return topk === undefined ? { result, gradNorm } : { result, gradNorm, topk };
  }

  /** Sign-SGD on the shared direction. Results are validated before any weight changes. */
  async apply(results: readonly DistroResult[], lr: number): Promise<void> {
    assertLearningRate(lr);
    if (this.lookaheadLr !== undefined) throw new PsycheError(DISTRO_OPTIMIZER_STATE, { reason: 'lookahead applied' }, 'apply called while a lookahead is applied; generate or undoLookahead first');
    await this.core.applyResults(results, lr);
  }

  /** This node's momentum of a parameter (for checkpoints and inspection). */
  momentum(name: string): Float32Array | undefined {
    return this.core.slots.find((s) => s.param.name === name)?.delta;
  }
}
