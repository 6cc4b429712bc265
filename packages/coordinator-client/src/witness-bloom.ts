import { assertInteger, sha256 } from '@psyche/core';
import { createWitnessBloom } from '@psyche/verify';
import { currentRound, type RunAccount } from './run-account.ts';

/** The u64 seed of a round's witness filters: the round seed's first 8 bytes, little-endian (docs/verify.md). */
export function roundBloomSeed(roundSeed: Uint8Array): bigint {
  return new DataView(roundSeed.buffer, roundSeed.byteOffset, 8).getBigUint64(0, true);
}

/** What a participant filter holds for a client: SHA-256 of its 32-byte key (Psyche's participant_bloom). */
export function participantBloomItem(clientKey: Uint8Array): Uint8Array {
  return sha256(clientKey);
}

/** Client indices named by a list or set in a 256-bit bitmap (a 32-byte Uint8Array). */
function* indicesOf(participants: Iterable<number> | Uint8Array): Iterable<number> {
  if (!(participants instanceof Uint8Array)) {
    yield* participants;
    return;
  }
  for (let i = 0; i < participants.length * 8; i++) if ((participants[i >> 3]! >> (i & 7)) & 1) yield i;
}

/**
 * The participant filter a round witness submits with its vote (canonical encoding of
 * @psyche/verify's WitnessBloom): sized by bloomParameters(round clients, 1%), seeded by the round
 * seed, holding SHA-256(key) of every participant. The program rejects a witness whose filter has
 * another size or seed, or lacks a participant it votes for.
 */
export function participantBloom(account: RunAccount, participants: Iterable<number> | Uint8Array): Uint8Array {
  const round = currentRound(account);
  const filter = createWitnessBloom({ expectedItems: Math.max(1, round.numClients), seed: roundBloomSeed(round.seed) });
  for (const index of indicesOf(participants)) {
    // Indices beyond the round's clients have no key; the program rejects their bitmap bits first.
    if (assertInteger('participant', index, 0, 0xffff) < round.numClients) filter.add(participantBloomItem(account.clients[index]!.key));
  }
  return filter.encode();
}
