import { type DistroConfig, resolveDistroConfig } from './distro-config.ts';
import type { DistroResult } from './distro-result.ts';
import type { GenerateOutput } from './distro-optimizer.ts';
import type { Gradients, NamedTensor } from './named-tensor.ts';
import { SparseMomentum, assertLearningRate } from './sparse-momentum-internal.ts';

/**
 * The DeMo reference optimizer (Peng, Kingma et al. 2024, `demo.py`), per step:
 *   p ← p·(1 − lr·wd);  delta ← β·delta + lr·g;  (idx, val) = topk(DCT(delta));
 *   delta ← delta − decode(idx, val)   (immediate error feedback);
 *   all-gather;  p ← p − lr·sign(decode(scatter-mean(all)))
 * Values travel unquantized (f32 or bf16 on the wire), no lookahead, no overlap.
 */
export class DemoOptimizer {
  private readonly core: SparseMomentum;

  constructor(params: readonly NamedTensor[], config: DistroConfig = {}) {
    this.core = new SparseMomentum(params, resolveDistroConfig({ compressionDecay: 0.999, topk: 32, ...config }));
  }

  get config() {
    return this.core.config;
  }

  async generate(gradients: Gradients, lr: number): Promise<GenerateOutput> {
    assertLearningRate(lr);
    const gradNorm = this.core.prepareGradients(gradients);
    this.core.weightDecay(lr);
    await this.core.accumulate(gradients, lr);
    const { result } = await this.core.compress();
    await this.core.subtractSent(result);
    return { result, gradNorm };
  }

  async apply(results: readonly DistroResult[], lr: number): Promise<void> {
    assertLearningRate(lr);
    await this.core.applyResults(results, lr);
  }

  momentum(name: string): Float32Array | undefined {
    return this.core.slots.find((s) => s.param.name === name)?.delta;
  }
}
