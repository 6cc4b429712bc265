// npm run localnet -w @psyche/coordinator-client -- [--port 8899] [--state .localnet/state.bin]
// The embedded localnet: LiteSVM + the coordinator program on 127.0.0.1, JSON-RPC and WebSocket on one port.
import { parseArgs } from 'node:util';
import { startLocalnet } from '../localnet.ts';

const { values } = parseArgs({
  options: {
    port: { type: 'string', default: '8899' },
    host: { type: 'string', default: '127.0.0.1' },
    state: { type: 'string', default: '.localnet/state.bin' },
  },
});
const localnet = await startLocalnet({ host: values.host, port: Number(values.port), statePath: values.state });
console.log(`psyche localnet: rpc ${localnet.url}  ws ${localnet.wsUrl}  program ${localnet.programAddress}  state ${values.state}`);
const stop = async (): Promise<void> => {
  await localnet.stop();
  process.exit(0);
};
process.once('SIGINT', () => void stop());
process.once('SIGTERM', () => void stop());
