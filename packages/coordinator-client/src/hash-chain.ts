import { assertBytes, assertInteger, bytesEqual, sha256 } from '@psyche/core';

/**
 * A client's randomness commitment (RANDAO-style hash onion). The client picks a secret s and
 * commits to c = sha256^length(s) when joining; each witness submission reveals the previous link,
 * which the program checks by hashing it once. The links are fixed at join time, so a witness can
 * only reveal or stay silent, never choose the value that enters the round seed.
 */
export class HashChain {
  /** links[i] = sha256^i(secret); links[length] is the commitment. */
  private readonly links: Uint8Array[];

  constructor(secret: Uint8Array, length = 4096) {
    assertBytes('secret', secret, 32);
    assertInteger('length', length, 1, 1 << 20);
    this.links = [secret.slice()];
    for (let i = 1; i <= length; i++) this.links.push(sha256(this.links[i - 1]!));
  }

  get commitment(): Uint8Array {
    return this.links[this.links.length - 1]!;
  }

  /** The value to reveal when the program holds `current` as the client's chain link, or undefined when exhausted. */
  revealFor(current: Uint8Array): Uint8Array | undefined {
    for (let i = this.links.length - 1; i > 0; i--) if (bytesEqual(this.links[i]!, current)) return this.links[i - 1];
    return undefined;
  }
}
