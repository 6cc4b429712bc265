import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { PassThrough } from 'node:stream';
import { join } from 'node:path';
import { createRng, isPsycheError } from '@psyche/core';

export function makeTempDir(label: string): { dir: string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), `psyche-data-${label}-`));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Deterministic tokens below vocabSize. */
export function randomTokens(count: number, vocabSize: number, seed: string, dtype: 'u16' | 'u32' = 'u16'): Uint16Array | Uint32Array {
  const rng = createRng(seed);
  const out = dtype === 'u16' ? new Uint16Array(count) : new Uint32Array(count);
  for (let i = 0; i < count; i++) out[i] = rng.nextInt(vocabSize);
  return out;
}

/** Tokens whose value encodes their position, so a row tells where it was read from. */
export function positionalTokens(count: number, vocabSize: number): Uint16Array {
  return Uint16Array.from({ length: count }, (_, i) => i % vocabSize);
}

export function joinPath(...parts: string[]): string {
  return join(...parts);
}

/** The PsycheError code a promise rejects with (−1 for another error, undefined if it resolves). */
export async function rejectionCode(promise: Promise<unknown>): Promise<number | undefined> {
  try {
    await promise;
  } catch (error) {
    return isPsycheError(error) ? error.code : -1;
  }
  return undefined;
}

/** A writable stream for the CLI's output and what was written to it. */
export function captureStream(): { stream: NodeJS.WriteStream; text(): string } {
  const stream = new PassThrough() as unknown as NodeJS.WriteStream;
  const chunks: Buffer[] = [];
  (stream as unknown as PassThrough).on('data', (chunk: Buffer) => chunks.push(chunk));
  return { stream, text: () => Buffer.concat(chunks).toString('utf8') };
}
