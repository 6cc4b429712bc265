import { DATA_HTTP_SHORT_READ, DATA_MANIFEST_MISMATCH, PsycheError } from '@psyche/core';

/** One requested byte range and where its bytes go (exactly target.length bytes from start). */
export interface ByteRangeTarget {
  start: number;
  target: Uint8Array;
}

/** `Range: bytes=a-b,c-d,…` for these ranges, in the given order. */
export function multiRangeHeader(ranges: readonly ByteRangeTarget[]): string {
  return `bytes=${ranges.map(({ start, target }) => `${start}-${start + target.length - 1}`).join(',')}`;
}

/** The boundary of a `multipart/byteranges; boundary=…` Content-Type (RFC 9110 §14.6), or undefined. */
export function byterangesBoundary(contentType: string | undefined): string | undefined {
  const match = /^\s*multipart\/byteranges\s*;(?:.*;)?\s*boundary=(?:"([^"]{1,70})"|([^\s;"]{1,70}))\s*(?:;.*)?$/i.exec(contentType ?? '');
  return match === null ? undefined : (match[1] ?? match[2]);
}

/** Longest delimiter or header line accepted; a server sending more is hostile or broken. */
const MAX_LINE_BYTES = 1024;
/** Header bytes accepted per part. */
const MAX_PART_HEADER_BYTES = 4096;
/** Bytes accepted after the closing delimiter. */
const MAX_EPILOGUE_BYTES = 1024;

const LF = 10;
const BLANK_LINE = Buffer.from('\r\n\r\n');

/**
 * Streaming parser of a multipart/byteranges body (RFC 9110 §14.6, RFC 2046 §5.1.1) for ranges this
 * side asked for: each part's Content-Range must be exactly one requested range (any order, each
 * once, total equal to `expectedTotal` when given) and its body is copied straight into that
 * range's target. Memory is bounded (one line at a time, lines ≤ 1 KiB, part headers ≤ 4 KiB);
 * anything else is DATA_HTTP_SHORT_READ (retryable) or DATA_MANIFEST_MISMATCH (wrong file size).
 */
export class MultipartByterangesParser {
  private readonly delimiter: string;
  private readonly closeDelimiter: string;
  private readonly byStart = new Map<number, ByteRangeTarget>();
  private readonly filled = new Set<number>();
  private state: 'delimiter' | 'headers' | 'body' | 'epilogue' = 'delimiter';
  private line = '';
  private lineBytes = 0;
  private headerBytes = 0;
  private contentRange: string | undefined;
  private body: ByteRangeTarget | undefined;
  private bodyFilled = 0;
  private epilogueBytes = 0;
  private blankBytes = 0;
  private received = 0;

  constructor(
    boundary: string,
    ranges: readonly ByteRangeTarget[],
    private readonly url: string,
    private readonly expectedTotal: number | undefined,
  ) {
    this.delimiter = `--${boundary}`;
    this.closeDelimiter = `--${boundary}--`;
    for (const range of ranges) this.byStart.set(range.start, range);
  }

