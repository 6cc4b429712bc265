import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DATA_INVALID_CONFIG, DATA_TOKENIZE_INPUT_INVALID, DATA_TOKEN_OUT_OF_RANGE } from '@psyche/core';
import {
  DatasetWriter,
  buildExampleDataset,
  byteTokenizer,
  createTokenizer,
  exampleDocuments,
  gpt2Tokenizer,
  openExampleDataset,
  openLocalProvider,
  readManifestFile,
  readTextDocuments,
  tokenizeDocuments,
} from '../index.ts';
import { runCli } from '../cli.ts';
import { captureStream as capture, makeTempDir } from './helpers.ts';

const temp = makeTempDir('tokenize');
afterAll(() => temp.remove());

describe('tokenizers', () => {
  it('byte-level: UTF-8 bytes, EOT 256, round trip', () => {
    expect(Array.from(byteTokenizer.encode('hé'))).toEqual([104, 195, 169]);
    expect(byteTokenizer.decode([104, 195, 169, 256])).toBe('hé');
  });

  it('GPT-2 BPE from the registry package: known ids, round trip, special text kept as text', async () => {
    const gpt2 = await gpt2Tokenizer();
    expect(gpt2.vocabSize).toBe(50_257);
    expect(Array.from(gpt2.encode('Hello world'))).toEqual([15496, 995]);
    const text = 'Call me Ishmael. <|endoftext|> Some years ago';
    const tokens = gpt2.encode(text);
    expect(Array.from(tokens)).not.toContain(gpt2.eotToken);
    expect(gpt2.decode(tokens)).toBe(text);
  });

  it('unknown tokenizer names are a coded error', async () => {
    await expect(createTokenizer('sentencepiece')).rejects.toMatchObject({ code: DATA_INVALID_CONFIG });
  });
});

describe('tokenizeDocuments', () => {
  const documents = Array.from({ length: 40 }, (_, i) => ({ name: `doc${i}`, text: `document number ${i} `.repeat(20 + i) }));

  it('splits by document with a seed, separates documents with EOT, and readers accept the output', async () => {
    const outDir = join(temp.dir, 'split');
    const result = tokenizeDocuments(documents, { outDir, tokenizer: byteTokenizer, seqLen: 32, validationFraction: 0.1, splitSeed: 's', maxShardBytes: 4096 });
    expect(result.documents).toEqual({ train: 36, validation: 4 });
    expect(result.train.files.length).toBeGreaterThan(1);
    const expectedTrainTokens = documents.reduce((sum, doc) => sum + doc.text.length + 1, 0) - result.validation!.files.reduce((s, f) => s + f.bytes / 2, 0);
    expect(result.train.files.reduce((s, f) => s + f.bytes / 2, 0)).toBe(expectedTrainTokens);
    const again = tokenizeDocuments(documents, { outDir: join(temp.dir, 'split2'), tokenizer: byteTokenizer, seqLen: 32, validationFraction: 0.1, splitSeed: 's', maxShardBytes: 4096 });
    expect(again.train.files.map((f) => f.sha256)).toEqual(result.train.files.map((f) => f.sha256));
    const provider = await openLocalProvider({ dir: join(outDir, 'validation') });
    const batch = await provider.getSequences([0]);
    expect(byteTokenizer.decode(batch.tokens)).toMatch(/document number \d+/);
    await provider.close();
  });

  it('a single document is split at its tail; no fraction means no validation split', () => {
    const one = tokenizeDocuments([{ name: 'a', text: 'x'.repeat(999) }], { outDir: join(temp.dir, 'one'), tokenizer: byteTokenizer, seqLen: 8, validationFraction: 0.1 });
    expect(one.train.files[0]!.bytes / 2).toBe(900);
    expect(one.validation!.files[0]!.bytes / 2).toBe(100);
    const none = tokenizeDocuments(documents, { outDir: join(temp.dir, 'none'), tokenizer: byteTokenizer, seqLen: 8, validationFraction: 0 });
    expect(none.validation).toBeUndefined();
    expect(existsSync(join(temp.dir, 'none', 'validation'))).toBe(false);
  });

  it('bad input is a coded error: no documents, bad fraction, non-UTF-8 file, missing file, token ≥ vocab', async () => {
    expect(() => tokenizeDocuments([], { outDir: join(temp.dir, 'x'), tokenizer: byteTokenizer, seqLen: 8 })).toThrow(expect.objectContaining({ code: DATA_TOKENIZE_INPUT_INVALID }));
    expect(() => tokenizeDocuments(documents, { outDir: join(temp.dir, 'x'), tokenizer: byteTokenizer, seqLen: 8, validationFraction: 1 })).toThrow(expect.objectContaining({ code: DATA_INVALID_CONFIG }));
    const binary = join(temp.dir, 'binary.txt');
    writeFileSync(binary, Uint8Array.of(0xff, 0xfe, 0x00));
    await expect(readTextDocuments([binary])).rejects.toMatchObject({ code: DATA_TOKENIZE_INPUT_INVALID });
    await expect(readTextDocuments([join(temp.dir, 'missing.txt')])).rejects.toMatchObject({ code: DATA_TOKENIZE_INPUT_INVALID });
    const writer = new DatasetWriter({ dir: join(temp.dir, 'w'), vocabSize: 10, seqLen: 4 });
    expect(() => writer.append([1, 2, 10])).toThrow(expect.objectContaining({ code: DATA_TOKEN_OUT_OF_RANGE }));
    expect(() => writer.append([1.5])).toThrow(expect.objectContaining({ code: DATA_TOKEN_OUT_OF_RANGE }));
    for (const vocabSize of [0, 1.5, 2 ** 32]) {
      expect(() => new DatasetWriter({ dir: join(temp.dir, 'v'), vocabSize, seqLen: 4 })).toThrow(expect.objectContaining({ code: DATA_INVALID_CONFIG }));
    }
  });
});

