import { GPU_INPUT_MISMATCH, PsycheError } from '@psyche/core';
import { buildLlamaGraph, encodeOnnxModel, generate, gradientName, type GenerateOptions, type LlamaConfig, type Parameters } from '@psyche/modeling';
import type { ExecutionProvider } from './execution-provider.ts';
import { OnnxExecutor, type HostTensor } from './onnx-executor.ts';

export interface LlamaSessionOptions {
  readonly config: LlamaConfig;
  readonly batch: number;
  readonly seq: number;
  readonly provider?: ExecutionProvider;
  readonly intraOpNumThreads?: number;
}

/**
 * Token ids and labels must lie in [0, vocab): ONNX Gather would wrap a negative id to the end of the
 * embedding table, and the loss's one-hot has no row for an id past it, so either would train silently wrong.
 */
function assertTokenIds(name: string, tokens: BigInt64Array, vocab: number): void {
  if (!(tokens instanceof BigInt64Array)) return; // the executor reports the wrong array type
  const limit = BigInt(vocab);
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i]!;
    if (t < 0n || t >= limit) {
      throw new PsycheError(GPU_INPUT_MISMATCH, { name, expected: `token ids in [0, ${vocab})`, received: `${t} at ${i}` }, `${name}[${i}] = ${t} is outside the vocabulary [0, ${vocab})`);
    }
  }
}

function feeds(parameters: Parameters, batch: number, seq: number, ids: BigInt64Array, labels: BigInt64Array, specs: readonly { name: string; shape: readonly number[] }[], vocab: number): Record<string, HostTensor> {
  assertTokenIds('input_ids', ids, vocab);
  assertTokenIds('labels', labels, vocab);
  const f: Record<string, HostTensor> = {
    input_ids: { dtype: 'int64', dims: [batch, seq], data: ids },
    labels: { dtype: 'int64', dims: [batch, seq], data: labels },
  };
  for (const s of specs) f[s.name] = { dtype: 'float32', dims: s.shape, data: parameters.get(s.name)! };
  return f;
}

/**
 * The train graph of a LLaMA model in an {@link OnnxExecutor}: one call = forward + backward,
 * returning the mean cross-entropy and every parameter's gradient (HF names).
 */
export class LlamaTrainSession {
  private constructor(
    private readonly options: LlamaSessionOptions,
    private readonly executor: OnnxExecutor,
    private readonly specs: readonly { name: string; shape: readonly number[] }[],
  ) {}

  static async create(options: LlamaSessionOptions): Promise<LlamaTrainSession> {
    const m = buildLlamaGraph(options.config, { batch: options.batch, seq: options.seq, mode: 'train' });
    const executor = await OnnxExecutor.create({
      model: encodeOnnxModel(m.graph),
      ...(options.provider ? { provider: options.provider } : {}),
      ...(options.intraOpNumThreads ? { intraOpNumThreads: options.intraOpNumThreads } : {}),
    });
    return new LlamaTrainSession(options, executor, m.parameters);
  }

  /** ids, labels: int64 [batch · seq], labels[t] = the token after ids[t]. */
  async step(parameters: Parameters, ids: BigInt64Array, labels: BigInt64Array): Promise<{ loss: number; gradients: Map<string, Float32Array>; runMs: number }> {
    const { batch, seq, config } = this.options;
    const { outputs, runMs } = await this.executor.run(feeds(parameters, batch, seq, ids, labels, this.specs, config.vocab_size));
    const gradients = new Map<string, Float32Array>();
    for (const s of this.specs) gradients.set(s.name, outputs[gradientName(s.name)]!.data as Float32Array);
    return { loss: (outputs.loss!.data as Float32Array)[0]!, gradients, runMs };
  }

  close(): Promise<void> {
    return this.executor.close();
  }
}

/**
 * The eval graph (batch 1, `contextLength` positions) for loss and sampling.
 *
 * @example
 * const { config, parameters } = await loadLlamaCheckpoint('ckpt');
 * const lm = await LlamaEvalSession.create({ config, parameters, contextLength: 128 });
 * const bytes = await lm.generate([...Buffer.from('Call me')], { maxNewTokens: 100, sampling: { strategy: 'top-p', topP: 0.9 }, rng: createRng(1) });
 */
export class LlamaEvalSession {
  private constructor(
    private readonly config: LlamaConfig,
    private readonly parameters: Parameters,
    private readonly batch: number,
    readonly contextLength: number,
    private readonly executor: OnnxExecutor,
    private readonly specs: readonly { name: string; shape: readonly number[] }[],
  ) {}

  static async create(options: { config: LlamaConfig; parameters: Parameters; contextLength: number; batch?: number; provider?: ExecutionProvider }): Promise<LlamaEvalSession> {
    const batch = options.batch ?? 1;
    const m = buildLlamaGraph(options.config, { batch, seq: options.contextLength, mode: 'eval' });
    const executor = await OnnxExecutor.create({ model: encodeOnnxModel(m.graph), ...(options.provider ? { provider: options.provider } : {}) });
    return new LlamaEvalSession(options.config, options.parameters, batch, options.contextLength, executor, m.parameters);
  }

  /** Mean loss and logits [batch · T · V] of a window. */
  async evaluate(ids: BigInt64Array, labels: BigInt64Array): Promise<{ loss: number; logits: Float32Array }> {
    const { outputs } = await this.executor.run(feeds(this.parameters, this.batch, this.contextLength, ids, labels, this.specs, this.config.vocab_size));
    return { loss: (outputs.loss!.data as Float32Array)[0]!, logits: outputs.logits!.data as Float32Array };
  }

  generate(prompt: readonly number[], options: Pick<GenerateOptions, 'maxNewTokens' | 'sampling' | 'rng' | 'padId'>): Promise<number[]> {
    if (this.batch !== 1) throw new PsycheError(GPU_INPUT_MISMATCH, { name: 'batch', expected: '1', received: String(this.batch) }, 'generate needs a batch-1 session');
    return generate(prompt, {
      ...options,
      contextLength: this.contextLength,
      vocabSize: this.config.vocab_size,
      forward: async (ids) => (await this.evaluate(ids, new BigInt64Array(ids.length))).logits,
    });
  }

  close(): Promise<void> {
    return this.executor.close();
  }
}
