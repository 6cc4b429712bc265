import { sha256, toHex } from '@psyche/core';
import { type DataProvider, openExampleDataset, openLocalProvider } from '@psyche/data-provider';
import { DistroOptimizer, decodeResultWithLayout, denseBf16Bytes, encodeCompactResult, resultLayoutOf, resultPayloadSizes, type DistroResult, type NamedTensor, type ResultLayout } from '@psyche/distro';
import { LlamaTrainSession } from '@psyche/gpu';
import { decodeParameters, encodeParameters, initParameters, llamaParameterSpecs, loadLlamaCheckpoint, type ParameterSpec, type Parameters } from '@psyche/modeling';
import type { RunFile } from './node-config.ts';

/** One trained batch: loss, the wire bytes of the DisTrO result, timing. */
export interface TrainedBatch {
  readonly loss: number;
  readonly payload: Uint8Array;
  readonly tokens: number;
  readonly trainMs: number;
}

/**
 * The node's model and optimizer: weights (one Float32Array per parameter, shared by the ONNX
 * feeds and the DisTrO optimizer, which updates them in place), a train session per batch size
 * (a node's share of the global batch changes when the member count does), the data provider.
 */
export class Trainer {
  readonly specs: readonly ParameterSpec[];
  readonly parameters: Parameters;
  private optimizer: DistroOptimizer;
  private readonly sessions = new Map<number, Promise<LlamaTrainSession>>();
  /** Learning rate of this node's last generate, for the next lookahead (0: none pending). */
  private lookaheadLr = 0;

  private constructor(
    readonly run: RunFile,
    readonly data: DataProvider,
    private readonly threads: number,
  ) {
    this.specs = llamaParameterSpecs(run.model);
    this.parameters = initParameters(this.specs, run.modelSeed);
    this.optimizer = this.newOptimizer();
  }

  /** Back to the run's starting weights (seeded init or the configured checkpoint). */
  async reset(): Promise<void> {
    this.load(this.run.modelCheckpoint !== undefined ? (await loadLlamaCheckpoint(this.run.modelCheckpoint)).parameters : initParameters(this.specs, this.run.modelSeed));
  }

  /** Creates the train sessions of the batch shares a node can get (during warmup, so the first round is not slow). */
  async prepare(globalBatch: number, members: number): Promise<void> {
    if (members < 1) return;
    const low = Math.floor(globalBatch / members);
    for (const size of new Set([low, Math.ceil(globalBatch / members)])) if (size > 0) await this.session(size);
  }

  static async create(run: RunFile, options: { threads?: number } = {}): Promise<Trainer> {
    const data = await openTrainingData(run, 'train');
    const trainer = new Trainer(run, data, options.threads ?? 1);
    if (run.modelCheckpoint !== undefined) trainer.load((await loadLlamaCheckpoint(run.modelCheckpoint)).parameters);
    return trainer;
  }

  private newOptimizer(): DistroOptimizer {
    return this.distroOptimizerFor(this.tensors());
  }

  tensors(): NamedTensor[] {
    return this.specs.map((s) => ({ name: s.name, shape: s.shape, data: this.parameters.get(s.name)! }));
  }

  get denseBf16BytesPerStep(): number {
    return denseBf16Bytes(this.tensors());
  }

  /** Replaces the weights (checkpoint from disk or peers); momentum starts over. */
  load(parameters: Parameters): void {
    for (const s of this.specs) this.parameters.get(s.name)!.set(parameters.get(s.name)!);
    this.restartMomentum();
  }

  loadSafetensors(bytes: Uint8Array): void {
    this.load(decodeParameters(this.specs, bytes));
  }

  safetensors(): Uint8Array {
    return encodeParameters(this.specs, this.parameters, { format: 'pt', producer: 'psyche-ts reference node' });
  }

  /** sha256 of the weights' safetensors bytes: equal on every node that applied the same results. */
  fingerprint(): string {
    return toHex(sha256(this.safetensors()));
  }

  private session(batch: number): Promise<LlamaTrainSession> {
    let s = this.sessions.get(batch);
    if (!s) {
      s = LlamaTrainSession.create({ config: this.run.model, batch, seq: this.run.run.seqLen, intraOpNumThreads: this.threads });
      this.sessions.set(batch, s);
    }
    return s;
  }

