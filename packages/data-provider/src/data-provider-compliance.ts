import assert from 'node:assert/strict';
import { DATA_ABORTED, DATA_BATCH_ID_OUT_OF_RANGE, DATA_INVALID_CONFIG, DATA_PROVIDER_CLOSED, isPsycheError, type PsycheErrorCode } from '@psyche/core';
import type { DataProvider, GetSequencesOptions, TokenBatch } from './data-provider.ts';

export interface ComplianceSubject {
  provider: DataProvider;
  /** A provider known to be right over the same data (usually in-memory); rows must match it exactly. */
  reference?: DataProvider;
  /** Extra options every request carries (a TCP client needs the step). */
  requestOptions?: Omit<GetSequencesOptions, 'signal'>;
}

export interface ComplianceHooks {
  setup(): Promise<ComplianceSubject>;
  teardown(subject: ComplianceSubject): Promise<void>;
}

export interface ComplianceTest {
  name: string;
  run(): Promise<void>;
}

async function expectCode(promise: Promise<unknown>, code: PsycheErrorCode, what: string): Promise<void> {
  try {
    await promise;
  } catch (error) {
    assert.ok(isPsycheError(error, code), `${what}: expected PsycheError ${code}, got ${String(error)}`);
    return;
  }
  assert.fail(`${what}: expected PsycheError ${code}, but it resolved`);
}

function sampleIds(sequenceCount: number): number[] {
  const ids = [0, 1, 2, sequenceCount - 1, Math.floor(sequenceCount / 2)];
  return [...new Set(ids.filter((id) => id >= 0))];
}

/**
 * The behaviour every DataProvider must have, as framework-free tests (node:assert): run each with
 * your test runner, e.g. `for (const t of dataProviderComplianceTests(hooks)) it(t.name, t.run)`.
 * Every test calls `setup` and `teardown` itself, so tests are independent.
 */