  push(chunk: Uint8Array): void {
    this.received += chunk.length;
    const bytes = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length);
    let at = 0;
    while (at < chunk.length) {
      if (this.state === 'delimiter' && this.line === '') {
        const next = this.wholePartHead(bytes, at);
        if (next >= 0) {
          at = next;
          continue;
        }
      }
      if (this.state === 'body') {
        const body = this.body!;
        const take = Math.min(body.target.length - this.bodyFilled, chunk.length - at);
        body.target.set(chunk.subarray(at, at + take), this.bodyFilled);
        this.bodyFilled += take;
        at += take;
        if (this.bodyFilled === body.target.length) {
          this.filled.add(body.start);
          this.body = undefined;
          this.state = 'delimiter';
        }
        continue;
      }
      if (this.state === 'epilogue') {
        this.epilogueBytes += chunk.length - at;
        if (this.epilogueBytes > MAX_EPILOGUE_BYTES) this.fail(`more than ${MAX_EPILOGUE_BYTES} bytes after the closing delimiter`);
        return;
      }
      // Delimiter and header lines: find the line end natively, decode the piece as latin1.
      const newline = chunk.indexOf(LF, at);
      const end = newline === -1 ? chunk.length : newline;
      this.lineBytes += end - at;
      if (this.lineBytes > MAX_LINE_BYTES) this.fail(`a line longer than ${MAX_LINE_BYTES} bytes`);
      this.line += bytes.toString('latin1', at, end);
      if (newline === -1) return;
      at = newline + 1;
      const text = this.line.endsWith('\r') ? this.line.slice(0, -1) : this.line;
      this.line = '';
      this.lineBytes = 0;
      this.onLine(text);
    }
  }

  /**
   * Fast path for the usual case, a part's whole head inside one chunk ("\r\n--boundary\r\n" headers
   * "\r\n\r\n"): parsed as one string instead of line by line. Returns the offset of the part's
   * body, or −1 (nothing consumed) when the bytes at `at` are anything else: the line-by-line
   * path then takes them, with its checks.
   */
  private wholePartHead(bytes: Buffer, at: number): number {
    const end = bytes.indexOf(BLANK_LINE, at);
    if (end < 0 || end - at > MAX_PART_HEADER_BYTES) return -1;
    const lines = bytes.toString('latin1', at, end).split('\r\n');
    let first = 0;
    // At most the CRLF that ends the previous body before the delimiter (anything more: the careful path).
    if (lines[0] === '' && lines.length > 1) first = 1;
    if (lines[first] !== this.delimiter) return -1;
    this.contentRange = undefined;
    for (let i = first + 1; i < lines.length; i++) {
      const line = lines[i]!;
      const colon = line.indexOf(':');
      if (colon > 0 && line.slice(0, colon).trim().toLowerCase() === 'content-range') this.contentRange = line.slice(colon + 1).trim();
    }
    this.blankBytes = 0;
    this.startBody();
    return end + BLANK_LINE.length;
  }

  /** Call at the end of the body: every range must have arrived, closing delimiter included. */
  finish(): void {
    if (this.state !== 'epilogue' || this.filled.size !== this.byStart.size) {
      this.fail(`body ended with ${this.filled.size} of ${this.byStart.size} ranges${this.state === 'epilogue' ? '' : ' and no closing delimiter'}`);
    }
  }

  private onLine(text: string): void {
    if (this.state === 'delimiter') {
      // Blank lines: the CRLF that ends a part's body, and a preamble (bounded like a line).
      if (text === '') {
        this.blankBytes += 2;
        if (this.blankBytes > MAX_LINE_BYTES) this.fail(`more than ${MAX_LINE_BYTES} bytes of blank lines between parts`);
        return;
      }
      this.blankBytes = 0;
      if (text.trimEnd() === this.closeDelimiter) this.state = 'epilogue';
      else if (text.trimEnd() === this.delimiter) {
        this.state = 'headers';
        this.headerBytes = 0;
        this.contentRange = undefined;
      } else this.fail(`expected the boundary delimiter, got ${JSON.stringify(text.slice(0, 80))}`);
      return;
    }
    this.headerBytes += text.length + 2;
    if (this.headerBytes > MAX_PART_HEADER_BYTES) this.fail(`part headers longer than ${MAX_PART_HEADER_BYTES} bytes`);
    if (text !== '') {
      const colon = text.indexOf(':');
      if (colon > 0 && text.slice(0, colon).trim().toLowerCase() === 'content-range') this.contentRange = text.slice(colon + 1).trim();
      return;
    }
    this.startBody();
  }

  private startBody(): void {
    const match = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(this.contentRange ?? '');
    if (match === null) this.fail(`part without a valid Content-Range (${this.contentRange ?? 'none'})`);
    const start = Number(match[1]);
    const range = this.byStart.get(start);
    if (range === undefined || this.filled.has(start) || Number(match[2]) !== start + range.target.length - 1) {
      this.fail(`part ${this.contentRange} is not one of the requested ranges, or came twice`);
    }
    if (this.expectedTotal !== undefined && match[3] !== '*' && Number(match[3]) !== this.expectedTotal) {
      throw new PsycheError(
        DATA_MANIFEST_MISMATCH,
        { file: this.url, field: 'bytes', expected: String(this.expectedTotal), actual: match[3]! },
        `${this.url}: the file is ${match[3]} bytes, the manifest says ${this.expectedTotal}`,
      );
    }
    this.body = range;
    this.bodyFilled = 0;
    this.state = 'body';
  }

  private fail(reason: string): never {
    const expectedBytes = [...this.byStart.values()].reduce((sum, range) => sum + range.target.length, 0);
    throw new PsycheError(DATA_HTTP_SHORT_READ, { url: this.url, expectedBytes, receivedBytes: this.received }, `${this.url}: malformed multipart/byteranges response: ${reason}`);
  }
}

/**
 * The multipart/byteranges body a server sends for `ranges` of a file of `size` bytes: part
 * headers and the closing delimiter around each range's bytes (which `readRange` supplies).
 * Shared by the static server and the tests' reference.
 */
export function byterangesParts(boundary: string, ranges: readonly { start: number; end: number }[], size: number): { head: string; start: number; end: number }[] {
  return ranges.map(({ start, end }, index) => ({
    head: `${index === 0 ? '' : '\r\n'}--${boundary}\r\nContent-Type: application/octet-stream\r\nContent-Range: bytes ${start}-${end}/${size}\r\n\r\n`,
    start,
    end,
  }));
}

export function byterangesClosing(boundary: string): string {
  return `\r\n--${boundary}--\r\n`;
}
