// The benchmark's servers, in their own process as in a real deployment (server and trainer are
// different machines): a static HTTP Range server and two TCP data servers (file order, shuffled)
// over one dataset directory. Reports its ports over IPC and runs until killed.
import { openLocalProvider, startStaticHttpServer, startTcpDataServer } from '../index.ts';

const dir = process.argv[2]!;
const http = await startStaticHttpServer({ root: dir });
const contiguous = await startTcpDataServer({ provider: await openLocalProvider({ dir }), authorize: () => 'ok' });
const shuffled = await startTcpDataServer({ provider: await openLocalProvider({ dir, shuffleSeed: 1 }), authorize: () => 'ok' });
process.send?.({ httpUrl: http.url, tcpPort: contiguous.port, tcpShuffledPort: shuffled.port });
process.on('SIGINT', () => process.exit(0));
