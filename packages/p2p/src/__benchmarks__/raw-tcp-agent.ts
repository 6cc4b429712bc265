/**
 * Raw node TCP reference for the blob benchmarks. `serve <port> <bytes> [host]`: sends `bytes` in
 * 1 MiB writes to each client then closes it (prints {"event":"listening","port"}). `fetch <host>
 * <port>`: reads to the end, prints {"bytes","ms"}. `serve-sealed <port> <bytes> <host> <keyHex>`:
 * the same bytes sealed as noise seals them (ChaCha20-Poly1305, node's native cipher, 65,519-byte
 * plaintexts, each frame a u16 big-endian length then ciphertext and tag, nonce = frame counter):
 * the least work any encrypted transport does, without handshake, multiplexing or flow control.
 */
import { connect, createServer } from 'node:net';
import type { Socket } from 'node:net';
import { createCipheriv } from 'node:crypto';

const [mode, a, b, host, keyHex] = process.argv.slice(2);
const CHUNK = new Uint8Array(1024 * 1024).fill(7);
/** Noise's largest message is 65,535 bytes, 16 of them the tag. */
const SEALED_PLAINTEXT = 65_535 - 16;
/** Frames per corked write, about 1 MiB, as the plain sender's writes. */
const FRAMES_PER_WRITE = 16;

function pumpPlain(socket: Socket, total: number): void {
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
}

function pumpSealed(socket: Socket, total: number, key: Buffer): void {
  let sent = 0;
  let counter = 0;
  const nonce = Buffer.alloc(12);
  const pump = () => {
    while (sent < total) {
      socket.cork();
      for (let f = 0; f < FRAMES_PER_WRITE && sent < total; f++) {
        const n = Math.min(SEALED_PLAINTEXT, total - sent);
        nonce.writeUInt32LE(counter++, 4);
        const cipher = createCipheriv('chacha20-poly1305', key, nonce, { authTagLength: 16 });
        const ciphertext = cipher.update(CHUNK.subarray(0, n));
        cipher.final();
        const header = Buffer.alloc(2);
        header.writeUInt16BE(n + 16);
        socket.write(header);
        socket.write(ciphertext);
        socket.write(cipher.getAuthTag());
        sent += n;
      }
      socket.uncork();
      if (socket.writableNeedDrain) {
        socket.once('drain', pump);
        return;
      }
    }
    socket.end();
  };
  pump();
}

if (mode === 'serve' || mode === 'serve-sealed') {
  const total = Number(b);
  const key = mode === 'serve-sealed' ? Buffer.from(keyHex!, 'hex') : undefined;
  const server = createServer((socket) => (key ? pumpSealed(socket, total, key) : pumpPlain(socket, total)));
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
