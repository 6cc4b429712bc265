import { readFileSync } from 'node:fs';
import { NODE_INVALID_CONFIG, NODE_MALFORMED_ANNOUNCEMENT, isPsycheError, psycheErrorCodeOf, sha256 } from '@psyche/core';
import { generateIdentity } from '@psyche/p2p';
import { createCommitment, createWitnessBloom } from '@psyche/verify';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeAnnouncement, encodeAnnouncement, type Announcement, type ResultAnnouncement } from '../announcement.ts';
import { learningRateAt, parseRunFile } from '../node-config.ts';
import type { Verdict } from '../replay-committee.ts';
import { prometheusText, emptyStatus } from '../node-metrics.ts';
import { DEFAULT_CONFIG, serializeRunFile } from '../local-run.ts';

const identity = generateIdentity();
const result: ResultAnnouncement = {
  kind: 'result',
  step: 7n,
  batchStart: 12n,
  batchEnd: 15n,
  commitment: createCommitment(7n, { start: 12n, end: 15n }, new Uint8Array([1, 2, 3]), identity.secretKey),
  ticket: { hash: sha256(new Uint8Array([9])), size: 3, providers: [{ nodeId: identity.nodeId, addrs: ['/ip4/127.0.0.1/tcp/4001'] }] },
  loss: 2.5,
  tokens: 512,
};

