// The worker's code, run with `new Worker(source, { eval: true })` so it needs no file path that
// differs between src/ (tsx, vitest) and dist/ (tsup). It loads onnxruntime-node from the path the
// main thread resolved. Runs are queued and executed one at a time; on `close` the worker finishes
// the run in progress, releases the session and exits by itself: terminating a worker while ORT runs
// aborts the whole process (measured, see docs), so the executor never calls worker.terminate() on a busy worker.
export const SESSION_WORKER_SOURCE = String.raw`
'use strict';
const { parentPort, workerData } = require('node:worker_threads');
const ort = require(workerData.ortPath);
let session;
let closing = false;
let busy = false;
const queue = [];
const errorText = (e) => (e && e.message ? e.message : String(e));

async function pump() {
  if (busy || !session) return;
  busy = true;
  while (queue.length > 0) {
    const m = queue.shift();
    try {
      const feeds = {};
      for (const [name, t] of Object.entries(m.feeds)) feeds[name] = new ort.Tensor(t.dtype, t.data, t.dims);
      const start = performance.now();
      const out = await session.run(feeds);
      const ms = performance.now() - start;
      const outputs = {};
      const transfer = new Set();
      for (const [name, t] of Object.entries(out)) {
        outputs[name] = { dtype: t.type, dims: Array.from(t.dims), data: t.data };
        transfer.add(t.data.buffer);
      }
      parentPort.postMessage({ type: 'result', id: m.id, outputs, ms }, Array.from(transfer));
    } catch (e) {
      parentPort.postMessage({ type: 'error', id: m.id, message: errorText(e) });
    }
  }
  busy = false;
  if (closing) await shutdown();
}

async function shutdown() {
  try { if (session) await session.release(); } catch {}
  session = undefined;
  parentPort.postMessage({ type: 'closed' });
  parentPort.close();
}

parentPort.on('message', (m) => {
  if (m.type === 'run') { queue.push(m); void pump(); }
  else if (m.type === 'close') { closing = true; if (!busy) void (session ? pump() : shutdown()); }
});

(async () => {
  try {
    const options = { executionProviders: [workerData.provider], graphOptimizationLevel: workerData.graphOptimizationLevel };
    if (workerData.intraOpNumThreads) options.intraOpNumThreads = workerData.intraOpNumThreads;
    if (!workerData.allowSpinning) options.extra = { session: { intra_op: { allow_spinning: '0' }, inter_op: { allow_spinning: '0' } } };
    session = await ort.InferenceSession.create(workerData.model, options);
    parentPort.postMessage({ type: 'ready', inputNames: session.inputNames, outputNames: session.outputNames });
    void pump();
  } catch (e) {
    parentPort.postMessage({ type: 'init-error', message: errorText(e) });
    await shutdown();
  }
})();
`;
