import { quantizeSigns, type DistroOptimizer, type DistroResult } from '@psyche/distro';
import type { Parameters } from '@psyche/modeling';
import { judgeRecomputation, type Verdict } from '@psyche/verify';
import type { Trainer } from './trainer.ts';

/** What a member claimed for one step: the batch it was assigned and the result it published. */
export interface ReplayClaim {
  readonly step: number;
  readonly start: bigint;
  /** Exclusive end of the batch-id interval. */
  readonly end: bigint;
  readonly lr: number;
  /** The published result as decoded from its wire bytes. */
  readonly result: DistroResult;
}

/**
 * A verifier's replica of one other member's DisTrO state (docs/verify.md, "locked replay").
 *
 * Every member's weights before its lookahead are the same shared weights, so per step the replica
 * takes those, applies the member's lookahead from its own replayed momentum, computes the member's
 * gradients on the member's assigned batch, and runs generate with `selectAt` = the member's claim:
 * error feedback then removes what the member actually sent, so an honest member's momentum is
 * tracked exactly, and `reportTopk` gives the top-k the member should have sent, which the claim is
 * judged against. Momentum restarts at every epoch's first step on every node, so a replica
 * started there is exact; a replica that misses a step cannot judge again in that epoch.
 */
export class ResultReplay {
  private readonly weights: Parameters;
  private readonly optimizer: DistroOptimizer;
  private lookaheadLr = 0;

  /** @param nextStep the step the replica starts at (an epoch's first step). */
  constructor(
    private readonly trainer: Trainer,
    public nextStep: number,
  ) {
    this.weights = new Map([...trainer.parameters].map(([name, w]) => [name, new Float32Array(w.length)]));
    this.optimizer = trainer.distroOptimizerFor(trainer.specs.map((s) => ({ name: s.name, shape: s.shape, data: this.weights.get(s.name)! })));
  }

  /**
   * Replays `claim.step` from `shared` (the round's shared weights, no lookahead applied) and judges
   * the claim. The replica moves on to the next step whatever the verdict: it is locked to what
   * the member sent, which is what the member's own error feedback removed.
   */
  async judge(shared: Parameters, claim: ReplayClaim): Promise<Verdict> {
    if (claim.step !== this.nextStep) throw new Error(`replay expects step ${this.nextStep}, got ${claim.step}`);
    for (const [name, w] of this.weights) w.set(shared.get(name)!);
    await this.optimizer.applyLookahead(this.lookaheadLr);
    const { gradients } = await this.trainer.gradientsAt(this.weights, claim.start, claim.end, claim.step);
    const { topk } = await this.optimizer.generate(gradients, claim.lr, { selectAt: claim.result, reportTopk: true });
    this.lookaheadLr = claim.lr;
    this.nextStep = claim.step + 1;
    const expected = this.trainer.run.run.distroQuantize1bit ? quantizeSigns(topk!) : topk!;
    return judgeRecomputation(claim.result.parameters, expected.parameters);
  }
}
