/**
 * The bare-socket baseline of scripts/bench.ts: a node:dgram socket with an 8 MiB (or BYTES) recvBufferSize that
 * only counts datagrams. Run as its own process (like the compiled binary) and read over HTTP:
 * prints `{"udpPort":N,"httpPort":M}` and serves `GET /count` → `{received, first, last}` (ms).
 *
 *   bun scripts/bench/bare-receiver.ts [BYTES]
 */
import dgram from "node:dgram";

let received = 0;
let first = 0;
let last = 0;
const socket = dgram.createSocket({
  type: "udp4",
  recvBufferSize: Number(process.argv[2] ?? 8 * 1024 * 1024),
});
socket.on("message", () => {
  const t = performance.now();
  if (received === 0) first = t;
  last = t;
  received++;
});
socket.on("error", () => {});
await new Promise<void>((resolve) => socket.bind(0, "127.0.0.1", resolve));

const server = Bun.serve({
  hostname: "127.0.0.1",
  port: 0,
  fetch: () => Response.json({ received, first, last, recvBuffer: socket.getRecvBufferSize() }),
});
console.log(JSON.stringify({ udpPort: socket.address().port, httpPort: server.port }));

// Bounded lifetime: the bench kills it, and it exits on its own after 15 minutes regardless.
setTimeout(() => process.exit(0), 15 * 60_000);
process.on("SIGTERM", () => {
  socket.close();
  server.stop(true);
  process.exit(0);
});
