import { isPsycheError, VERIFY_INVALID_PARAMETER, VERIFY_MALFORMED_MERKLE_PROOF, VERIFY_MALFORMED_RESULT, VERIFY_WITNESS_INDEX_OUT_OF_RANGE } from '@psyche/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { hostileJsonValue } from '../../../../scripts/hostile-json.ts';
import { assertWitnessIndex, createWitnessBloom, encodeMerkleProof, encodeWitnessReport, merkleProof, sparseToDense, verifyMerkleProof } from '../index.ts';
import type { MerkleProof, SparseSelection, WitnessReport } from '../index.ts';

/**
 * Values a JavaScript caller can pass where a number or bigint belongs: parsed JSON of any shape, and
 * values whose String() or template literal throws ({toString: null}, a symbol). Each must give the
 * function's coded error, not the TypeError that printing it in the message threw.
 */
const hostile = fc.oneof(hostileJsonValue(), fc.constantFrom<unknown>({ toString: null }, [{ toString: null }], Object.create(null), Symbol('s'), 1.5, -1, Number.NaN, 2 ** 70, 5n));

function codeOf(fn: () => unknown): number | undefined {
  try {
    fn();
    return undefined;
  } catch (e) {
    if (!isPsycheError(e)) throw e;
    return e.code;
  }
}

describe('verify arguments of the wrong type or range', () => {
  it('witness index {toString: null} is VERIFY_WITNESS_INDEX_OUT_OF_RANGE (String() of it threw a TypeError)', () => {
    expect(codeOf(() => assertWitnessIndex({ toString: null }, 4))).toBe(VERIFY_WITNESS_INDEX_OUT_OF_RANGE);
    expect(codeOf(() => merkleProof([new Uint8Array(32)], { toString: null } as unknown as number))).toBe(VERIFY_MALFORMED_MERKLE_PROOF);
  });

  it('fuzz: any value as a witness index, Merkle leaf index or count, sparse k, or report step gives the coded error', () => {
    const leaves = [1, 2, 3].map((b) => new Uint8Array(32).fill(b));
    const proof = merkleProof(leaves, 1);
    const layout = { numChunks: 2, chunkElems: 4 };
    const bloom = createWitnessBloom({ expectedItems: 4, seed: 1n });
    const report = (step: unknown, witnessIndex: unknown) =>
      ({ step, witnessIndex, participantBloom: bloom, broadcastBloom: bloom, broadcastMerkleRoot: new Uint8Array(32) }) as unknown as WitnessReport;
    fc.assert(
      fc.property(hostile, (value) => {
        for (const [fn, code] of [
          [() => assertWitnessIndex(value, 4), VERIFY_WITNESS_INDEX_OUT_OF_RANGE],
          [() => merkleProof(leaves, value as number), VERIFY_MALFORMED_MERKLE_PROOF],
          [() => verifyMerkleProof(new Uint8Array(32), leaves[1]!, { ...proof, leafIndex: value } as MerkleProof), VERIFY_MALFORMED_MERKLE_PROOF],
          [() => encodeMerkleProof({ ...proof, leafCount: value } as MerkleProof), VERIFY_MALFORMED_MERKLE_PROOF],
          [() => sparseToDense({ layout, k: value, indices: new Uint32Array(0), values: new Float32Array(0) } as unknown as SparseSelection), VERIFY_MALFORMED_RESULT],
          [() => encodeWitnessReport(report(value, 0)), VERIFY_INVALID_PARAMETER],
          [() => encodeWitnessReport(report(1n, value)), VERIFY_WITNESS_INDEX_OUT_OF_RANGE],
        ] as const) {
          // Some values are valid (JSON's 1.0 or -0 as an index); the rest must be the coded error.
          const got = codeOf(fn);
          if (got !== undefined) expect(got).toBe(code);
        }
      }),
      { numRuns: Number(process.env.FUZZ_RUNS ?? 500) },
    );
  });
});
