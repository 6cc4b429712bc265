import type { NamedTensor } from './named-tensor.ts';

/** What a dense bf16 exchange of every parameter costs: 2 bytes per element. */
export function denseBf16Bytes(params: readonly NamedTensor[]): number {
  let elements = 0;
  for (const p of params) elements += p.data.length;
  return 2 * elements;
}

/** Bytes a node sent and received, per step and in total, and the ratio to dense bf16. */
export class ByteCounter {
  private readonly denseBytesPerStep: number;
  private sentTotal = 0;
  private receivedTotal = 0;
  private stepCount = 0;

  constructor(denseBytesPerStep: number) {
    this.denseBytesPerStep = denseBytesPerStep;
  }

  recordStep(sent: number, received: number): void {
    this.sentTotal += sent;
    this.receivedTotal += received;
    this.stepCount++;
  }

  get steps(): number {
    return this.stepCount;
  }
  get sent(): number {
    return this.sentTotal;
  }
  get received(): number {
    return this.receivedTotal;
  }
  get sentPerStep(): number {
    return this.stepCount === 0 ? 0 : this.sentTotal / this.stepCount;
  }
  /** Dense bf16 bytes per step ÷ bytes this node sent per step. */
  get compressionRatio(): number {
    return this.sentPerStep === 0 ? Number.POSITIVE_INFINITY : this.denseBytesPerStep / this.sentPerStep;
  }
}
