import { readFile, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { DATA_INVALID_CONFIG, DATA_TOKENIZE_INPUT_INVALID, PsycheError, createRng, describeValue, fisherYatesShuffle, utf8Decode, type RngSeed } from '@psyche/core';
import { DatasetWriter } from './dataset-writer.ts';
import type { DatasetManifest } from './dataset-manifest.ts';
import type { Tokenizer } from './tokenizer.ts';

export interface TextDocument {
  name: string;
  text: string;
}

export interface TokenizeOptions {
  /** Writes outDir/train and outDir/validation (each manifest.json + shards). */
  outDir: string;
  tokenizer: Tokenizer;
  seqLen: number;
  /** Share of documents held out for validation (default 0.05; 0 writes no validation split). */
  validationFraction?: number;
  /** Seed of the document-level split (default 'psyche-split'). */
  splitSeed?: RngSeed;
  maxShardBytes?: number;
  /** Called after each document with text bytes done / total. */
  onProgress?: (doneBytes: number, totalBytes: number) => void;
}

export interface TokenizeResult {
  train: DatasetManifest;
  validation?: DatasetManifest;
  documents: { train: number; validation: number };
}

/**
 * Tokenizes documents into a train and a validation dataset. Each document ends with the
 * tokenizer's end-of-text token. The split is by document (seeded shuffle of document order, the
 * first ⌈fraction·n⌉ go to validation); a single document is split at its token tail instead, so
 * both sides are never empty when a fraction is asked for.
 */
export function tokenizeDocuments(documents: readonly TextDocument[], options: TokenizeOptions): TokenizeResult {
  const fraction = options.validationFraction ?? 0.05;
  // typeof first: comparing {toString: null} (or a symbol) throws a TypeError.
  if (typeof fraction !== 'number' || !(fraction >= 0 && fraction < 1)) {
    throw new PsycheError(DATA_INVALID_CONFIG, { field: 'validationFraction', value: describeValue(fraction), expected: 'in [0, 1)' }, 'validationFraction must be in [0, 1)');
  }
  if (documents.length === 0) throw new PsycheError(DATA_TOKENIZE_INPUT_INVALID, { file: options.outDir, reason: 'no documents' }, 'nothing to tokenize');
  const { tokenizer } = options;
  const common = { vocabSize: tokenizer.vocabSize, seqLen: options.seqLen, tokenizer: tokenizer.name, eotToken: tokenizer.eotToken, ...(options.maxShardBytes === undefined ? {} : { maxShardBytes: options.maxShardBytes }) };
  const train = new DatasetWriter({ dir: join(options.outDir, 'train'), prefix: 'train', ...common });
  const validation = fraction > 0 ? new DatasetWriter({ dir: join(options.outDir, 'validation'), prefix: 'validation', ...common }) : undefined;
  const heldOut = new Set<number>();
  if (validation !== undefined && documents.length > 1) {
    const order = fisherYatesShuffle(documents.map((_, i) => i), createRng(options.splitSeed ?? 'psyche-split'));
    const count = Math.min(documents.length - 1, Math.max(1, Math.ceil(fraction * documents.length)));
    for (const index of order.slice(0, count)) heldOut.add(index);
  }
  const totalBytes = documents.reduce((sum, doc) => sum + doc.text.length, 0);
  let doneBytes = 0;
  documents.forEach((doc, index) => {
    const tokens = Array.from(tokenizer.encode(doc.text));
    tokens.push(tokenizer.eotToken);
    if (validation !== undefined && documents.length === 1) {
      const cut = Math.floor(tokens.length * (1 - fraction));
      train.append(tokens.slice(0, cut));
      validation.append(tokens.slice(cut));
    } else {
      (heldOut.has(index) ? validation! : train).append(tokens);
    }
    doneBytes += doc.text.length;
    options.onProgress?.(doneBytes, totalBytes);
  });
  const result: TokenizeResult = { train: train.finish(), documents: { train: documents.length - heldOut.size, validation: heldOut.size } };
  if (validation !== undefined) result.validation = validation.finish();
  return result;
}

/** Reads text files as documents (strict UTF-8; at most maxFileBytes each, default 1 GiB). */
export async function readTextDocuments(paths: readonly string[], maxFileBytes = 1024 ** 3): Promise<TextDocument[]> {
  const out: TextDocument[] = [];
  for (const path of paths) {
    const info = await stat(path).catch((cause: unknown) => {
      throw new PsycheError(DATA_TOKENIZE_INPUT_INVALID, { file: path, reason: 'cannot read' }, `${path}: cannot read`, { cause });
    });
    if (!info.isFile() || info.size > maxFileBytes) {
      throw new PsycheError(DATA_TOKENIZE_INPUT_INVALID, { file: path, reason: info.isFile() ? 'too large' : 'not a file' }, `${path}: not a file of at most ${maxFileBytes} bytes`);
    }
    let text: string;
    try {
      text = utf8Decode(await readFile(path));
    } catch (cause) {
      throw new PsycheError(DATA_TOKENIZE_INPUT_INVALID, { file: path, reason: 'not UTF-8 text' }, `${path}: not UTF-8 text`, { cause });
    }
    out.push({ name: basename(path), text });
  }
  return out;
}
