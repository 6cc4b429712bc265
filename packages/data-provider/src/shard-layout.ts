import { bytesPerToken, type TokenDtype } from './token-dtype.ts';

/** One contiguous byte range inside one shard file. */
export interface ShardPiece {
  fileIndex: number;
  byteOffset: number;
  byteLength: number;
}

/**
 * The shard files seen as one token stream (concatenated in manifest order): maps a token range
 * to the byte ranges of the files it lies in.
 */
export class ShardLayout {
  readonly dtype: TokenDtype;
  readonly tokenCount: number;
  private readonly firstToken: number[];
  private readonly fileTokens: number[];

  constructor(dtype: TokenDtype, fileBytes: readonly number[]) {
    this.dtype = dtype;
    const width = bytesPerToken(dtype);
    this.fileTokens = fileBytes.map((bytes) => Math.floor(bytes / width));
    this.firstToken = [];
    let total = 0;
    for (const tokens of this.fileTokens) {
      this.firstToken.push(total);
      total += tokens;
    }
    this.tokenCount = total;
  }

  /** Index of the file holding global token `token` (binary search; empty files are skipped). */
  fileIndexOf(token: number): number {
    let low = 0;
    let high = this.firstToken.length - 1;
    while (low < high) {
      const middle = (low + high + 1) >>> 1;
      if (this.firstToken[middle]! <= token) low = middle;
      else high = middle - 1;
    }
    while (low < this.fileTokens.length - 1 && this.fileTokens[low] === 0) low++;
    return low;
  }

  /** Byte ranges covering tokens [tokenStart, tokenStart + tokenCount); the caller keeps it inside tokenCount. */
  pieces(tokenStart: number, tokenCount: number): ShardPiece[] {
    const width = bytesPerToken(this.dtype);
    const out: ShardPiece[] = [];
    let token = tokenStart;
    let left = tokenCount;
    let fileIndex = this.fileIndexOf(token);
    while (left > 0 && fileIndex < this.fileTokens.length) {
      const inFile = token - this.firstToken[fileIndex]!;
      const available = this.fileTokens[fileIndex]! - inFile;
      if (available > 0) {
        const take = Math.min(available, left);
        out.push({ fileIndex, byteOffset: inFile * width, byteLength: take * width });
        token += take;
        left -= take;
      }
      fileIndex++;
    }
    return out;
  }
}
