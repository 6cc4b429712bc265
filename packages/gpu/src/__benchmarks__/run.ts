// npm run bench -w @psyche/gpu → packages/gpu/BENCHMARKS.md (figures section between the markers).
// Other agents share this machine's CPU: every figure is printed with the load average at the time.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { typescriptKernels } from '@psyche/distro';
import { nativeKernels } from '../native-kernels.ts';
import { benchKernels, type KernelFigures } from './distro-kernels.ts';
import { BENCH_LLAMA, benchTrainStep } from './train-step.ts';

const here = dirname(fileURLToPath(import.meta.url));
const load = (): string =>
  loadavg()
    .map((x) => x.toFixed(2))
    .join(' / ');
const lines: string[] = [];
const say = (l: string): void => {
  console.log(l);
  lines.push(l);
};

// `-- --kernels` / `-- --train` run one part only; each part rewrites only its own marked section.
const onlyKernels = process.argv.includes('--kernels');
const onlyTrain = process.argv.includes('--train');
const sections: { marker: string; lines: string[] }[] = [];
const section = (marker: string): void => {
  lines.length = 0;
  sections.push({ marker, lines: [] });
  say(`Run ${new Date().toISOString()} on ${cpus().length}× ${cpus()[0]?.model ?? '?'}, node ${process.version}.`);
  say('');
};
const endSection = (): void => {
  sections[sections.length - 1]!.lines.push(...lines);
};

if (!onlyKernels) {
  section('bench');
  say('### LLaMA-style train step on CPU (ONNX Runtime 1.30, OnnxExecutor in a worker)');
  say('');
  const c = BENCH_LLAMA;
  say(
    `Model: vocab ${c.vocab_size}, hidden ${c.hidden_size}, intermediate ${c.intermediate_size}, ${c.num_hidden_layers} layers, ${c.num_attention_heads} heads / ${c.num_key_value_heads} KV heads, untied head; batch 8 × seq 256; forward + backward (loss + all gradients), no optimizer.`
  );
  say('');
  say('| implementation | params | ms / step (median) | all steps (ms) | GFLOP / step | GFLOP/s | load before → after |');
  say('| --- | --- | --- | --- | --- | --- | --- |');
  const before = load();
  const ort = await benchTrainStep(8, 256, 5);
  say(
    `| ONNX Runtime (this package) | ${(ort.params / 1e6).toFixed(2)} M | ${ort.medianMs.toFixed(0)} | ${ort.msPerStep
      .map((x) => x.toFixed(0))
      .join(', ')} | ${ort.gflopPerStep.toFixed(1)} | ${ort.gflops.toFixed(1)} | ${before} → ${load()} |`
  );
  const torchScript = join(here, 'torch_llama.py');
  if (existsSync('/usr/bin/python3') && !process.argv.includes('--no-torch')) {
    try {
      const tb = load();
      const out = JSON.parse(
        execFileSync('/usr/bin/python3', [torchScript, '8', '256', '3', String(cpus().length)], { encoding: 'utf8', timeout: 900_000 })
      ) as { torch: string; medianMs: number; msPerStep: number[]; params: number };
      say(
        `| PyTorch ${out.torch} (Debian python3-torch, ${cpus().length} threads) | ${(out.params / 1e6).toFixed(2)} M | ${out.medianMs.toFixed(
          0
        )} | ${out.msPerStep.map((x) => x.toFixed(0)).join(', ')} | ${ort.gflopPerStep.toFixed(1)} | ${(ort.gflopPerStep / (out.medianMs / 1000)).toFixed(
          1
        )} | ${tb} → ${load()} |`
      );
    } catch (e) {
      say(`| PyTorch (Debian python3-torch) | – | not measured: ${(e as Error).message.split('\n')[0]} | | | | |`);
    }
  }
  endSection();
}

if (!onlyTrain) {
  section('bench-kernels');
  say('### DisTrO kernels, 4096 × 4096 float32, chunk 64, top-k 32');
  say('');
  say('compress = encode (chunked DCT) + top-k; decompress = scatter-mean of one selection + decode. Median of runs after a warm-up.');
  say('');
  say('| kernels | encode | top-k | scatter-mean | decode | compress | decompress | compress + decompress | CPU ms (all threads) | load before → after |');
  say('| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |');
  const row = (f: KernelFigures, lb: string): void =>
    say(
      `| ${f.kernels} | ${f.encodeMs.toFixed(1)} | ${f.topkMs.toFixed(1)} | ${f.scatterMeanMs.toFixed(1)} | ${f.decodeMs.toFixed(1)} | ${f.compressMs.toFixed(
        1
      )} | ${f.decompressMs.toFixed(1)} | **${(f.compressMs + f.decompressMs).toFixed(1)}** | ${f.cpuMsPerRoundTrip.toFixed(0)} | ${lb} → ${load()} |`
    );
  try {
    const lb = load();
    row(await benchKernels(nativeKernels(), 9), lb);
  } catch (e) {
    say(`| native | not built: ${(e as Error).message} | | | | | | | | |`);
  }
  const lt = load();
  row(await benchKernels(typescriptKernels, 3), lt);
  say('');
  say(
    'CPU ms = process CPU time of one round trip over all threads; with other agents loading the 2 vCPUs, wall time stretches while CPU time barely moves, so CPU ms / 2 estimates the idle-machine wall time of a 2-thread run.'
  );
  endSection();
}

const file = join(here, '..', '..', 'BENCHMARKS.md');
let text = readFileSync(file, 'utf8');
for (const { marker, lines: body } of sections) {
  const start = `<!-- ${marker}:start -->`;
  const end = `<!-- ${marker}:end -->`;
  text = text.includes(start)
    ? `${text.slice(0, text.indexOf(start) + start.length)}\n${body.join('\n')}\n${text.slice(text.indexOf(end))}`
    : `${text}\n${start}\n${body.join('\n')}\n${end}\n`;
}
writeFileSync(file, text);
console.log(`\nwrote ${file}`);
