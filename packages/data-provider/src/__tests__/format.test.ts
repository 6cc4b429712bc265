import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  DATA_BATCH_ID_OUT_OF_RANGE,
  DATA_INVALID_CONFIG,
  DATA_MANIFEST_MALFORMED,
  createRng,
  fisherYatesShuffle,
  isPsycheError,
  utf8Encode, psycheErrorCodeOf } from '@psyche/core';
import {
  ShardLayout,
  SequenceOrder,
  createInMemoryProvider,
  inputsAndTargets,
  FrameDecoder,
  MAX_U32_VOCAB_SIZE,
  decodeMessage,
  encodeMessage,
  isSafeRelativePath,
  manifestForShards,
  parseManifest,
  sequenceCountFor,
  serializeManifest,
} from '../index.ts';
import { positionalTokens } from './helpers.ts';
import { HOSTILE_JSON_KEYS, hostileJsonText } from '../../../../scripts/hostile-json.ts';

const codeOf = psycheErrorCodeOf;

describe('manifest', () => {
  const manifest = manifestForShards([positionalTokens(100, 1000)], 1000, 8);

  it('round-trips through JSON', () => {
    expect(parseManifest(utf8Encode(serializeManifest(manifest)))).toEqual(manifest);
  });

  it('rejects malformed manifests with DATA_MANIFEST_MALFORMED', () => {
    const bad: unknown[] = [
      null,
      [],
      { ...manifest, format: 'other' },
      { ...manifest, version: 2 },
      { ...manifest, dtype: 'u8' },
      { ...manifest, vocabSize: 70_000 },
      // u32 data: the vocabulary must fit the u32 the TCP welcome carries.
      { ...manifest, dtype: 'u32', vocabSize: 2 ** 32 },
      { ...manifest, seqLen: 0 },
      { ...manifest, files: [] },
      { ...manifest, files: [{ ...manifest.files[0], path: '../etc/passwd' }] },
      { ...manifest, files: [{ ...manifest.files[0], path: '/abs' }] },
      { ...manifest, files: [{ ...manifest.files[0], bytes: 3 }] },
      { ...manifest, files: [{ ...manifest.files[0], sha256: 'xyz' }] },
      { ...manifest, files: [manifest.files[0], manifest.files[0]] },
      { ...manifest, eotToken: 1000 },
      // Each size is safe, their sum is not.
      { ...manifest, files: [{ ...manifest.files[0], bytes: 2 ** 53 - 2 }, { ...manifest.files[0], path: 'second.bin', bytes: 2 ** 53 - 2 }] },
    ];
    for (const value of bad) expect(codeOf(() => parseManifest(utf8Encode(JSON.stringify(value))))).toBe(DATA_MANIFEST_MALFORMED);
    expect(codeOf(() => parseManifest(Uint8Array.of(0xff, 0xfe)))).toBe(DATA_MANIFEST_MALFORMED);
    expect(codeOf(() => parseManifest(utf8Encode('{"format":')))).toBe(DATA_MANIFEST_MALFORMED);
  });

  it('fuzz: arbitrary bytes, JSON and field values give a valid manifest or DATA_MANIFEST_MALFORMED', () => {
    const check = (bytes: Uint8Array): void => {
      let parsed;
      try {
        parsed = parseManifest(bytes);
      } catch (error) {
        expect(codeOf(() => { throw error; }), String(error)).toBe(DATA_MANIFEST_MALFORMED);
        return;
      }
      // What is accepted holds the invariants readers rely on, and serializes to itself.
      expect(parsed.files.length).toBeGreaterThan(0);
      expect(parsed.files.reduce((sum, file) => sum + file.bytes, 0)).toBeLessThanOrEqual(Number.MAX_SAFE_INTEGER);
      for (const file of parsed.files) expect(isSafeRelativePath(file.path) && file.bytes % (parsed.dtype === 'u16' ? 2 : 4) === 0).toBe(true);
      expect(parseManifest(utf8Encode(serializeManifest(parsed)))).toEqual(parsed);
    };
    fc.assert(fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => check(bytes)), { numRuns: 500 });
    fc.assert(fc.property(fc.jsonValue(), (value) => check(utf8Encode(JSON.stringify(value) ?? 'null'))), { numRuns: 500 });
    const field = fc.constantFrom('format', 'version', 'dtype', 'vocabSize', 'seqLen', 'tokenizer', 'eotToken', 'files');
    const fileField = fc.constantFrom('path', 'bytes', 'sha256');
    const value = fc.oneof(fc.jsonValue(), fc.integer(), fc.double(), fc.constantFrom(-1, 0, 1, 2 ** 53, 2 ** 32, 65_536, 'u32', '', '..', 'a/b'));
    fc.assert(
      fc.property(field, fileField, value, fc.boolean(), (name, fileName, replacement, inFile) => {
        const mutated: Record<string, unknown> = structuredClone(manifest) as unknown as Record<string, unknown>;
        if (inFile) (mutated['files'] as Record<string, unknown>[])[0]![fileName] = replacement;
        else mutated[name] = replacement;
        check(utf8Encode(JSON.stringify(mutated)));
      }),
      { numRuns: 1000 },
    );
  });

  it('a version nested 6,000 arrays deep is DATA_MANIFEST_MALFORMED (JSON.stringify of it in the message overflowed the stack)', () => {
    const text = serializeManifest(manifest).replace('"version": 1', `"version": ${'['.repeat(6000)}${']'.repeat(6000)}`);
    expect(text).not.toBe(serializeManifest(manifest));
    expect(codeOf(() => parseManifest(utf8Encode(text)))).toBe(DATA_MANIFEST_MALFORMED);
  });

  it('a field of -0 parses to 0, so the manifest serializes to itself (found by the fuzz below)', () => {
    const text = JSON.stringify({ ...manifest, files: [{ ...manifest.files[0], bytes: 0 }], eotToken: 0 }).replaceAll(/"(bytes|eotToken)":0/g, '"$1":-0');
    expect(text).toContain('"bytes":-0');
    const parsed = parseManifest(utf8Encode(text));
    expect(Object.is(parsed.files[0]!.bytes, 0) && Object.is(parsed.eotToken, 0)).toBe(true);
    expect(parseManifest(utf8Encode(serializeManifest(parsed)))).toEqual(parsed);
  });

  it('fuzz: hostile JSON (toString/__proto__ keys, 1e400, -0, deep nesting) in any manifest or file field gives a valid manifest or DATA_MANIFEST_MALFORMED', () => {
    const field = fc.oneof(
      { arbitrary: fc.constantFrom('format', 'version', 'dtype', 'vocabSize', 'seqLen', 'tokenizer', 'eotToken', 'files'), weight: 3 },
      { arbitrary: fc.constantFrom(...HOSTILE_JSON_KEYS), weight: 1 },
    );
    const fileField = fc.oneof({ arbitrary: fc.constantFrom('path', 'bytes', 'sha256'), weight: 3 }, { arbitrary: fc.constantFrom(...HOSTILE_JSON_KEYS), weight: 1 });
    // As text, so that "__proto__" arrives as JSON.parse makes it (an own key) and 1e400 as Infinity.
    const objectText = (fields: Map<string, string>): string => `{${[...fields].map(([k, v]) => `${JSON.stringify(k)}:${v}`).join(',')}}`;
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.boolean(), field, fileField, hostileJsonText()), { minLength: 1, maxLength: 3 }), (edits) => {
        const top = new Map(Object.entries(manifest).map(([k, v]) => [k, JSON.stringify(v)]));
        const file = new Map(Object.entries(manifest.files[0]!).map(([k, v]) => [k, JSON.stringify(v)]));
        let fileEdited = false;
        for (const [inFile, name, fileName, text] of edits) {
          if (inFile) {
            file.set(fileName, text);
            fileEdited = true;
          } else top.set(name, text);
        }
        if (fileEdited && top.get('files') === JSON.stringify(manifest.files)) top.set('files', `[${objectText(file)}]`);
        let parsed;
        try {
          parsed = parseManifest(utf8Encode(objectText(top)));
        } catch (error) {
          expect(isPsycheError(error, DATA_MANIFEST_MALFORMED), String(error)).toBe(true);
          return;
        }
        expect(parseManifest(utf8Encode(serializeManifest(parsed)))).toEqual(parsed);
      }),
      { numRuns: 1000 },
    );
  });

  it('accepts the largest u32 vocabulary the TCP welcome can carry, and that welcome round-trips', () => {
    const largest = parseManifest(utf8Encode(JSON.stringify({ ...manifest, dtype: 'u32', vocabSize: MAX_U32_VOCAB_SIZE })));
    expect(largest.vocabSize).toBe(2 ** 32 - 1);
    const welcome = { type: 'welcome', version: 1, dtype: 'u32', vocabSize: largest.vocabSize, seqLen: 8, sequenceCount: 3, maxIdsPerRequest: 64, name: 'x' } as const;
    const [frame] = new FrameDecoder(1024).push(encodeMessage(welcome));
    expect(decodeMessage(frame!)).toEqual(welcome);
  });

  it('accepts only relative paths that stay inside the dataset', () => {
    expect(isSafeRelativePath('a/b.bin')).toBe(true);
    for (const path of ['', '..', 'a/../b', './a', 'a//b', 'C:/x', 'http://x', 'a\\b']) expect(isSafeRelativePath(path)).toBe(false);
  });
});

