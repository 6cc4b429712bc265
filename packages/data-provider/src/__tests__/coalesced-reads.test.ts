import { closeSync, openSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DATA_FILE_TRUNCATED, PsycheError } from '@psyche/core';
import { ADAPTIVE_PROBE_INTERVAL, AdaptiveReadState, planCoalescedReads, readRangesCoalesced, readRangesOneByOne, type ReadMode } from '../index.ts';
import { makeTempDir, rejectionCode } from './helpers.ts';

const FILE_BYTES = 50_000;

describe('planCoalescedReads', () => {
  it('covers every non-empty range by exactly one read, in file order, merging only within the gap and span limits (fuzz)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ start: fc.nat(5000), length: fc.nat(300) }), { maxLength: 60 }),
        fc.nat(400),
        fc.integer({ min: 1, max: 2000 }),
        (ranges, maxGap, maxSpan) => {
          const reads = planCoalescedReads(ranges, maxGap, maxSpan);
          const covered = reads.flatMap((read) => read.members).sort((a, b) => a - b);
          expect(covered).toEqual(ranges.flatMap((range, index) => (range.length > 0 ? [index] : [])));
          reads.forEach((read, index) => {
            for (const member of read.members) {
              const range = ranges[member]!;
              expect(range.start).toBeGreaterThanOrEqual(read.start);
              expect(range.start + range.length).toBeLessThanOrEqual(read.start + read.length);
            }
            // A merged span respects maxSpan; a lone range may be longer.
            if (read.members.length > 1) expect(read.length).toBeLessThanOrEqual(maxSpan);
            const previous = reads[index - 1];
            if (previous !== undefined) {
              expect(read.start).toBeGreaterThanOrEqual(previous.start);
              const previousEnd = previous.start + previous.length;
              const first = ranges[read.members[0]!]!;
              // Not merged: either the gap is too wide or the merged span would be too long.
              expect(read.start - previousEnd > maxGap || Math.max(previousEnd, first.start + first.length) - previous.start > maxSpan).toBe(true);
            }
          });
        },
      ),
      { numRuns: 300 },
    );
  });

  it('sequences 1 MiB apart stay apart; neighbours within the gap become one read', () => {
    expect(planCoalescedReads([{ start: 2 << 20, length: 4098 }, { start: 0, length: 4098 }], 32768, 1 << 22)).toEqual([
      { start: 0, length: 4098, members: [1] },
      { start: 2 << 20, length: 4098, members: [0] },
    ]);
    expect(planCoalescedReads([{ start: 8192, length: 4098 }, { start: 0, length: 4098 }, { start: 8192, length: 4098 }], 32768, 1 << 22)).toEqual([
      { start: 0, length: 12290, members: [1, 0, 2] },
    ]);
  });
});