  /**
   * Trains batch ids [start, end) at learning rate `lr`: lookahead, forward/backward in the ONNX
   * Runtime worker, DisTrO generate; returns the result's wire bytes (1-bit values if configured).
   */
  async train(start: bigint, end: bigint, lr: number, step: number): Promise<TrainedBatch> {
    const started = performance.now();
    await this.optimizer.applyLookahead(this.lookaheadLr);
    const { loss, gradients, tokens } = await this.gradientsAt(this.parameters, start, end, step);
    const { result } = await this.optimizer.generate(gradients, lr);
    this.lookaheadLr = lr;
    const payload = this.encodeResult(result);
    return { loss, payload, tokens, trainMs: performance.now() - started };
  }

  /** Loss and gradients of batch ids [start, end) at `weights` (this node's own, or a replayed peer's). */
  async gradientsAt(weights: Parameters, start: bigint, end: bigint, step: number): Promise<{ loss: number; gradients: Map<string, Float32Array>; tokens: number }> {
    const ids = Array.from({ length: Number(end - start) }, (_, i) => Number(start) + i);
    const batch = await this.data.getSequences(ids, { step });
    const seq = this.run.run.seqLen;
    const inputs = new BigInt64Array(ids.length * seq);
    const labels = new BigInt64Array(ids.length * seq);
    for (let r = 0; r < ids.length; r++) {
      for (let t = 0; t < seq; t++) {
        inputs[r * seq + t] = BigInt(batch.tokens[r * (seq + 1) + t]!);
        labels[r * seq + t] = BigInt(batch.tokens[r * (seq + 1) + t + 1]!);
      }
    }
    const session = await this.session(ids.length);
    const { loss, gradients } = await session.step(weights, inputs, labels);
    return { loss, gradients, tokens: ids.length * seq };
  }

  /** The run's DisTrO settings, for replicas of this optimizer (verifier replays). */
  distroOptimizerFor(tensors: readonly NamedTensor[]): DistroOptimizer {
    const c = this.run.run;
    return new DistroOptimizer(tensors, { chunk: c.distroChunk, topk: c.distroTopk, compressionDecay: c.compressionDecay, weightDecay: c.weightDecay, clipGradNorm: c.clipGradNorm });
  }

  /** Momentum starts over (every node at every epoch's first step, so any member can replay any other from there). */
  restartMomentum(): void {
    this.optimizer = this.newOptimizer();
    this.lookaheadLr = 0;
  }

  /**
   * The run's wire encoding of a result: compact v2 (every node knows the model, so only an 8-byte
   * digest of the layout travels, then the packed indices and values), 1-bit values if configured.
   */
  encodeResult(result: DistroResult): Uint8Array {
    return encodeCompactResult(result, this.resultLayout());
  }

  /** Decodes a peer's (or its own) wire bytes against this model's layout (v2, or v1 with the same layout); throws a coded error on malformed bytes or another layout. */
  decodeResult(payload: Uint8Array): DistroResult {
    return decodeResultWithLayout(payload, this.resultLayout());
  }

  /** Whether `bytes` is a length a valid result of this model has on the wire (v2, or v1 of the same layout): checked before fetching a peer's blob. */
  isResultPayloadSize(bytes: number): boolean {
    const sizes = resultPayloadSizes(this.resultLayout());
    return bytes === sizes.compact || bytes === sizes.v1;
  }

  private wireLayout: ResultLayout | undefined;
  private resultLayout(): ResultLayout {
    const c = this.run.run;
    this.wireLayout ??= resultLayoutOf(this.specs, { chunk: c.distroChunk, topk: c.distroTopk }, c.distroQuantize1bit ? 'sign' : 'f32');
    return this.wireLayout;
  }

  /** Sign-SGD on the aggregate of the round's accepted results (every node applies the same list in the same order). */
  async apply(results: readonly DistroResult[], lr: number): Promise<void> {
    await this.optimizer.undoLookahead();
    await this.optimizer.apply(results, lr);
  }

  /** Undoes a pending lookahead (before checkpoints and comparisons). */
  async settle(): Promise<void> {
    await this.optimizer.undoLookahead();
  }

  async close(): Promise<void> {
    for (const s of this.sessions.values()) await (await s).close();
    this.sessions.clear();
    await this.data.close();
  }
}

/** The run's training or validation split, as a data provider. */
export async function openTrainingData(run: RunFile, split: 'train' | 'validation'): Promise<DataProvider> {
  if (run.data.kind === 'example') {
    return openExampleDataset({ outDir: run.data.dir, tokenizer: 'byte', seqLen: run.run.seqLen, split, shuffleSeed: run.data.shuffleSeed });
  }
  return openLocalProvider({ dir: `${run.data.dir}/${split}`, shuffleSeed: run.data.shuffleSeed });
}
