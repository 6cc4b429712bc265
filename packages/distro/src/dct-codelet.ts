import { dctBasis, dctScale } from './dct-basis.ts';

/**
 * A generated 1-D orthonormal DCT of one length, reading n values from `src` at
 * srcOffset, srcOffset + srcStride, … and writing n values to `dst` the same way. In place is
 * allowed (every input is read before any output is written).
 */
export type Codelet = (
  src: Float32Array | Float64Array,
  srcOffset: number,
  srcStride: number,
  dst: Float32Array | Float64Array,
  dstOffset: number,
  dstStride: number,
) => void;

/**
 * Straight-line code generation for fixed-length DCTs, in the spirit of FFTW's codelets: V8
 * compiles a function with no loops, no index arithmetic and every intermediate in a local far
 * better than a generic loop (measured in BENCHMARKS.md). Even lengths use Lee's recursive
 * decomposition (B. G. Lee, "A new algorithm to compute the discrete cosine transform",
 * IEEE TASSP 32(6), 1984): for X[k] = Σ x[i] cos(π(2i+1)k/2N),
 *   g[i] = x[i] + x[N−1−i],  h[i] = (x[i] − x[N−1−i]) / (2 cos(π(2i+1)/2N)),  i < N/2
 *   X[2m] = DCT_{N/2}(g)[m],  X[2m+1] = H[m] + H[m+1] with H = DCT_{N/2}(h), H[N/2] = 0.
 * 64 points cost 192 multiplies + 513 adds instead of 4,096 multiply-adds. Odd lengths are
 * computed directly from the basis. The orthonormal scale is folded into the first or last stage.
 */
class Emitter {
  private counter = 0;
  readonly lines: string[] = [];
  fresh(expression: string): string {
    const name = `t${this.counter++}`;
    this.lines.push(`const ${name} = ${expression};`);
    return name;
  }
}

function literal(value: number): string {
  // Full precision: 17 significant digits round-trip a float64.
  return value.toPrecision(17);
}

/** cos(π(2i+1)k / 2n): the DCT-II kernel between sample i and frequency k. */
function cosine(i: number, k: number, n: number): number {
  return Math.cos((Math.PI * (2 * i + 1) * k) / (2 * n));
}

/** Odd lengths: every output as a plain weighted sum, out[o] = Σ_j inputs[j]·weight(o, j). */
function emitDirect(inputs: readonly string[], e: Emitter, weight: (output: number, input: number) => number): string[] {
  return inputs.map((_, o) => e.fresh(inputs.map((value, j) => `${value} * ${literal(weight(o, j))}`).join(' + ')));
}

/** Unnormalised DCT-II: X[k] = Σ_i x[i] cos(π(2i+1)k / 2N). */
function emitForward(x: readonly string[], e: Emitter): string[] {
  const n = x.length;
  if (n === 1) return [x[0]!];
  if (n % 2 === 1) return emitDirect(x, e, (k, i) => cosine(i, k, n));
  const half = n / 2;
  const g: string[] = [];
  const h: string[] = [];
  for (let i = 0; i < half; i++) {
    const a = x[i]!;
    const b = x[n - 1 - i]!;
    g.push(e.fresh(`${a} + ${b}`));
    h.push(e.fresh(`(${a} - ${b}) * ${literal(1 / (2 * cosine(i, 1, n)))}`));
  }
  const even = emitForward(g, e);
  const odd = emitForward(h, e);
  const out = new Array<string>(n);
  for (let m = 0; m < half; m++) {
    out[2 * m] = even[m]!;
    out[2 * m + 1] = m + 1 < half ? e.fresh(`${odd[m]} + ${odd[m + 1]}`) : odd[m]!;
  }
  return out;
}

/** Unnormalised DCT-III (transpose of the above): x[i] = Σ_k Z[k] cos(π(2i+1)k / 2N). */
function emitInverse(z: readonly string[], e: Emitter): string[] {
  const n = z.length;
  if (n === 1) return [z[0]!];
  if (n % 2 === 1) return emitDirect(z, e, (i, k) => cosine(i, k, n));
  const half = n / 2;
  const even: string[] = [];
  const odd: string[] = [];
  for (let m = 0; m < half; m++) {
    even.push(z[2 * m]!);
    odd.push(m === 0 ? z[1]! : e.fresh(`${z[2 * m + 1]} + ${z[2 * m - 1]}`));
  }
  const g = emitInverse(even, e);
  const h = emitInverse(odd, e);
  const out = new Array<string>(n);
  for (let i = 0; i < half; i++) {
    const t = e.fresh(`${h[i]} * ${literal(1 / (2 * cosine(i, 1, n)))}`);
    out[i] = e.fresh(`${g[i]} + ${t}`);
    out[n - 1 - i] = e.fresh(`${g[i]} - ${t}`);
  }
  return out;
}

/** Odd factor of n after removing powers of two; the direct part costs oddPart² per call. */
function oddPart(n: number): number {
  let m = n;
  while (m % 2 === 0) m /= 2;
  return m;
}

/** Lengths whose odd part is small enough to unroll (≤ 64² multiply-adds per odd block). */
function canUnroll(n: number): boolean {
  return n <= 4096 && oddPart(n) <= 64 && n * Math.max(1, oddPart(n)) <= 65536;
}

function generate(n: number, inverse: boolean): Codelet {
  const e = new Emitter();
  const load: string[] = [];
  const head = ['let p = srcOffset;'];
  for (let i = 0; i < n; i++) {
    const scale = inverse ? `* ${literal(dctScale(i, n))}` : '';
    head.push(`const x${i} = src[p]${scale};`);
    if (i + 1 < n) head.push('p += srcStride;');
    load.push(`x${i}`);
  }
  const out = inverse ? emitInverse(load, e) : emitForward(load, e);
  const tail = ['let q = dstOffset;'];
  for (let k = 0; k < n; k++) {
    const scale = inverse ? '' : ` * ${literal(dctScale(k, n))}`;
    tail.push(`dst[q] = ${out[k]}${scale};`);
    if (k + 1 < n) tail.push('q += dstStride;');
  }
  const body = [...head, ...e.lines, ...tail].join('\n');
  return new Function('src', 'srcOffset', 'srcStride', 'dst', 'dstOffset', 'dstStride', body) as Codelet;
}

/** Loop form for lengths too awkward to unroll (large odd factors): a basis matrix-vector product. */
function matrixCodelet(n: number, inverse: boolean): Codelet {
  const basis = dctBasis(n);
  const scratch = new Float64Array(n);
  return (src, srcOffset, srcStride, dst, dstOffset, dstStride) => {
    for (let i = 0; i < n; i++) scratch[i] = src[srcOffset + i * srcStride]!;
    for (let k = 0; k < n; k++) {
      let sum = 0;
      for (let i = 0; i < n; i++) sum += (inverse ? basis[i * n + k]! : basis[k * n + i]!) * scratch[i]!;
      dst[dstOffset + k * dstStride] = sum;
    }
  };
}

/**
 * A fresh codelet for DCT-II (or DCT-III when `inverse`) of length n. Each call site should own its
 * codelet (call this once per use) so V8 sees one array type per function and keeps it monomorphic.
 */
export function createCodelet(n: number, inverse: boolean): Codelet {
  return canUnroll(n) ? generate(n, inverse) : matrixCodelet(n, inverse);
}
