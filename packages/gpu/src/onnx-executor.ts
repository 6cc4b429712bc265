import { Worker } from 'node:worker_threads';
import { GPU_EXECUTOR_CLOSED, GPU_INPUT_MISMATCH, GPU_PROVIDER_UNAVAILABLE, GPU_SESSION_FAILED, PsycheError, describeShape, describeValue } from '@psyche/core';
import { assertProviderInstalled, onnxRuntimePath, providerUnavailable, type ExecutionProvider } from './execution-provider.ts';
import { SESSION_WORKER_SOURCE } from './session-worker-source-internal.ts';

export type HostDType = 'float32' | 'float64' | 'int64' | 'bool';

/** A tensor in host memory, as fed to or returned by a session. */
export interface HostTensor {
  readonly dtype: HostDType;
  readonly dims: readonly number[];
  readonly data: Float32Array | Float64Array | BigInt64Array | Uint8Array;
}

export interface OnnxExecutorOptions {
  /** Serialized ONNX model (e.g. `encodeOnnxModel(graph)` from @psyche/modeling). */
  readonly model: Uint8Array;
  /** Default `cpu`. `cuda` and `webgpu` never fall back to CPU: they work or fail with GPU_PROVIDER_UNAVAILABLE. */
  readonly provider?: ExecutionProvider;
  /** ORT intra-op threads (default: ORT's choice, all cores). */
  readonly intraOpNumThreads?: number;
  readonly graphOptimizationLevel?: 'disabled' | 'basic' | 'extended' | 'all';
  /**
   * Let ORT's intra-op threads spin between ops (default false). On a CPU shared with other work,
   * spinning costs more than it saves: a 1024×1024·1024×384 Gemm chain ran at 24 GFLOP/s spinning vs
   * 38 GFLOP/s not, 2 threads, load average 4.5 (measured).
   */
  readonly allowSpinning?: boolean;
}

export interface RunResult {
  readonly outputs: Record<string, HostTensor>;
  /** Time inside `session.run` in the worker, ms. */
  readonly runMs: number;
}

type WorkerMessage =
  | { type: 'ready'; inputNames: string[]; outputNames: string[] }
  | { type: 'init-error'; message: string }
  | { type: 'result'; id: number; outputs: Record<string, HostTensor>; ms: number }
  | { type: 'error'; id: number; message: string }
  | { type: 'closed' };

const ELEMENT_ARRAYS: Readonly<Record<HostDType, new (n: number) => HostTensor['data']>> = { float32: Float32Array, float64: Float64Array, int64: BigInt64Array, bool: Uint8Array };

/**
 * One ONNX Runtime session living in a worker thread, so `run()` (which blocks its thread for the
 * whole computation) never blocks the caller's event loop. Runs are executed in order.
 * `close()` is cooperative: the run in progress finishes, then the session is released and the
 * worker exits (terminating a worker during a run would abort the process).
 *
 * @example
 * const exec = await OnnxExecutor.create({ model: encodeOnnxModel(graph), provider: 'cpu' });
 * const { outputs } = await exec.run({ x: { dtype: 'float32', dims: [2], data: Float32Array.of(1, 2) } });
 * await exec.close();
 */
export class OnnxExecutor {
  private readonly pending = new Map<number, { resolve: (r: RunResult) => void; reject: (e: unknown) => void }>();
  private nextId = 0;
  private closing: Promise<void> | undefined;
  private exited = false;

  private constructor(
    private readonly worker: Worker,
    readonly provider: ExecutionProvider,
    readonly inputNames: readonly string[],
    readonly outputNames: readonly string[],
  ) {
    worker.on('message', (m: WorkerMessage) => {
      if (m.type === 'result' || m.type === 'error') {
        const p = this.pending.get(m.id);
        this.pending.delete(m.id);
        if (!p) return;
        if (m.type === 'result') p.resolve({ outputs: m.outputs, runMs: m.ms });
        else p.reject(new PsycheError(GPU_SESSION_FAILED, { reason: m.message }, `ONNX Runtime run failed: ${m.message}`));
      }
    });
    worker.on('exit', () => {
      this.exited = true;
      for (const p of this.pending.values()) p.reject(new PsycheError(GPU_EXECUTOR_CLOSED, { reason: 'worker exited' }, 'executor worker exited'));
      this.pending.clear();
    });
    worker.on('error', () => undefined); // surfaced through 'exit' and the pending promises
  }

