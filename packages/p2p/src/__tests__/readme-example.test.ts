import { expect, it } from 'vitest';
import {
  createLibp2pBlobStore,
  createLibp2pGossip,
  createP2pNode,
  generateIdentity,
  ticketFromString,
  ticketToString,
} from '../index.ts';

it('README example: announce a blob by gossip, fetch it by ticket', async () => {
  const alice = await createP2pNode({ identity: generateIdentity() });
  const bob = await createP2pNode({ identity: generateIdentity() });
  await bob.dial(alice.multiaddrs()[0]!);

  const members = [alice.nodeId, bob.nodeId];
  const aliceGossip = createLibp2pGossip(alice, 'my-run');
  const bobGossip = createLibp2pGossip(bob, 'my-run');
  aliceGossip.setMembers(members);
  bobGossip.setMembers(members);
  const aliceBlobs = await createLibp2pBlobStore(alice);
  const bobBlobs = await createLibp2pBlobStore(bob);

  const received = new Promise<Uint8Array>((resolve) => {
    bobGossip.onMessage(async (message) => {
      const ticket = ticketFromString(new TextDecoder().decode(message.payload));
      await bobBlobs.fetch(ticket);
      resolve(await bobBlobs.read(ticket.hash));
    });
  });

  for (let i = 0; i < 500 && alice.libp2p.services.pubsub.getSubscribers(aliceGossip.topic).length === 0; i++) {
    await new Promise((r) => setTimeout(r, 20));
  }
  const ticket = await aliceBlobs.add(new TextEncoder().encode('a DisTrO result, as bytes'));
  await aliceGossip.publish(new TextEncoder().encode(ticketToString(ticket)));

  expect(new TextDecoder().decode(await received)).toBe('a DisTrO result, as bytes');
  for (const s of [aliceGossip, bobGossip, aliceBlobs, bobBlobs]) await s.stop();
  await Promise.all([alice.stop(), bob.stop()]);
});
