import { DATA_INVALID_CONFIG, PsycheError, utf8Encode } from '@psyche/core';

export type TokenizerName = 'byte' | 'gpt2';

/** Text → token ids below vocabSize; eotToken separates documents. */
export interface Tokenizer {
  name: TokenizerName;
  vocabSize: number;
  eotToken: number;
  encode(text: string): ArrayLike<number>;
  decode(tokens: ArrayLike<number>): string;
}

/** UTF-8 bytes as tokens 0–255, 256 as end-of-text: vocabulary 257. Needs nothing, handles any text. */
export const byteTokenizer: Tokenizer = {
  name: 'byte',
  vocabSize: 257,
  eotToken: 256,
  encode: (text) => utf8Encode(text),
  decode: (tokens) => new TextDecoder('utf-8', { fatal: false }).decode(Uint8Array.from(Array.from(tokens).filter((token) => token < 256))),
};

/**
 * GPT-2 byte-level BPE (r50k vocabulary: 50 257 tokens, <|endoftext|> = 50256) from the
 * `gpt-tokenizer` package, which ships the merge ranks in its own files (works offline). Loaded on
 * first use because the table is large. Text that spells "<|endoftext|>" is encoded as plain text.
 */
export async function gpt2Tokenizer(): Promise<Tokenizer> {
  const gpt2 = await import('gpt-tokenizer/encoding/gpt2');
  const plainText = { disallowedSpecial: new Set<string>(), allowedSpecial: new Set<string>() };
  return {
    name: 'gpt2',
    vocabSize: 50_257,
    eotToken: 50_256,
    encode: (text) => gpt2.encode(text, plainText),
    decode: (tokens) => gpt2.decode(Array.from(tokens)),
  };
}

export async function createTokenizer(name: string): Promise<Tokenizer> {
  if (name === 'byte') return byteTokenizer;
  if (name === 'gpt2') return gpt2Tokenizer();
  throw new PsycheError(DATA_INVALID_CONFIG, { field: 'tokenizer', value: name, expected: "'byte' or 'gpt2'" }, `unknown tokenizer ${name}; use 'byte' or 'gpt2'`);
}