export function dataProviderComplianceTests(hooks: ComplianceHooks): ComplianceTest[] {
  const withSubject = (name: string, body: (subject: ComplianceSubject) => Promise<void>): ComplianceTest => ({
    name,
    async run() {
      const subject = await hooks.setup();
      try {
        await body(subject);
      } finally {
        await hooks.teardown(subject);
      }
    },
  });
  const get = (subject: ComplianceSubject, ids: readonly number[], extra: GetSequencesOptions = {}): Promise<TokenBatch> =>
    subject.provider.getSequences(ids, { ...subject.requestOptions, ...extra });

  return [
    withSubject('describes itself with a valid description', async ({ provider }) => {
      const d = provider.describe();
      assert.ok(d.dtype === 'u16' || d.dtype === 'u32', 'dtype');
      assert.ok(Number.isInteger(d.vocabSize) && d.vocabSize > 0, 'vocabSize');
      assert.ok(Number.isInteger(d.seqLen) && d.seqLen > 0, 'seqLen');
      assert.ok(Number.isSafeInteger(d.sequenceCount) && d.sequenceCount > 0, 'sequenceCount');
      assert.equal(typeof d.name, 'string');
    }),
    withSubject('returns one row of seqLen + 1 tokens per id, in the dtype described', async (subject) => {
      const d = subject.provider.describe();
      const ids = sampleIds(d.sequenceCount);
      const batch = await get(subject, ids);
      assert.deepEqual([...batch.batchIds], ids);
      assert.equal(batch.seqLen, d.seqLen);
      assert.equal(batch.dtype, d.dtype);
      assert.ok(d.dtype === 'u16' ? batch.tokens instanceof Uint16Array : batch.tokens instanceof Uint32Array, 'typed array of the dtype');
      assert.equal(batch.tokens.length, ids.length * (d.seqLen + 1));
    }),
    withSubject('serves only tokens below vocabSize', async (subject) => {
      const d = subject.provider.describe();
      const batch = await get(subject, sampleIds(d.sequenceCount));
      for (const token of batch.tokens) assert.ok(token < d.vocabSize, `token ${token} ≥ vocabSize ${d.vocabSize}`);
    }),
    withSubject('is deterministic and independent of request order and grouping', async (subject) => {
      const d = subject.provider.describe();
      const ids = sampleIds(d.sequenceCount);
      const row = d.seqLen + 1;
      const first = await get(subject, ids);
      const again = await get(subject, ids);
      assert.deepEqual(again.tokens, first.tokens);
      const reversed = await get(subject, [...ids].reverse());
      for (let i = 0; i < ids.length; i++) {
        assert.deepEqual(reversed.tokens.subarray((ids.length - 1 - i) * row, (ids.length - i) * row), first.tokens.subarray(i * row, (i + 1) * row));
      }
      const singles = await Promise.all(ids.map((id) => get(subject, [id])));
      singles.forEach((single, i) => assert.deepEqual(single.tokens, first.tokens.subarray(i * row, (i + 1) * row)));
    }),
    withSubject('fills a caller\'s array when given one (into), and refuses one of the wrong length or dtype', async (subject) => {
      const d = subject.provider.describe();
      const ids = [...sampleIds(d.sequenceCount), 0];
      const length = ids.length * (d.seqLen + 1);
      const into = d.dtype === 'u16' ? new Uint16Array(length) : new Uint32Array(length);
      const batch = await get(subject, ids, { into });
      assert.equal(batch.tokens, into, 'tokens is the given array');
      assert.deepEqual(into, (await get(subject, ids)).tokens);
      const short = d.dtype === 'u16' ? new Uint16Array(length - 1) : new Uint32Array(length - 1);
      await expectCode(get(subject, ids, { into: short }), DATA_INVALID_CONFIG, 'too short');
      await expectCode(get(subject, ids, { into: d.dtype === 'u16' ? new Uint32Array(length) : new Uint16Array(length) }), DATA_INVALID_CONFIG, 'other dtype');
    }),
    withSubject('serves duplicate ids and ids past one epoch', async (subject) => {
      const d = subject.provider.describe();
      const row = d.seqLen + 1;
      const batch = await get(subject, [0, 0, d.sequenceCount, d.sequenceCount + 1]);
      assert.deepEqual(batch.tokens.subarray(0, row), batch.tokens.subarray(row, 2 * row));
      assert.equal(batch.tokens.length, 4 * row);
    }),
    withSubject('returns an empty batch for no ids', async (subject) => {
      const batch = await get(subject, []);
      assert.equal(batch.tokens.length, 0);
      assert.equal(batch.batchIds.length, 0);
    }),
    withSubject('rejects ids that are not non-negative safe integers', async (subject) => {
      for (const bad of [-1, 1.5, Number.NaN, 2 ** 53]) {
        await expectCode(get(subject, [0, bad]), DATA_BATCH_ID_OUT_OF_RANGE, `id ${bad}`);
      }
    }),
    withSubject('rejects an aborted request with DATA_ABORTED', async (subject) => {
      const controller = new AbortController();
      controller.abort(new Error('test'));
      await expectCode(get(subject, [0], { signal: controller.signal }), DATA_ABORTED, 'aborted signal');
    }),
    withSubject('matches the reference provider row for row', async (subject) => {
      if (subject.reference === undefined) return;
      const d = subject.provider.describe();
      assert.deepEqual(
        { ...d, name: '' },
        { ...subject.reference.describe(), name: '' },
        'same description as the reference',
      );
      const ids = [...sampleIds(d.sequenceCount), d.sequenceCount + 3, 7 * d.sequenceCount + 1].filter((id) => Number.isSafeInteger(id));
      const [actual, expected] = await Promise.all([get(subject, ids), subject.reference.getSequences(ids)]);
      assert.deepEqual(actual.tokens, expected.tokens);
    }),
    withSubject('rejects requests after close with DATA_PROVIDER_CLOSED, and close is idempotent', async (subject) => {
      await subject.provider.close();
      await subject.provider.close();
      await expectCode(get(subject, [0]), DATA_PROVIDER_CLOSED, 'after close');
    }),
  ];
}

export { expectCode as expectPsycheErrorCode };
