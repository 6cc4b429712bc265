import type { Gradients } from './named-tensor.ts';

/** Global L2 norm over every gradient (float64 accumulation). */
export function globalGradNorm(gradients: Gradients): number {
  let sum = 0;
  for (const g of gradients.values()) for (let i = 0; i < g.length; i++) sum += g[i]! * g[i]!;
  return Math.sqrt(sum);
}

/**
 * Scales every gradient in place so the global norm is at most `maxNorm` (as torch's
 * clip_grad_norm_, with its 1e-6 guard); returns the norm before clipping.
 */
export function clipGradNorm(gradients: Gradients, maxNorm: number): number {
  const norm = globalGradNorm(gradients);
  const scale = maxNorm / (norm + 1e-6);
  if (scale < 1) for (const g of gradients.values()) for (let i = 0; i < g.length; i++) g[i] = g[i]! * scale;
  return norm;
}
