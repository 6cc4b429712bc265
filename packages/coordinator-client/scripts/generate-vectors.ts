// Writes test-vectors/selection.json: answers of the deterministic helpers for fixed inputs. Both
// the TypeScript helpers and the on-chain program are tested against this file
// (src/__tests__/selection-vectors.test.ts). Regenerate only on a deliberate protocol change.
import { writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { sha256, swapOrNotIndex, toHex, utf8Encode } from '@psyche/core';
import { dataAssignment, globalBatchForStep, isWitness, nextSeed, witnessQuorum } from '../src/selection.ts';

const seed = (i: number): Uint8Array => sha256(utf8Encode(`psyche selection vector ${i}`));
const shuffle = [1, 2, 3, 5, 32, 100, 255, 256, 257, 1000, 65536].flatMap((count, i) =>
  [0, Math.floor(count / 2), count - 1].map((index) => ({ seed: toHex(seed(i)), count, index, result: swapOrNotIndex(index, count, seed(i)) })),
);
const quorum = Array.from({ length: 41 }, (_, n) => ({ witnesses: n, quorum: witnessQuorum(n) }));
const ramp = { globalBatchStart: 16, globalBatchEnd: 48, batchRampSteps: 4n };
const batches = [1n, 2n, 3n, 4n, 5n, 100n].map((step) => ({ step: Number(step), globalBatch: globalBatchForStep(ramp, step) }));
const round = { seed: seed(99), numClients: 7, globalBatch: 50, dataIndex: 1000n };
const assignments = Array.from({ length: 7 }, (_, index) => {
  const { start, end } = dataAssignment(round, index);
  return { index, start: Number(start), end: Number(end), witness: isWitness(index, 7, 3, round.seed) };
});
const seeds = [{ seed: toHex(seed(1)), mix: toHex(seed(2)), step: 7, next: toHex(nextSeed(seed(1), seed(2), 7n)) }];
const out = resolve(dirname(fileURLToPath(import.meta.url)), '../test-vectors/selection.json');
writeFileSync(out, `${JSON.stringify({ shuffle, quorum, ramp: { ...ramp, batchRampSteps: 4 }, batches, round: { seed: toHex(round.seed), numClients: 7, globalBatch: 50, dataIndex: 1000, witnessExpected: 3 }, assignments, seeds }, null, 1)}\n`);
console.log(`wrote ${out}`);