describe('readRangesCoalesced', () => {
  const temp = makeTempDir('coalesce');
  const bytes = Uint8Array.from({ length: FILE_BYTES }, (_, i) => (i * 131 + (i >> 8)) & 0xff);
  let fd: number;
  beforeAll(() => {
    writeFileSync(join(temp.dir, 'file.bin'), bytes);
    fd = openSync(join(temp.dir, 'file.bin'), 'r');
  });
  afterAll(() => {
    closeSync(fd);
    temp.remove();
  });
  const onEnd = (position: number): never => {
    throw new PsycheError(DATA_FILE_TRUNCATED, { file: 'file.bin', expectedBytes: FILE_BYTES + 1, actualBytes: position }, `ended at ${position}`);
  };
  const modes = ['sync', 'async', 'adaptive', 'adaptive-forced-slow'] as const;
  const optionsFor = (mode: (typeof modes)[number]): { mode: ReadMode; isSlowRead?: () => boolean } =>
    mode === 'adaptive-forced-slow' ? { mode: 'adaptive', isSlowRead: () => true } : { mode };

  it('fills every target exactly like one readSync per range: any order, duplicates, overlaps, any gap / span / queue depth (fuzz)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.record({ start: fc.nat(FILE_BYTES - 1), length: fc.nat(700) }), { maxLength: 50 }),
        fc.constantFrom(...modes),
        fc.nat(5000),
        fc.integer({ min: 1, max: 8000 }),
        fc.integer({ min: 1, max: 20 }),
        async (specs, mode, maxGapBytes, maxSpanBytes, queueDepth) => {
          const inside = specs.map(({ start, length }) => ({ start, length: Math.min(length, FILE_BYTES - start) }));
          const ranges = inside.map(({ start, length }) => ({ start, target: new Uint8Array(length) }));
          const reference = inside.map(({ start, length }) => ({ start, target: new Uint8Array(length) }));
          await readRangesCoalesced(fd, ranges, { ...optionsFor(mode), maxGapBytes, maxSpanBytes, queueDepth, onEnd });
          readRangesOneByOne(fd, reference, onEnd);
          expect(ranges.map((range) => range.target)).toEqual(reference.map((range) => range.target));
          inside.forEach(({ start, length }, index) => expect(ranges[index]!.target).toEqual(bytes.subarray(start, start + length)));
        },
      ),
      { numRuns: 150 },
    );
  });

  it('disjoint ranges of one span (one readv straight into the targets, gaps dropped) fill exactly like one readSync per range, also past 1,024 buffers and in any request order (fuzz)', async () => {
    await fc.assert(
      fc.asyncProperty(
        // Ranges laid end to end with small gaps: every span the plan makes has disjoint members.
        fc.array(fc.record({ gap: fc.nat(40), length: fc.integer({ min: 1, max: 60 }) }), { minLength: 1, maxLength: 1500 }),
        fc.constantFrom(...modes),
        fc.integer({ min: 0, max: 64 }),
        fc.integer({ min: 1, max: 1 << 20 }),
        fc.integer({ min: 1, max: 8 }),
        fc.nat(),
        async (specs, mode, maxGapBytes, maxSpanBytes, queueDepth, seed) => {
          let at = 0;
          const inside: { start: number; length: number }[] = [];
          for (const { gap, length } of specs) {
            at += gap;
            if (at + length > FILE_BYTES) break;
            inside.push({ start: at, length });
            at += length;
          }
          // Asked in a scrambled order: the plan sorts them back into file order.
          const order = inside.map((_, index) => index).sort((a, b) => ((a * 7919 + seed) % 1009) - ((b * 7919 + seed) % 1009) || a - b);
          const ranges = order.map((index) => ({ start: inside[index]!.start, target: new Uint8Array(inside[index]!.length) }));
          await readRangesCoalesced(fd, ranges, { ...optionsFor(mode), maxGapBytes, maxSpanBytes, queueDepth, onEnd });
          for (const range of ranges) expect(range.target).toEqual(bytes.subarray(range.start, range.start + range.target.length));
        },
      ),
      { numRuns: 100 },
    );
  });

  it('1,500 disjoint ranges in one span: the readv resumes after the first 1,024 buffers, every mode', async () => {
    for (const mode of modes) {
      for (const gap of [0, 5]) {
        const ranges = Array.from({ length: 1500 }, (_, i) => ({ start: 100 + i * (20 + gap), target: new Uint8Array(20) }));
        await readRangesCoalesced(fd, ranges, { ...optionsFor(mode), maxGapBytes: 8, onEnd });
        for (const range of ranges) expect(range.target).toEqual(bytes.subarray(range.start, range.start + 20));
      }
    }
  });

  it('disjoint ranges that run past the end of the file → the coded error from the readv path, every mode', async () => {
    for (const mode of modes) {
      const ranges = [
        ...Array.from({ length: 1200 }, (_, i) => ({ start: FILE_BYTES - 1200 * 40 + i * 40, target: new Uint8Array(30) })),
        { start: FILE_BYTES - 5, target: new Uint8Array(10) },
      ];
      expect(await rejectionCode(readRangesCoalesced(fd, ranges, { ...optionsFor(mode), maxGapBytes: 16, onEnd }))).toBe(DATA_FILE_TRUNCATED);
    }
  });

  it('adaptive state: after a call finds the data on the disk, calls skip readSync but for a probe every ADAPTIVE_PROBE_INTERVAL calls; cached data keeps readSync', async () => {
    const ranges = (): { start: number; target: Uint8Array }[] => Array.from({ length: 5 }, (_, i) => ({ start: i * 5000, target: new Uint8Array(64) }));
    for (const slow of [true, false]) {
      const state = new AdaptiveReadState();
      const syncCalls: boolean[] = [];
      for (let call = 0; call < 2 * ADAPTIVE_PROBE_INTERVAL + 2; call++) {
        let timed = 0;
        const targets = ranges();
        await readRangesCoalesced(fd, targets, { mode: 'adaptive', adaptiveState: state, maxGapBytes: 0, isSlowRead: () => (timed++, slow), onEnd });
        syncCalls.push(timed > 0);
        for (const { start, target } of targets) expect(target).toEqual(bytes.subarray(start, start + 64));
      }
      const probes = syncCalls.flatMap((sync, call) => (sync ? [call] : []));
      expect(probes).toEqual(slow ? [0, ADAPTIVE_PROBE_INTERVAL, 2 * ADAPTIVE_PROBE_INTERVAL] : syncCalls.map((_, call) => call));
      expect(state.believesOnDisk).toBe(slow);
    }
  });

  it('a range past the end of the file → the coded error, in every mode, with the other reads settled', async () => {
    for (const mode of modes) {
      const ranges = [
        ...Array.from({ length: 30 }, (_, i) => ({ start: i * 1500, target: new Uint8Array(100) })),
        { start: FILE_BYTES - 10, target: new Uint8Array(20) },
      ];
      expect(await rejectionCode(readRangesCoalesced(fd, ranges, { ...optionsFor(mode), maxGapBytes: 0, onEnd }))).toBe(DATA_FILE_TRUNCATED);
      expect(await rejectionCode(Promise.resolve().then(() => readRangesOneByOne(fd, ranges, onEnd)))).toBe(DATA_FILE_TRUNCATED);
    }
  });
});
