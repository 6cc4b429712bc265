import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createRng, toHex } from '@psyche/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateIdentity, saveIdentity } from '../identity.ts';
import { nodeIdToString } from '../node-id.ts';
import { nodeIdToPeerId } from '../peer-id.ts';
import { Agent, Namespaces, PACKAGE_DIR } from './netns-internal.ts';

/*
 * Two peers, each behind its own MASQUERADE NAT, and a relay the NATs can reach:
 *
 *   [a 10.77.1.2] -- [10.77.1.1 natA 10.77.10.2] -- [10.77.10.1 relay 10.77.20.1] -- [10.77.20.2 natB 10.77.2.1] -- [10.77.2.2 b]
 *
 * The relay namespace does not forward, so a and b can only talk through the relay process.
 */
const namespaces = new Namespaces('nat');
const skipReason = process.getuid?.() === 0 ? namespaces.probe() : 'needs root for ip netns';
if (skipReason !== undefined) console.warn(`netns NAT test skipped: ${skipReason}`);

describe.skipIf(skipReason !== undefined)('NAT traversal through a circuit relay in network namespaces', () => {
  const agents: Agent[] = [];
  let keyDir = '';

  beforeAll(async () => {
    keyDir = await mkdtemp(join(tmpdir(), 'psyche-netns-'));
  });

  afterAll(async () => {
    for (const agent of agents) agent.kill();
    namespaces.destroy();
    await rm(keyDir, { recursive: true, force: true });
  });

  it('carries gossip and an 8 MiB blob between two NATed peers via the relay', async () => {
    const a = namespaces.add('a');
    const natA = namespaces.add('na');
    const relay = namespaces.add('r');
    const natB = namespaces.add('nb');
    const b = namespaces.add('b');
    namespaces.link(a, 'eth0', '10.77.1.2/24', natA, 'in0', '10.77.1.1/24');
    namespaces.link(natA, 'out0', '10.77.10.2/24', relay, 'ra0', '10.77.10.1/24');
    namespaces.link(relay, 'rb0', '10.77.20.1/24', natB, 'out0', '10.77.20.2/24');
    namespaces.link(natB, 'in0', '10.77.2.1/24', b, 'eth0', '10.77.2.2/24');
    for (const [peer, gateway] of [[a, '10.77.1.1'], [b, '10.77.2.1']] as const) {
      namespaces.exec(peer, ['ip', 'route', 'add', 'default', 'via', gateway]);
    }
    for (const [nat, upstream] of [[natA, '10.77.10.1'], [natB, '10.77.20.1']] as const) {
      namespaces.exec(nat, ['ip', 'route', 'add', 'default', 'via', upstream]);
      namespaces.exec(nat, ['sysctl', '-qw', 'net.ipv4.ip_forward=1']);
      namespaces.exec(nat, ['iptables', '-t', 'nat', '-A', 'POSTROUTING', '-o', 'out0', '-j', 'MASQUERADE']);
      // Like a home router: nothing from outside may open a connection inward.
      namespaces.exec(nat, ['iptables', '-A', 'FORWARD', '-i', 'out0', '-m', 'conntrack', '--ctstate', 'NEW', '-j', 'DROP']);
    }

    const relayIdentity = generateIdentity(createRng('relay'));
    await saveIdentity(relayIdentity, join(keyDir, 'relay.key'));
    const relayPeer = nodeIdToPeerId(relayIdentity.nodeId).toString();
    const relayAgent = new Agent(relay, resolve(PACKAGE_DIR, 'bin/relay.ts'), [
      '--key', join(keyDir, 'relay.key'), '--listen', '/ip4/0.0.0.0/tcp/4001',
    ]);
    agents.push(relayAgent);
    await relayAgent.waitFor((e) => Array.isArray(e.multiaddrs), 20_000, 'relay start');

    const [idA, idB] = [generateIdentity(createRng('a')), generateIdentity(createRng('b'))];
    const members = [nodeIdToString(idA.nodeId), nodeIdToString(idB.nodeId)];
    const agentScript = resolve(PACKAGE_DIR, 'src/__tests__/netns-agent.ts');
    const start = (ns: string, secret: Uint8Array, relayAddr: string, listen: string) => {
      const agent = new Agent(ns, agentScript, [
        JSON.stringify({ secretKey: toHex(secret), listen: [listen], relays: [`${relayAddr}/p2p/${relayPeer}`], runId: 'netns-run' }),
      ]);
      agents.push(agent);
      return agent;
    };
    const peerA = start(a, idA.secretKey, '/ip4/10.77.10.1/tcp/4001', '/ip4/10.77.1.2/tcp/0');
    const peerB = start(b, idB.secretKey, '/ip4/10.77.20.1/tcp/4001', '/ip4/10.77.2.2/tcp/0');
    const readyA = await peerA.waitFor((e) => e.event === 'ready', 30_000, 'peer a ready');
    await peerB.waitFor((e) => e.event === 'ready', 30_000, 'peer b ready');
    const circuitA = (readyA.addrs as string[]).find((addr) => addr.includes('/p2p-circuit'));
    expect(circuitA, `a has a relayed address: ${JSON.stringify(readyA.addrs)}`).toBeDefined();

    for (const peer of [peerA, peerB]) await peer.request({ cmd: 'members', members });
    const dialed = await peerB.request({ cmd: 'dial', addr: circuitA });
    // b reaches a only through the relay: a circuit connection, none to a's private address.
    const connections = dialed.connections as string[];
    expect(connections.some((addr) => addr.includes('/p2p-circuit')), JSON.stringify(connections)).toBe(true);
    expect(connections.some((addr) => addr.startsWith('/ip4/10.77.1.')), JSON.stringify(connections)).toBe(false);
    await peerA.request({ cmd: 'waitSubscribers', count: 1 });
    await peerB.request({ cmd: 'waitSubscribers', count: 1 });

    await peerA.request({ cmd: 'publish', text: 'hello from behind NAT a' });
    const heard = await peerB.waitFor((e) => e.event === 'gossip', 15_000, 'gossip at b');
    expect(heard.text).toBe('hello from behind NAT a');
    expect(heard.sender).toBe(members[0]);

    const { ticket } = await peerA.request({ cmd: 'add', size: 8 * 1024 * 1024 });
    const fetched = await peerB.request({ cmd: 'fetch', ticket, timeoutMs: 30_000 }, 35_000);
    expect(fetched.verified).toBe(true);
    expect(fetched.size).toBe(8 * 1024 * 1024);
    expect(fetched.provider).toBe(members[0]);
    console.info(`netns: 8 MiB via relay in ${Number(fetched.ms).toFixed(0)} ms`);
  }, 55_000);
});
