/**
 * Raw node TCP reference for the blob benchmarks. `serve <port> <bytes> [host]`: sends `bytes` in
 * 1 MiB writes to each client then closes it (prints {"event":"listening","port"}). `fetch <host>
 * <port>`: reads to the end, prints {"bytes","ms"}.
 */
import { connect, createServer } from 'node:net';

const [mode, a, b, host] = process.argv.slice(2);
const CHUNK = new Uint8Array(1024 * 1024).fill(7);

if (mode === 'serve') {
  const total = Number(b);
  const server = createServer((socket) => {
    let sent = 0;
    const pump = () => {
      while (sent < total) {
        const n = Math.min(CHUNK.length, total - sent);
        sent += n;
        if (!socket.write(CHUNK.subarray(0, n))) {
          socket.once('drain', pump);
          return;
        }
      }
      socket.end();
    };
    pump();
  });
  server.listen(Number(a), host ?? '0.0.0.0', () => {
    const { port } = server.address() as { port: number };
    process.stdout.write(`${JSON.stringify({ event: 'listening', port })}\n`);
  });
} else {
  const started = performance.now();
  let bytes = 0;
  const socket = connect(Number(b), a!);
  socket.on('data', (d) => {
    bytes += d.length;
  });
  socket.on('end', () => {
    process.stdout.write(`${JSON.stringify({ event: 'fetched', bytes, ms: performance.now() - started })}\n`);
    process.exit(0);
  });
}