describe('psyche-data CLI', () => {
  it('tokenize → verify → info, with a progress bar on stderr', async () => {
    const files = [0, 1, 2].map((i) => {
      const path = join(temp.dir, `in${i}.txt`);
      writeFileSync(path, `Text file ${i}. `.repeat(200));
      return path;
    });
    const out = join(temp.dir, 'cli');
    const stdout = capture();
    const stderr = capture();
    expect(await runCli(['tokenize', '--out', out, '--tokenizer', 'gpt2', '--seq-len', '16', '--validation', '0.3', ...files], stdout.stream, stderr.stream)).toBe(0);
    expect(stdout.text()).toMatch(/train: \d+ tokens/);
    expect(stderr.text()).toContain('tokenize 100%');
    const manifest = await readManifestFile(join(out, 'train'));
    expect(manifest).toMatchObject({ tokenizer: 'gpt2', vocabSize: 50_257, dtype: 'u16', seqLen: 16, eotToken: 50_256 });
    expect(await runCli(['verify', join(out, 'train')], stdout.stream, stderr.stream)).toBe(0);
    expect(stdout.text()).toContain('ok: 1 files');
    expect(await runCli(['info', join(out, 'validation')], stdout.stream, stderr.stream)).toBe(0);
  });

  it('reports coded errors and usage with non-zero exit codes', async () => {
    const stdout = capture();
    const stderr = capture();
    expect(await runCli(['verify', join(temp.dir, 'nowhere')], stdout.stream, stderr.stream)).toBe(1);
    expect(stderr.text()).toMatch(/code 7003/);
    expect(await runCli(['frobnicate'], stdout.stream, stderr.stream)).toBe(2);
    expect(await runCli(['tokenize', '--out', temp.dir], stdout.stream, stderr.stream)).toBe(1);
  });
});

describe('example dataset', () => {
  it('reads Moby-Dick and the State of the Union addresses from the installed registry packages', () => {
    const documents = exampleDocuments();
    expect(documents.filter((d) => d.name.startsWith('moby-dick/')).length).toBe(139);
    expect(documents.filter((d) => d.name.startsWith('sotu/')).length).toBe(233);
    expect(documents.find((d) => d.name === 'moby-dick/chapter_1.txt')?.text).toContain('Call me Ishmael');
  });

  it('builds once (byte-level), reuses the build, and opens as a provider', async () => {
    const outDir = join(temp.dir, 'example');
    const built = await buildExampleDataset({ outDir, tokenizer: 'byte', seqLen: 128 });
    expect(built.documents.validation).toBe(Math.ceil(0.05 * 372));
    const recipe = readFileSync(join(outDir, 'byte-128', 'example.json'), 'utf8');
    const started = Date.now();
    expect(await buildExampleDataset({ outDir, tokenizer: 'byte', seqLen: 128 })).toEqual(built);
    expect(Date.now() - started).toBeLessThan(1000);
    expect(readFileSync(join(outDir, 'byte-128', 'example.json'), 'utf8')).toBe(recipe);
    const train = await openExampleDataset({ outDir, tokenizer: 'byte', seqLen: 128, shuffleSeed: 7 });
    expect(train.describe()).toMatchObject({ vocabSize: 257, seqLen: 128 });
    expect(train.describe().sequenceCount).toBeGreaterThan(50_000);
    const batch = await train.getSequences([0, 1, 2, 3]);
    expect(batch.tokens.length).toBe(4 * 129);
    await train.close();
  }, 60_000);
});

