import fc from 'fast-check';
import { isPsycheError, sha256, VERIFY_INVALID_PARAMETER, VERIFY_MALFORMED_BLOOM, VERIFY_MALFORMED_WITNESS_REPORT, VERIFY_WITNESS_INDEX_OUT_OF_RANGE } from '@psyche/core';
import { describe, expect, it } from 'vitest';
import {
  createWitnessBloom,
  decodeWitnessReport,
  encodeWitnessReport,
  isParticipantHealthy,
  merkleRoot,
  participantItem,
  signingKeyFromSecret,
  type WitnessReport,
} from '../index.ts';

const clients = [1, 2, 3, 4].map((i) => signingKeyFromSecret(new Uint8Array(32).fill(i)));

function report(witnessIndex: number, seen: readonly Uint8Array[]): WitnessReport {
  const participantBloom = createWitnessBloom({ expectedItems: 16, seed: 5n });
  for (const key of seen) participantBloom.add(participantItem(key));
  const hashes = seen.map((key) => sha256(key)).sort(Buffer.compare);
  const broadcastBloom = createWitnessBloom({ expectedItems: 16, seed: 5n });
  for (const hash of hashes) broadcastBloom.add(hash);
  return { step: 12n, witnessIndex, participantBloom, broadcastBloom, broadcastMerkleRoot: merkleRoot(hashes) };
}

describe('witness reports', () => {
  it('encode and decode to the same report', () => {
    const original = report(2, clients.map((c) => c.publicKey));
    const bytes = encodeWitnessReport(original);
    const decoded = decodeWitnessReport(bytes, { witnessCount: 3 });
    expect(decoded.step).toBe(12n);
    expect(decoded.witnessIndex).toBe(2);
    expect(decoded.broadcastMerkleRoot).toEqual(original.broadcastMerkleRoot);
    expect(decoded.participantBloom.encode()).toEqual(original.participantBloom.encode());
    expect(encodeWitnessReport(decoded)).toEqual(bytes);
  });

  it('rejects an index outside this round\'s witnesses before using anything else', () => {
    const bytes = encodeWitnessReport(report(5, []));
    expect(() => decodeWitnessReport(bytes, { witnessCount: 5 })).toThrowError(expect.objectContaining({ code: VERIFY_WITNESS_INDEX_OUT_OF_RANGE }));
    const maxIndex = Uint8Array.from(bytes);
    maxIndex[9] = 0xff;
    maxIndex[10] = 0xff;
    expect(() => decodeWitnessReport(maxIndex, { witnessCount: 32 })).toThrowError(expect.objectContaining({ code: VERIFY_WITNESS_INDEX_OUT_OF_RANGE }));
  });

  it('bounds filter lengths and rejects truncated or trailing bytes', () => {
    const bytes = encodeWitnessReport(report(0, []));
    expect(() => decodeWitnessReport(bytes, { witnessCount: 1, maxBloomBytes: 10 })).toThrowError(expect.objectContaining({ code: VERIFY_MALFORMED_WITNESS_REPORT }));
    expect(() => decodeWitnessReport(bytes.subarray(0, bytes.length - 1), { witnessCount: 1 })).toThrowError(expect.objectContaining({ code: VERIFY_MALFORMED_WITNESS_REPORT }));
    expect(() => decodeWitnessReport(Uint8Array.of(...bytes, 0), { witnessCount: 1 })).toThrowError(expect.objectContaining({ code: VERIFY_MALFORMED_WITNESS_REPORT }));
  });

  it('a NaN, missing or fractional witnessCount or bloom limit is VERIFY_INVALID_PARAMETER (it used to accept any index)', () => {
    const bytes = encodeWitnessReport(report(3, clients.slice(0, 1).map((c) => c.publicKey)));
    for (const limits of [{ witnessCount: Number.NaN }, {} as { witnessCount: number }, { witnessCount: 2.5 }, { witnessCount: 0 }, { witnessCount: 4, maxBloomBytes: Number.NaN }, { witnessCount: 4, maxBloomBytes: -1 }]) {
      expect(() => decodeWitnessReport(bytes, limits)).toThrowError(expect.objectContaining({ code: VERIFY_INVALID_PARAMETER }));
    }
    expect(decodeWitnessReport(bytes, { witnessCount: 4 }).witnessIndex).toBe(3);
    expect(() => decodeWitnessReport(bytes, { witnessCount: 3 })).toThrowError(expect.objectContaining({ code: VERIFY_WITNESS_INDEX_OUT_OF_RANGE }));
    expect(() => isParticipantHealthy(clients[0]!.publicKey, [decodeWitnessReport(bytes, { witnessCount: 4 })], Number.NaN)).toThrowError(expect.objectContaining({ code: VERIFY_INVALID_PARAMETER }));
  });

  it('hostile bytes give a coded error or a report that re-encodes identically (fuzz)', () => {
    const valid = encodeWitnessReport(report(1, clients.slice(0, 2).map((c) => c.publicKey)));
    const codes = [VERIFY_MALFORMED_WITNESS_REPORT, VERIFY_MALFORMED_BLOOM, VERIFY_WITNESS_INDEX_OUT_OF_RANGE] as const;
    fc.assert(
      fc.property(
        fc.oneof(
          fc.uint8Array({ maxLength: 120 }),
          fc.nat(valid.length).map((n) => valid.subarray(0, n)),
          fc.tuple(fc.nat(valid.length - 1), fc.nat(255)).map(([at, v]) => Uint8Array.from(valid, (b, i) => (i === at ? v : b))),
        ),
        (bytes) => {
          try {
            expect(encodeWitnessReport(decodeWitnessReport(bytes, { witnessCount: 4 }))).toEqual(bytes);
          } catch (e) {
            if (!codes.some((code) => isPsycheError(e, code))) throw e;
          }
        },
      ),
      { numRuns: 3000 },
    );
  });

  it("applies Psyche's health rule: in the participant filters of at least a quorum of witnesses", () => {
    const [a, b] = clients as [(typeof clients)[0], (typeof clients)[0]];
    const reports = [report(0, [a.publicKey, b.publicKey]), report(1, [a.publicKey]), report(2, [a.publicKey]), report(3, [])];
    expect(isParticipantHealthy(a.publicKey, reports, 4)).toBe(true); // 3 of 4, quorum 2
    expect(isParticipantHealthy(b.publicKey, reports, 4)).toBe(false); // 1 of 4
    expect(() => isParticipantHealthy(a.publicKey, [reports[0]!, reports[0]!], 4)).toThrowError(expect.objectContaining({ code: VERIFY_INVALID_PARAMETER }));
    expect(() => isParticipantHealthy(a.publicKey, reports, 3)).toThrowError(expect.objectContaining({ code: VERIFY_WITNESS_INDEX_OUT_OF_RANGE }));
  });
});
