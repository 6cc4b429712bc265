/**
 * Orthonormal DCT-II basis of length n, float64, row-major [n, n]:
 * D[k][i] = s_k · cos(π (2i + 1) k / (2n)), s_0 = √(1/n), s_k = √(2/n).
 * D is orthogonal, so Dᵀ (DCT-III) is its inverse.
 */
const cache = new Map<number, Float64Array>();

export function dctBasis(n: number): Float64Array {
  let basis = cache.get(n);
  if (basis === undefined) {
    basis = new Float64Array(n * n);
    for (let k = 0; k < n; k++) {
      const scale = dctScale(k, n);
      for (let i = 0; i < n; i++) basis[k * n + i] = scale * Math.cos((Math.PI * (2 * i + 1) * k) / (2 * n));
    }
    cache.set(n, basis);
  }
  return basis;
}

/** Orthonormal scale of DCT-II output k of length n. */
export function dctScale(k: number, n: number): number {
  return k === 0 ? Math.sqrt(1 / n) : Math.sqrt(2 / n);
}