  /** Creates the session in a new worker; resolves once ONNX Runtime has loaded the model. */
  static async create(options: OnnxExecutorOptions): Promise<OnnxExecutor> {
    const provider = options.provider ?? 'cpu';
    // Options from a JS caller are checked before they reach the worker: a symbol threw a DataCloneError
    // there, and an unknown provider object ended in a template literal that threw a TypeError.
    if (provider !== 'cpu' && provider !== 'cuda' && provider !== 'webgpu') {
      throw new PsycheError(
        GPU_PROVIDER_UNAVAILABLE,
        { provider: describeValue(provider), missing: 'a known execution provider', install: 'pass provider cpu, cuda or webgpu' },
        `execution provider ${describeValue(provider)} is unknown: expected cpu, cuda or webgpu`,
      );
    }
    checkSessionOption('intraOpNumThreads', options.intraOpNumThreads, (v) => Number.isSafeInteger(v) && (v as number) >= 0, 'an integer ≥ 0');
    checkSessionOption('graphOptimizationLevel', options.graphOptimizationLevel, (v) => ['disabled', 'basic', 'extended', 'all'].includes(v as string), 'disabled, basic, extended or all');
    checkSessionOption('allowSpinning', options.allowSpinning, (v) => typeof v === 'boolean', 'a boolean');
    if (!(options.model instanceof Uint8Array)) {
      throw new PsycheError(GPU_SESSION_FAILED, { reason: `model: expected Uint8Array, got ${describeValue(options.model)}` }, `ONNX Runtime could not create the session: model is ${describeValue(options.model)}, not bytes`);
    }
    assertProviderInstalled(provider);
    const worker = new Worker(SESSION_WORKER_SOURCE, {
      eval: true,
      workerData: {
        ortPath: onnxRuntimePath(),
        model: options.model,
        provider,
        intraOpNumThreads: options.intraOpNumThreads ?? 0,
        graphOptimizationLevel: options.graphOptimizationLevel ?? 'all',
        allowSpinning: options.allowSpinning ?? false,
      },
    });
    const first = await new Promise<WorkerMessage>((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
    }).catch((e: unknown) => ({ type: 'init-error', message: e instanceof Error ? e.message : String(e) }) as const);
    if (first.type === 'ready') return new OnnxExecutor(worker, provider, first.inputNames, first.outputNames);
    const message = first.type === 'init-error' ? first.message : `unexpected message ${first.type}`;
    if (provider !== 'cpu') throw providerUnavailable(provider, `a working ${provider} provider (ONNX Runtime said: ${message})`);
    throw new PsycheError(GPU_SESSION_FAILED, { reason: message }, `ONNX Runtime could not create the session: ${message}`);
  }

  /**
   * Runs the session on `feeds` (copied to the worker; pass `transfer: true` to move the buffers
   * instead, which detaches them in the caller). Output buffers are moved back without copying.
   */
  run(feeds: Record<string, HostTensor>, options: { transfer?: boolean } = {}): Promise<RunResult> {
    if (this.closing || this.exited) return Promise.reject(new PsycheError(GPU_EXECUTOR_CLOSED, { reason: 'close() was called' }, 'executor is closed'));
    for (const name of this.inputNames) {
      const t = feeds[name];
      if (!t) return Promise.reject(new PsycheError(GPU_INPUT_MISMATCH, { name, expected: 'a feed', received: 'missing' }, `missing feed ${name}`));
      // An unknown dtype or a negative / fractional dimension is a coded mismatch here, not a TypeError or an ORT failure;
      // typeof first (Object.hasOwn converts a {toString: null} key and throws), and describeValue/describeShape
      // print them (String() of {toString: null} or of dims nested 6,000 deep threw).
      if (typeof t.dtype !== 'string' || !Object.hasOwn(ELEMENT_ARRAYS, t.dtype) || !Array.isArray(t.dims) || !t.dims.every((d) => Number.isSafeInteger(d) && d >= 0)) {
        return Promise.reject(
          new PsycheError(GPU_INPUT_MISMATCH, { name, expected: `dtype in ${Object.keys(ELEMENT_ARRAYS).join('/')} and non-negative integer dims`, received: `${describeValue(t.dtype)} ${describeShape(t.dims)}` }, `feed ${name} has an unknown dtype or invalid dims`),
        );
      }
      const size = t.dims.reduce((a, b) => a * b, 1);
      if (!(t.data instanceof ELEMENT_ARRAYS[t.dtype]) || t.data.length !== size) {
        return Promise.reject(new PsycheError(GPU_INPUT_MISMATCH, { name, expected: `${t.dtype} with ${size} elements`, received: describeFeedData(t.data) }, `feed ${name} does not match its dims/dtype`));
      }
    }
    const id = this.nextId++;
    return new Promise<RunResult>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      const transfer = options.transfer ? [...new Set(Object.values(feeds).map((t) => t.data.buffer as ArrayBuffer))] : [];
      this.worker.postMessage({ type: 'run', id, feeds }, transfer);
    });
  }

  /** Number of runs submitted and not yet finished. */
  get inFlight(): number {
    return this.pending.size;
  }

  /** Cooperative shutdown: queued runs complete, then the session is released and the worker exits. */
  close(): Promise<void> {
    this.closing ??= this.exited
      ? Promise.resolve()
      : new Promise<void>((resolve) => {
          this.worker.once('exit', () => resolve());
          this.worker.postMessage({ type: 'close' });
        });
    return this.closing;
  }
}

/**
 * `Float64Array of 6` for a typed array, else describeValue: reading `.constructor.name` of a
 * null-prototype object threw a TypeError instead of GPU_INPUT_MISMATCH.
 */
function describeFeedData(data: unknown): string {
  if (!ArrayBuffer.isView(data)) return describeValue(data);
  // The built-in toStringTag getter of typed arrays names the class without calling the caller's code.
  return `${Object.prototype.toString.call(data).slice(8, -1)} of ${'length' in data ? describeValue(data.length) : describeValue(data.byteLength)}`;
}

/** An optional session option: undefined or `ok`, else GPU_SESSION_FAILED, the code ORT's own rejections get. */
function checkSessionOption(name: string, value: unknown, ok: (value: unknown) => boolean, expected: string): void {
  if (value !== undefined && !ok(value)) {
    throw new PsycheError(GPU_SESSION_FAILED, { reason: `${name}: expected ${expected}, got ${describeValue(value)}` }, `ONNX Runtime could not create the session: ${name} must be ${expected}, got ${describeValue(value)}`);
  }
}

/** Wraps a typed array as a HostTensor. */
export function hostTensor(dtype: HostDType, data: HostTensor['data'], dims: readonly number[]): HostTensor {
  return { dtype, data, dims };
}
