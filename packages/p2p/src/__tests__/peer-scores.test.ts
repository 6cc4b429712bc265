import { P2P_BLOB_HASH_MISMATCH, P2P_BLOB_NOT_FOUND, P2P_BLOB_STALLED, P2P_PROVIDER_UNREACHABLE, createRng } from '@psyche/core';
import { describe, expect, it } from 'vitest';
import { generateIdentity } from '../identity.ts';
import { PeerScores } from '../peer-scores.ts';

const peer = () => generateIdentity(createRng('peer-scores')).nodeId;

describe('PeerScores', () => {
  it('a peer that is only ever unreachable or missing a blob (left, restarting) is never banned, but ranks low', () => {
    const scores = new PeerScores();
    const p = peer();
    for (let i = 0; i < 1_000; i++) scores.penalize(p, i % 2 === 0 ? P2P_PROVIDER_UNREACHABLE : P2P_BLOB_NOT_FOUND);
    expect(scores.isBanned(p)).toBe(false);
    expect(scores.score(p)).toBe(scores.benignFloor);
    scores.reward(p);
    expect(scores.score(p)).toBe(scores.benignFloor + 1);
  });

  it('misbehaviour still bans, also on top of benign failures; benign failures never raise a score below the floor', () => {
    const scores = new PeerScores();
    const p = peer();
    for (let i = 0; i < 100; i++) scores.penalize(p, P2P_PROVIDER_UNREACHABLE);
    scores.penalize(p, P2P_BLOB_HASH_MISMATCH);
    expect(scores.isBanned(p)).toBe(true);
    const before = scores.score(p);
    scores.penalize(p, P2P_PROVIDER_UNREACHABLE);
    expect(scores.score(p)).toBe(before);
    const q = generateIdentity(createRng('another')).nodeId;
    for (let i = 0; i < 10; i++) scores.penalize(q, P2P_BLOB_STALLED);
    expect(scores.isBanned(q)).toBe(true);
  });
});
