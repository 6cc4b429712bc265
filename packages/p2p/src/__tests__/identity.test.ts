import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ed from '@noble/ed25519';
import { CORE_INVALID_ARGUMENT, P2P_MALFORMED_KEY_FILE, P2P_MALFORMED_NODE_ID, createRng, isPsycheError, psycheErrorCodeOf, toHex } from '@psyche/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { HOSTILE_JSON_KEYS, hostileJsonText } from '../../../../scripts/hostile-json.ts';
import {
  generateIdentity,
  identityFromSecretKey,
  loadIdentity,
  loadOrCreateIdentity,
  saveIdentity,
  verifySignature,
} from '../identity.ts';
import { nodeIdFromString, nodeIdToString } from '../node-id.ts';
import type { NodeId } from '../node-id.ts';
import { identityToLibp2pKey, nodeIdToPeerId, peerIdToNodeId } from '../peer-id.ts';

describe('identity', () => {
  it('matches the @noble/ed25519 reference for keys and signatures, and RFC 8032 test 1', async () => {
    // RFC 8032 §7.1 TEST 1
    const rfc = identityFromSecretKey(Buffer.from('9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60', 'hex'));
    expect(nodeIdToString(rfc.nodeId)).toBe('d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a');
    expect(toHex(rfc.sign(new Uint8Array()))).toBe(
      'e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b',
    );
    const rng = createRng(7);
    for (let i = 0; i < 20; i++) {
      const identity = generateIdentity(rng);
      const message = new Uint8Array(i * 13).map((_, j) => (j * 31 + i) & 255);
      expect(toHex(await ed.getPublicKeyAsync(identity.secretKey))).toBe(toHex(identity.nodeId));
      const signature = identity.sign(message);
      expect(toHex(await ed.signAsync(message, identity.secretKey))).toBe(toHex(signature));
      expect(verifySignature(identity.nodeId, message, signature)).toBe(true);
      expect(await ed.verifyAsync(signature, message, identity.nodeId)).toBe(true);
      const tampered = Uint8Array.from(signature);
      tampered[i % 64] = tampered[i % 64]! ^ 1;
      expect(verifySignature(identity.nodeId, message, tampered)).toBe(false);
    }
  });

  it('a secret key that is not 32 bytes is CORE_INVALID_ARGUMENT, whatever its length is; verifySignature is false for non-bytes', () => {
    // The old check was a TypeError whose message ran String() on the length: {toString: null} threw another one.
    const hostile = [{ toString: null }, Symbol('s'), null, Object.create(null), { length: { toString: null } }, { length: Symbol('s') }, new Uint8Array(31), [...new Uint8Array(32)]] as unknown[];
    for (const bad of hostile) expect(psycheErrorCodeOf(() => identityFromSecretKey(bad as Uint8Array))).toBe(CORE_INVALID_ARGUMENT);
    const id = generateIdentity(createRng(3));
    const signature = id.sign(Uint8Array.of(1));
    expect(verifySignature(id.nodeId, Uint8Array.of(1), signature)).toBe(true);
    for (const bad of hostile) {
      expect(verifySignature(bad as NodeId, Uint8Array.of(1), signature)).toBe(false);
      expect(verifySignature(id.nodeId, Uint8Array.of(1), bad as Uint8Array)).toBe(false);
      expect(verifySignature(id.nodeId, bad as Uint8Array, signature)).toBe(false);
    }
  });

  it('has one text encoding of node ids and maps losslessly to libp2p peer ids', () => {
    const identity = generateIdentity(createRng(1));
    const text = nodeIdToString(identity.nodeId);
    expect(text).toMatch(/^[0-9a-f]{64}$/);
    expect(nodeIdToString(nodeIdFromString(text.toUpperCase()))).toBe(text);
    for (const bad of ['', 'zz'.repeat(32), 'ab'.repeat(31)]) {
      expect(() => nodeIdFromString(bad)).toThrow(expect.objectContaining({ code: P2P_MALFORMED_NODE_ID }));
    }
    const peerId = nodeIdToPeerId(identity.nodeId);
    expect(peerId.type).toBe('Ed25519');
    expect(peerId.toString()).toBe(nodeIdToPeerId(identity.nodeId as NodeId).toString());
    expect(nodeIdToString(peerIdToNodeId(peerId.toString()))).toBe(text);
    expect(identityToLibp2pKey(identity).publicKey.toString()).toBe(peerId.toString());
  });

  it('saves key files with owner-only permissions and loads them back', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'psyche-p2p-key-'));
    try {
      const path = join(dir, 'nested', 'node.key');
      const created = await loadOrCreateIdentity(path);
      expect((await stat(path)).mode & 0o777).toBe(0o600);
      expect((await stat(join(dir, 'nested'))).mode & 0o077).toBe(0);
      const loaded = await loadOrCreateIdentity(path);
      expect(nodeIdToString(loaded.nodeId)).toBe(nodeIdToString(created.nodeId));
      await saveIdentity(generateIdentity(), path);
      expect((await stat(path)).mode & 0o777).toBe(0o600);
      const content = JSON.parse(await readFile(path, 'utf8'));
      await writeFile(path, JSON.stringify({ ...content, nodeId: 'ab'.repeat(32) }));
      await expect(loadIdentity(path)).rejects.toSatisfy((e) => isPsycheError(e, P2P_MALFORMED_KEY_FILE));
      await writeFile(path, 'not json');
      await expect(loadIdentity(path)).rejects.toSatisfy((e) => isPsycheError(e, P2P_MALFORMED_KEY_FILE));
      // A valid key padded past 4 KiB, and an endless file, are refused without being read whole.
      await writeFile(path, JSON.stringify(content) + ' '.repeat(5000));
      await expect(loadIdentity(path)).rejects.toSatisfy((e) => isPsycheError(e, P2P_MALFORMED_KEY_FILE));
      await expect(loadIdentity('/dev/zero')).rejects.toSatisfy((e) => isPsycheError(e, P2P_MALFORMED_KEY_FILE));
      // A missing file is still ENOENT (loadOrCreateIdentity creates one then).
      await expect(loadIdentity(join(dir, 'absent.key'))).rejects.toSatisfy((e) => (e as NodeJS.ErrnoException).code === 'ENOENT');
      await writeFile(path, JSON.stringify(content));
      expect(nodeIdToString((await loadIdentity(path)).nodeId)).toBe(content.nodeId);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('a key file whose nodeId is {"toString": null} is P2P_MALFORMED_KEY_FILE, not the TypeError String() of it threw', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'psyche-p2p-key-'));
    try {
      const path = join(dir, 'node.key');
      await saveIdentity(generateIdentity(createRng(5)), path);
      const content = JSON.parse(await readFile(path, 'utf8')) as Record<string, unknown>;
      for (const nodeId of ['{"toString": null}', '[{"toString": null}]', '{"toString": {}, "valueOf": {}}', '7']) {
        await writeFile(path, `{"type": "ed25519", "secretKey": ${JSON.stringify(content['secretKey'])}, "nodeId": ${nodeId}}`);
        await expect(loadIdentity(path), nodeId).rejects.toSatisfy((e) => isPsycheError(e, P2P_MALFORMED_KEY_FILE));
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('fuzz: any JSON in any key-file field gives the saved identity back or P2P_MALFORMED_KEY_FILE', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'psyche-p2p-key-'));
    try {
      const path = join(dir, 'node.key');
      const identity = generateIdentity(createRng(6));
      await saveIdentity(identity, path);
      const content = JSON.parse(await readFile(path, 'utf8')) as Record<string, unknown>;
      const field = fc.oneof({ arbitrary: fc.constantFrom('type', 'secretKey', 'nodeId'), weight: 3 }, { arbitrary: fc.constantFrom(...HOSTILE_JSON_KEYS), weight: 1 });
      await fc.assert(
        fc.asyncProperty(fc.array(fc.tuple(field, hostileJsonText()), { minLength: 1, maxLength: 3 }), async (edits) => {
          // Written as text: a "__proto__" field then arrives as JSON.parse makes it, an own key.
          const fields = new Map(Object.entries(content).map(([k, v]) => [k, JSON.stringify(v)]));
          for (const [k, v] of edits) fields.set(k, v);
          await writeFile(path, `{${[...fields].map(([k, v]) => `${JSON.stringify(k)}:${v}`).join(',')}}`);
          let loaded;
          try {
            loaded = await loadIdentity(path);
          } catch (e) {
            expect(isPsycheError(e, P2P_MALFORMED_KEY_FILE), String(e)).toBe(true);
            return;
          }
          expect(toHex(loaded.secretKey)).toBe(toHex(identity.secretKey));
        }),
        { numRuns: 200 },
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