describe('sequence layout', () => {
  it('counts whole sequences of seqLen + 1 tokens at stride seqLen', () => {
    expect(sequenceCountFor(9, 8)).toBe(1);
    expect(sequenceCountFor(8, 8)).toBe(0);
    expect(sequenceCountFor(17, 8)).toBe(2);
    expect(sequenceCountFor(16, 8)).toBe(1);
  });

  it('maps token ranges across file boundaries', () => {
    const layout = new ShardLayout('u16', [10, 0, 6, 20]);
    expect(layout.tokenCount).toBe(18);
    expect(layout.pieces(3, 5)).toEqual([
      { fileIndex: 0, byteOffset: 6, byteLength: 4 },
      { fileIndex: 2, byteOffset: 0, byteLength: 6 },
    ]);
    expect(layout.pieces(8, 2)).toEqual([{ fileIndex: 3, byteOffset: 0, byteLength: 4 }]);
  });

  it('serves inputs and targets shifted by one, across shards', async () => {
    const tokens = positionalTokens(1000, 50_000);
    const provider = createInMemoryProvider({ shards: [tokens.subarray(0, 333), tokens.subarray(333)], vocabSize: 50_000, seqLen: 16 });
    expect(provider.describe().sequenceCount).toBe(Math.floor(999 / 16));
    const batch = await provider.getSequences([20, 21, 0]);
    const { inputs, targets } = inputsAndTargets(batch, 0);
    expect([...inputs]).toEqual(Array.from({ length: 16 }, (_, i) => 320 + i));
    expect([...targets]).toEqual(Array.from({ length: 16 }, (_, i) => 321 + i));
    expect(inputsAndTargets(batch, 1).inputs[0]).toBe(336);
    expect(inputsAndTargets(batch, 2).inputs[0]).toBe(0);
  });
});