describe('announcements', () => {
  it('round-trip results and witness reports', () => {
    const back = decodeAnnouncement(encodeAnnouncement(result)) as ResultAnnouncement;
    expect(back.kind).toBe('result');
    expect(back.step).toBe(7n);
    expect([back.batchStart, back.batchEnd]).toEqual([12n, 15n]);
    expect(Buffer.from(back.commitment.signature).equals(Buffer.from(result.commitment.signature))).toBe(true);
    expect(back.ticket.size).toBe(3);
    expect(back.loss).toBe(2.5);
    // Every field, not only some: ticket hash and providers, tokens, the whole commitment.
    expect(back).toEqual(result);
    const bloom = createWitnessBloom({ expectedItems: 3, seed: 5n }).add(sha256(identity.nodeId));
    const report = decodeAnnouncement(encodeAnnouncement({ kind: 'witness', step: 3n, resultRoot: new Uint8Array(32).fill(4), participantBloom: bloom.encode() }));
    expect(report.kind === 'witness' && Buffer.from(report.participantBloom).equals(Buffer.from(bloom.encode()))).toBe(true);
    expect(report).toEqual({ kind: 'witness', step: 3n, resultRoot: new Uint8Array(32).fill(4), participantBloom: bloom.encode() });
    for (const verdict of ['accepted', 'rejected', 'abstained'] as const) {
      const back = decodeAnnouncement(encodeAnnouncement({ kind: 'verdict', step: 9n, member: identity.nodeId, verdict }));
      expect(back.kind === 'verdict' && back.verdict === verdict && back.step === 9n && Buffer.from(back.member).equals(Buffer.from(identity.nodeId))).toBe(true);
    }
  });

  it('round-trips any field values the layout holds (fuzz)', () => {
    const u64 = fc.bigInt({ min: 0n, max: 2n ** 64n - 1n });
    const bytes32 = fc.uint8Array({ minLength: 32, maxLength: 32 });
    const announcement: fc.Arbitrary<Announcement> = fc.oneof(
      fc
        .record({ step: u64, batchStart: u64, span: u64, dataHash: bytes32, signature: fc.uint8Array({ minLength: 64, maxLength: 64 }), loss: fc.float(), tokens: fc.nat(2 ** 32 - 1), size: fc.maxSafeNat(), addrs: fc.array(fc.string({ maxLength: 40 }), { maxLength: 4 }) })
        .map(({ step, batchStart, span, dataHash, signature, loss, tokens, size, addrs }) => ({
          kind: 'result' as const,
          step,
          batchStart,
          batchEnd: batchStart + (span % (2n ** 64n - batchStart)),
          commitment: { dataHash, signature },
          ticket: { hash: dataHash, size, providers: [{ nodeId: identity.nodeId, addrs }] },
          loss,
          tokens,
        })),
      fc.record({ kind: fc.constant('witness' as const), step: u64, resultRoot: bytes32, participantBloom: fc.uint8Array({ maxLength: 2048 }) }),
      fc.record({ kind: fc.constant('verdict' as const), step: u64, member: bytes32, verdict: fc.constantFrom('accepted' as const, 'rejected' as const, 'abstained' as const) }),
    );
    fc.assert(
      fc.property(announcement, (a) => {
        expect(decodeAnnouncement(encodeAnnouncement(a))).toEqual(a);
      }),
      { numRuns: 500 },
    );
  });

  it('a verdict with an unknown code, a short member id or trailing bytes is NODE_MALFORMED_ANNOUNCEMENT', () => {
    const good = encodeAnnouncement({ kind: 'verdict', step: 9n, member: identity.nodeId, verdict: 'rejected' });
    expect(good.length).toBe(47);
    for (let n = 0; n < good.length; n++) expect(() => decodeAnnouncement(good.subarray(0, n))).toThrow(expect.objectContaining({ code: NODE_MALFORMED_ANNOUNCEMENT }));
    const badCode = good.slice();
    badCode[46] = 3;
    expect(() => decodeAnnouncement(badCode)).toThrow(expect.objectContaining({ code: NODE_MALFORMED_ANNOUNCEMENT }));
    expect(() => decodeAnnouncement(Uint8Array.from([...good, 0]))).toThrow(expect.objectContaining({ code: NODE_MALFORMED_ANNOUNCEMENT }));
    expect(() => encodeAnnouncement({ kind: 'verdict', step: 9n, member: new Uint8Array(31), verdict: 'accepted' })).toThrow(expect.objectContaining({ code: NODE_MALFORMED_ANNOUNCEMENT }));
    // From a JS caller: a member whose length a template literal cannot print, or an unknown verdict, threw a TypeError or CORE_INTEGER_OUT_OF_RANGE.
    for (const bad of [{ toString: null }, Symbol('s')] as unknown[]) {
      for (const member of [bad, { length: bad }, null]) {
        expect(psycheErrorCodeOf(() => encodeAnnouncement({ kind: 'verdict', step: 9n, member: member as Uint8Array, verdict: 'accepted' }))).toBe(NODE_MALFORMED_ANNOUNCEMENT);
      }
      expect(psycheErrorCodeOf(() => encodeAnnouncement({ kind: 'verdict', step: 9n, member: identity.nodeId, verdict: bad as Verdict }))).toBe(NODE_MALFORMED_ANNOUNCEMENT);
    }
  });

  it('every truncation and random bytes give NODE_MALFORMED_ANNOUNCEMENT, never another error (fuzz)', () => {
    const good = encodeAnnouncement(result);
    const verdict = encodeAnnouncement({ kind: 'verdict', step: 1n, member: identity.nodeId, verdict: 'accepted' });
    fc.assert(
      fc.property(fc.nat(verdict.length - 1), fc.uint8Array({ minLength: 1, maxLength: 4 }), (at, patch) => {
        const bytes = Uint8Array.from([...verdict.subarray(0, at), ...patch, ...verdict.subarray(at + patch.length)]);
        let decoded: Announcement;
        try {
          decoded = decodeAnnouncement(bytes);
        } catch (e) {
          if (!isPsycheError(e, NODE_MALFORMED_ANNOUNCEMENT)) throw e;
          return;
        }
        // The verdict layout has one encoding per value: what decodes must be exactly those bytes.
        expect(encodeAnnouncement(decoded)).toEqual(bytes);
      }),
      { numRuns: Number(process.env.FUZZ_RUNS ?? 2000) },
    );
    for (let n = 0; n < good.length; n++) {
      expect(() => decodeAnnouncement(good.subarray(0, n))).toThrow(expect.objectContaining({ code: NODE_MALFORMED_ANNOUNCEMENT }));
    }
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), fc.nat(good.length), fc.uint8Array({ minLength: 1, maxLength: 8 }), (random, at, patch) => {
        for (const bytes of [random, Uint8Array.from([...good.subarray(0, at), ...patch, ...good.subarray(at + patch.length)])]) {
          try {
            decodeAnnouncement(bytes);
          } catch (e) {
            if (!isPsycheError(e, NODE_MALFORMED_ANNOUNCEMENT)) throw e;
          }
        }
      }),
      { numRuns: Number(process.env.FUZZ_RUNS ?? 2000) },
    );
  });
});

