// The benchmark's servers, in their own process as in a real deployment (server and trainer are
// different machines): a static HTTP Range server and two TCP data servers (file order, shuffled)
// over one dataset directory, and a raw TCP sender (each connection gets every shard, read with
// readSync in 1 MiB chunks from a pool of 8 and written as is: no framing, no checks), what the network
// path moves with no provider on it. Reports its ports over IPC and runs until killed.
import { closeSync, openSync, readSync, readdirSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { join } from 'node:path';
import { openLocalProvider, startStaticHttpServer, startTcpDataServer } from '../index.ts';

const dir = process.argv[2]!;
const http = await startStaticHttpServer({ root: dir });
const contiguous = await startTcpDataServer({ provider: await openLocalProvider({ dir }), authorize: () => 'ok' });
const shuffled = await startTcpDataServer({ provider: await openLocalProvider({ dir, shuffleSeed: 1 }), authorize: () => 'ok' });
const shards = readdirSync(dir).filter((file) => file.endsWith('.bin')).sort().map((file) => join(dir, file));
// Chunks go back to a small pool when the socket has written them: fresh memory per chunk would
// measure page faults, not the network path.
const CHUNK_BYTES = 1 << 20;
const CHUNKS_PER_CONNECTION = 8;
const sendShards = (socket: Socket): void => {
  const free = Array.from({ length: CHUNKS_PER_CONNECTION }, () => Buffer.allocUnsafe(CHUNK_BYTES));
  let shard = 0;
  let fd = -1;
  let ended = false;
  const pump = (): void => {
    while (!ended && free.length > 0) {
      if (fd < 0) {
        if (shard === shards.length) {
          ended = true;
          return void socket.end();
        }
        fd = openSync(shards[shard++]!, 'r');
      }
      const chunk = free.pop()!;
      const n = readSync(fd, chunk, 0, chunk.length, null);
      if (n === 0) {
        free.push(chunk);
        closeSync(fd);
        fd = -1;
        continue;
      }
      socket.write(chunk.subarray(0, n), () => {
        free.push(chunk);
        pump();
      });
    }
  };
  socket.on('error', () => socket.destroy());
  socket.on('close', () => {
    ended = true;
    if (fd >= 0) closeSync(fd);
    fd = -1;
  });
  pump();
};
const raw = createServer(sendShards);
await new Promise<void>((resolve) => raw.listen(0, '127.0.0.1', resolve));
process.send?.({ httpUrl: http.url, tcpPort: contiguous.port, tcpShuffledPort: shuffled.port, rawTcpPort: (raw.address() as { port: number }).port });
process.on('SIGINT', () => process.exit(0));