describe('SequenceOrder', () => {
  it('is the identity without a seed and wraps past an epoch', () => {
    const order = new SequenceOrder(10);
    expect([0, 5, 9, 10, 23].map((id) => order.sequenceFor(id))).toEqual([0, 5, 9, 0, 3]);
  });

  it('is a seeded Fisher-Yates permutation per epoch (core createRng, forked per epoch)', () => {
    const order = new SequenceOrder(50, 'seed');
    const epoch0 = Array.from({ length: 50 }, (_, id) => order.sequenceFor(id));
    const epoch1 = Array.from({ length: 50 }, (_, id) => order.sequenceFor(50 + id));
    expect([...epoch0].sort((a, b) => a - b)).toEqual(Array.from({ length: 50 }, (_, i) => i));
    expect([...epoch1].sort((a, b) => a - b)).toEqual(Array.from({ length: 50 }, (_, i) => i));
    expect(epoch1).not.toEqual(epoch0);
    const expected = fisherYatesShuffle(Array.from({ length: 50 }, (_, i) => i), createRng('seed').fork('psyche-data-epoch:0'));
    expect(epoch0).toEqual(expected);
    expect(new SequenceOrder(50, 'seed').sequenceFor(7)).toBe(epoch0[7]);
    expect(new SequenceOrder(50, 'other').sequenceFor(7) === epoch0[7] && new SequenceOrder(50, 'other').sequenceFor(8) === epoch0[8]).toBe(false);
  });

  it('sequencesFor equals sequenceFor id by id, for ids interleaved across epochs', () => {
    const ids = [0, 120, 55, 3, 170, 101, 49, 150, 2];
    const expected = ids.map((id) => new SequenceOrder(50, 'e').sequenceFor(id));
    expect(new SequenceOrder(50, 'e').sequencesFor(ids)).toEqual(expected);
  });

  it('rejects bad ids and empty datasets with coded errors', () => {
    const order = new SequenceOrder(10, 1);
    for (const id of [-1, 0.5, Number.NaN, Infinity, 2 ** 53]) expect(codeOf(() => order.sequenceFor(id))).toBe(DATA_BATCH_ID_OUT_OF_RANGE);
    expect(codeOf(() => new SequenceOrder(0))).toBe(DATA_INVALID_CONFIG);
  });
});
