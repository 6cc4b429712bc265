import { read, readSync, readv, readvSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import type { ByteRangeTarget } from './multipart-byteranges.ts';

/**
 * Ranges closer than this are read as one span, gap included. At the break-even of this machine's
 * disk (BENCHMARKS.md): a cold random read costs ≈ 60–100 µs at queue depth 1, in which a
 * sequential read moves ≈ 35–60 KB; from the page cache a pread costs ≈ 2 µs ≈ 15 KB of memcpy.
 * 32 KiB (8 sequences of 2048 u16 tokens) is between the two.
 */
export const DEFAULT_MAX_GAP_BYTES = 32 * 1024;
/** Spans are not grown by merging beyond this (a single range longer than it is still one span). */
export const DEFAULT_MAX_SPAN_BYTES = 4 * 1024 * 1024;
/** Reads in flight at once on libuv's thread pool once reads go concurrent. */
export const DEFAULT_QUEUE_DEPTH = 16;

/**
 * 'sync': every span with readSync, in file order (queue depth 1; the cheapest from the page cache).
 * 'async': every span on the thread pool, up to queueDepth in flight (the disk sees a queue).
 * 'adaptive': readSync in file order while reads are as fast as the page cache; after two slow
 * ones (the data is on the disk) the rest of the call goes concurrent.
 */
export type ReadMode = 'sync' | 'async' | 'adaptive';

/** One read of the plan: bytes [start, start + length) of the file, covering the ranges `members` (indices, by start). */
export interface CoalescedRead {
  start: number;
  length: number;
  members: number[];
}

/**
 * Sorts ranges by file offset and merges neighbours whose gap is at most `maxGapBytes` (overlapping
 * and duplicate ranges always qualify) while the span stays within `maxSpanBytes`. Empty ranges are
 * left out. Pure, so it is tested on its own.
 */
export function planCoalescedReads(ranges: readonly { start: number; length: number }[], maxGapBytes: number, maxSpanBytes: number): CoalescedRead[] {
  const order = ranges
    .map((_, index) => index)
    .filter((index) => ranges[index]!.length > 0)
    .sort((a, b) => ranges[a]!.start - ranges[b]!.start || a - b);
  const reads: CoalescedRead[] = [];
  let current: CoalescedRead | undefined;
  for (const index of order) {
    const { start, length } = ranges[index]!;
    const end = start + length;
    if (current !== undefined) {
      const currentEnd = current.start + current.length;
      const spanEnd = Math.max(currentEnd, end);
      if (start <= currentEnd + maxGapBytes && spanEnd - current.start <= maxSpanBytes) {
        current.length = spanEnd - current.start;
        current.members.push(index);
        continue;
      }
    }
    current = { start, length, members: [index] };
    reads.push(current);
  }
  return reads;
}

export interface ReadRangesOptions {
  mode: ReadMode;
  /** Default DEFAULT_MAX_GAP_BYTES; 0 merges only touching or overlapping ranges. */
  maxGapBytes?: number;
  maxSpanBytes?: number;
  queueDepth?: number;
  /**
   * 'adaptive' across calls: a reader passes the same state to every call, so that once reads come
   * from the disk, later calls go concurrent at once instead of blocking on readSync first.
   */
  adaptiveState?: AdaptiveReadState;
  /** Whether a read of `bytes` that took `micros` came from the disk (default: slower than ≈ 1 GB/s + 40 µs). Tests force the switch with it. */
  isSlowRead?: (bytes: number, micros: number) => boolean;
  /** Called when the file ends before byte `position` of a range could be read; must throw (a coded error). */
  onEnd: (position: number) => never;
}

/** Reading `bytes` took longer than the page cache plausibly needs: ≈ 1 GB/s plus 40 µs (a cached 4 KiB pread is ≈ 2–5 µs). */
function isSlowRead(bytes: number, micros: number): boolean {
  return micros > 40 + bytes / 1000;
}

/** Slow reads after which an adaptive call goes concurrent (one alone may be a preemption on a busy machine). */
const SLOW_READS_TO_SWITCH = 2;

/** While reads come from the disk, every this many calls one starts with readSync again, to notice the data being cached. */
export const ADAPTIVE_PROBE_INTERVAL = 16;

/**
 * What an adaptive reader learnt from its earlier calls. Once a call found the data on the disk,
 * the following calls skip the readSync phase (readSync there blocks the event loop behind the
 * thread pool's queued reads, which then starve), but for a probe every ADAPTIVE_PROBE_INTERVAL calls.
 */
export class AdaptiveReadState {
  private onDisk = false;
  private callsSinceProbe = 0;

  /** True: read this call with readSync first (the data is believed cached, or it is a probe). */
  startsWithSync(): boolean {
    if (!this.onDisk) return true;
    this.callsSinceProbe++;
    if (this.callsSinceProbe < ADAPTIVE_PROBE_INTERVAL) return false;
    this.callsSinceProbe = 0;
    return true;
  }

  /** After a call's readSync phase: whether it found the data on the disk (and went concurrent). */
  observe(foundOnDisk: boolean): void {
    this.onDisk = foundOnDisk;
    this.callsSinceProbe = 0;
  }

  get believesOnDisk(): boolean {
    return this.onDisk;
  }
}

/** Buffers handed to one readv: Linux's IOV_MAX (libuv reads only that many per call; the rest is read by the next). */
const MAX_BUFFERS_PER_READV = 1024;

/** Whether a span's ranges (members, in file order) are disjoint, so one readv can fill them in place. */
function hasDisjointMembers(span: CoalescedRead, ranges: readonly ByteRangeTarget[]): boolean {
  if (span.members.length < 2) return false;
  let end = span.start;
  for (const member of span.members) {
    const range = ranges[member]!;
    if (range.start < end) return false;
    end = range.start + range.target.length;
  }
  return true;
}

/** A disjoint span as readv buffers: each target in file order, the gaps between them read into `gapSink` and dropped. */
function scatterBuffers(span: CoalescedRead, ranges: readonly ByteRangeTarget[], gapSink: () => Uint8Array): Uint8Array[] {
  const buffers: Uint8Array[] = [];
  let at = span.start;
  for (const member of span.members) {
    const range = ranges[member]!;
    if (range.start > at) buffers.push(gapSink().subarray(0, range.start - at));
    buffers.push(range.target);
    at = range.start + range.target.length;
  }
  return buffers;
}

/**
 * Fills every range's target with its bytes of `fd`: the plan of planCoalescedReads, each span read
 * straight into its target when it is a single exact range, with one readv straight into the
 * targets when its ranges are disjoint (the rows of a contiguous batch: no scratch, no copy), else
 * into a scratch buffer and copied out. Targets may be given in any order; each gets exactly its own bytes.
 */
export async function readRangesCoalesced(fd: number, ranges: readonly ByteRangeTarget[], options: ReadRangesOptions): Promise<void> {
  const plan = planCoalescedReads(
    ranges.map((range) => ({ start: range.start, length: range.target.length })),
    options.maxGapBytes ?? DEFAULT_MAX_GAP_BYTES,
    options.maxSpanBytes ?? DEFAULT_MAX_SPAN_BYTES,
  );
  const destination = (span: CoalescedRead): Uint8Array => {
    const only = ranges[span.members[0]!]!;
    return span.members.length === 1 && only.start === span.start && only.target.length === span.length ? only.target : new Uint8Array(span.length);
  };
  const scatter = (span: CoalescedRead, bytes: Uint8Array): void => {
    for (const member of span.members) {
      const range = ranges[member]!;
      if (range.target !== bytes) range.target.set(bytes.subarray(range.start - span.start, range.start - span.start + range.target.length));
    }
  };
  // Gaps inside a span are at most maxGapBytes; their bytes are read and dropped (lanes may share the sink: nobody reads it).
  let sink: Uint8Array | undefined;
  const gapSink = (): Uint8Array => (sink ??= new Uint8Array(Math.max(1, options.maxGapBytes ?? DEFAULT_MAX_GAP_BYTES)));
  let next = 0;
  const state = options.mode === 'adaptive' ? options.adaptiveState : undefined;
  if (options.mode === 'sync' || (options.mode === 'adaptive' && (state === undefined || state.startsWithSync()))) {
    let slowReads = 0;
    const isSlow = options.isSlowRead ?? isSlowRead;
    while (next < plan.length && (options.mode === 'sync' || slowReads < SLOW_READS_TO_SWITCH)) {
      const span = plan[next++]!;
      const started = performance.now();
      if (hasDisjointMembers(span, ranges)) {
        readvFullySync(fd, scatterBuffers(span, ranges, gapSink), span.start, options.onEnd);
        if (isSlow(span.length, (performance.now() - started) * 1000)) slowReads++;
        continue;
      }
      const bytes = destination(span);
      readFullySync(fd, bytes, span.start, options.onEnd);
      if (isSlow(span.length, (performance.now() - started) * 1000)) slowReads++;
      scatter(span, bytes);
    }
    state?.observe(slowReads >= SLOW_READS_TO_SWITCH);
  }
  if (next >= plan.length) return;
  // Concurrent: the rest of the plan, in file order, with up to queueDepth reads on the thread pool.
  const rest = plan.slice(next);
  let taken = 0;
  let failed = false;
  const lane = async (): Promise<void> => {
    while (taken < rest.length && !failed) {
      const span = rest[taken++]!;
      const disjoint = hasDisjointMembers(span, ranges);
      const bytes = disjoint ? undefined : destination(span);
      try {
        if (bytes === undefined) await readvFullyAsync(fd, scatterBuffers(span, ranges, gapSink), span.start, options.onEnd);
        else await readFullyAsync(fd, bytes, span.start, options.onEnd);
      } catch (error) {
        failed = true;
        throw error;
      }
      if (bytes !== undefined) scatter(span, bytes);
    }
  };
  // Every lane settles before a failure is reported: no read may still write into a target the caller reuses.
  const lanes = await Promise.allSettled(Array.from({ length: Math.min(Math.max(1, options.queueDepth ?? DEFAULT_QUEUE_DEPTH), rest.length) }, lane));
  const failure = lanes.find((lane): lane is PromiseRejectedResult => lane.status === 'rejected');
  if (failure !== undefined) throw failure.reason;
}

/** The reference: one positional readSync per range, in the given order, no merging. */
export function readRangesOneByOne(fd: number, ranges: readonly ByteRangeTarget[], onEnd: (position: number) => never): void {
  for (const range of ranges) readFullySync(fd, range.target, range.start, onEnd);
}

function readFullySync(fd: number, target: Uint8Array, position: number, onEnd: (position: number) => never): void {
  for (let done = 0; done < target.length; ) {
    const bytesRead = readSync(fd, target, done, target.length - done, position + done);
    if (bytesRead === 0) onEnd(position + done);
    done += bytesRead;
  }
}

/**
 * Fills `buffers` in order from `position` on: readv until every byte is in, resuming after a
 * short read (or after the first MAX_BUFFERS_PER_READV buffers) where it stopped.
 */
function readvFullySync(fd: number, buffers: readonly Uint8Array[], position: number, onEnd: (position: number) => never): void {
  const cursor = new ReadvCursor(buffers);
  while (!cursor.finished) {
    const bytesRead = readvSync(fd, cursor.pending(), position + cursor.done);
    if (bytesRead === 0) onEnd(position + cursor.done);
    cursor.advance(bytesRead);
  }
}

async function readvFullyAsync(fd: number, buffers: readonly Uint8Array[], position: number, onEnd: (position: number) => never): Promise<void> {
  const cursor = new ReadvCursor(buffers);
  while (!cursor.finished) {
    const bytesRead = await new Promise<number>((resolve, reject) => {
      readv(fd, cursor.pending(), position + cursor.done, (error, count) => (error ? reject(error) : resolve(count)));
    });
    if (bytesRead === 0) onEnd(position + cursor.done);
    cursor.advance(bytesRead);
  }
}

/** Where a readv sequence stands: the buffer being filled and how far into it. */
class ReadvCursor {
  private index = 0;
  private offset = 0;
  done = 0;

  constructor(private readonly buffers: readonly Uint8Array[]) {
    this.skipFull();
  }

  get finished(): boolean {
    return this.index >= this.buffers.length;
  }

  /** The buffers still to fill (the current one from its offset), at most MAX_BUFFERS_PER_READV. */
  pending(): Uint8Array[] {
    const rest = this.buffers.slice(this.index, this.index + MAX_BUFFERS_PER_READV);
    if (this.offset > 0) rest[0] = rest[0]!.subarray(this.offset);
    return rest;
  }

  advance(bytes: number): void {
    this.done += bytes;
    let left = bytes;
    while (left > 0) {
      const room = this.buffers[this.index]!.length - this.offset;
      if (left < room) {
        this.offset += left;
        return;
      }
      left -= room;
      this.index++;
      this.offset = 0;
    }
    this.skipFull();
  }

  private skipFull(): void {
    while (this.index < this.buffers.length && this.buffers[this.index]!.length === 0) this.index++;
  }
}

async function readFullyAsync(fd: number, target: Uint8Array, position: number, onEnd: (position: number) => never): Promise<void> {
  for (let done = 0; done < target.length; ) {
    const bytesRead = await new Promise<number>((resolve, reject) => {
      read(fd, target, done, target.length - done, position + done, (error, count) => (error ? reject(error) : resolve(count)));
    });
    if (bytesRead === 0) onEnd(position + done);
    done += bytesRead;
  }
}