describe('run config (TOML)', () => {
  const text = readFileSync(DEFAULT_CONFIG, 'utf8');

  it('parses the local config and survives a serialize round trip', () => {
    const run = parseRunFile(text);
    expect(run.run.totalSteps).toBe(100n);
    expect(run.run.distroTopk).toBe(4);
    expect(run.model.vocab_size % 64).toBe(0); // padded so every matrix tiles into 64×64 chunks
    expect(run.verify.recompute).toBe(true);
    const again = parseRunFile(serializeRunFile(run, 'test'));
    expect(again.verify).toEqual(run.verify);
    expect(again.run).toEqual(run.run);
    expect(again.model).toEqual(run.model);
    expect(again.schedule).toEqual(run.schedule);
  });

  it('names the field of every mistake with NODE_INVALID_CONFIG', () => {
    const cases: [string, string][] = [
      [text.replace('topk = 4', 'topk = 65'), 'distro.topk'],
      [text.replace('hidden_size = 128', 'hidden_size = 130'), 'model'],
      [text.replace('total_steps = 100', 'total_steps = "many"'), 'run.total_steps'],
      [text.replace('kind = "example"', 'kind = "s3"'), 'data.kind'],
      ['[run\nname = 1', 'toml'],
      [text.replace('max_position_embeddings = 128', 'max_position_embeddings = 64'), 'model.max_position_embeddings'],
      [text.replace('recompute = true', 'recompute = "yes"'), 'verify.recompute'],
      // Values the coordinator program would refuse, caught when the file is read.
      [text.replace('total_steps = 100', 'total_steps = -1'), 'run.total_steps'],
      [text.replace('total_steps = 100', 'total_steps = 4294967296'), 'run.total_steps'],
      [text.replace('witness_nodes = 3', 'witness_nodes = 70000'), 'run.witness_nodes'],
      [text.replace('seq_len = 128', 'seq_len = 0'), 'run.seq_len'],
      [text.replace('\nmin_clients = 1', '\nmin_clients = 0'), 'run.min_clients'],
      [text.replace('max_round_train_time = 30', 'max_round_train_time = 0'), 'run'],
      [text.replace('warmup_time = 20', 'warmup_time = 4294967296'), 'run'],
      [text.replace('warmup_steps = 4', 'warmup_steps = -2'), 'schedule.warmup_steps'],
      [text.replace('min_lr_fraction = 0.1', 'min_lr_fraction = 1.5'), 'schedule.min_lr_fraction'],
    ];
    for (const [bad, field] of cases) {
      expect(bad, field).not.toBe(text);
      try {
        parseRunFile(bad, 'bad.toml');
        expect.fail(`accepted a bad ${field}`);
      } catch (e) {
        expect(isPsycheError(e, NODE_INVALID_CONFIG), String(e)).toBe(true);
        expect((e as { context: { field: string } }).context.field).toBe(field);
      }
    }
  });

  it('learning rate: linear warmup then cosine to the floor', () => {
    const schedule = { warmupSteps: 4, minLrFraction: 0.1 };
    expect(learningRateAt(1, schedule, 100, 1)).toBeCloseTo(0.25);
    expect(learningRateAt(1, schedule, 100, 4)).toBeCloseTo(1);
    expect(learningRateAt(1, schedule, 100, 5)).toBeCloseTo(1);
    expect(learningRateAt(1, schedule, 100, 100)).toBeCloseTo(0.1, 2);
    for (let s = 5; s < 100; s++) expect(learningRateAt(1, schedule, 100, s + 1)).toBeLessThanOrEqual(learningRateAt(1, schedule, 100, s));
  });
});

describe('metrics', () => {
  it('Prometheus text has HELP/TYPE for every sample and one phase set', () => {
    const status = { ...emptyStatus('abc'), phase: 'train', loss: 2.5, step: 3 };
    const text = prometheusText(status);
    expect(text).toContain('psyche_node_loss{node="abc"} 2.5');
    expect(text).toContain('psyche_node_phase{node="abc",phase="train"} 1');
    expect(text.match(/phase="[a-z]+"} 1/g)).toHaveLength(1);
    for (const line of text.trim().split('\n')) expect(line).toMatch(/^(# (HELP|TYPE) psyche_node_\w+ .+|psyche_node_\w+\{[^}]*\} (-?[\d.e+-]+|NaN))$/);
  });
});
