/**
 * Runs a circuit relay v2 server with limits suited to multi-MB blobs.
 *
 *   npm run relay -w @psyche/p2p -- --key relay.key --listen /ip4/0.0.0.0/tcp/4001
 *
 * Options: --key <file> (created with mode 0600 if missing), --listen <multiaddr> (repeatable;
 * default /ip4/0.0.0.0/tcp/4001), --max-reservations <n> (default 128).
 * Prints one JSON line {"nodeId","peerId","multiaddrs"} once listening; stops on SIGINT/SIGTERM.
 */
import { parseArgs } from 'node:util';
import { createRelayNode, generateIdentity, loadOrCreateIdentity, nodeIdToString } from '../src/index.ts';

const { values } = parseArgs({
  options: {
    key: { type: 'string' },
    listen: { type: 'string', multiple: true },
    'max-reservations': { type: 'string' },
  },
});

const identity = values.key === undefined ? generateIdentity() : await loadOrCreateIdentity(values.key);
const relay = await createRelayNode({
  identity,
  ...(values.listen === undefined ? {} : { listen: values.listen }),
  ...(values['max-reservations'] === undefined ? {} : { maxReservations: Number(values['max-reservations']) }),
});
process.stdout.write(
  `${JSON.stringify({ nodeId: nodeIdToString(relay.nodeId), peerId: relay.peerId.toString(), multiaddrs: relay.multiaddrs() })}\n`,
);
const shutdown = () => {
  relay.stop().finally(() => process.exit(0));
};
process.once('SIGINT', shutdown);
process.once('SIGTERM', shutdown);
