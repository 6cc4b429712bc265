/** delta ← decay·delta + lr·grad. */
export function decayAccumulate(delta: Float32Array, grad: Float32Array, decay: number, lr: number): void {
  for (let i = 0; i < delta.length; i++) delta[i] = decay * delta[i]! + lr * grad[i]!;
}

/** weights ← weights − lr·sign(direction), with sign(0) = 0 (and sign(NaN) = 0). */
export function signDescent(weights: Float32Array, direction: Float32Array, lr: number): void {
  for (let i = 0; i < weights.length; i++) {
    const d = direction[i]!;
    if (d > 0) weights[i] = weights[i]! - lr;
    else if (d < 0) weights[i] = weights[i]! + lr;
  }
}
