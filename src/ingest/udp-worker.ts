/**
 * The UDP receive thread (a Worker): owns the socket (src/ingest/udp-socket.ts), copies datagrams
 * into batches and posts them to the main thread, so a flood never starves the HTTP API or timers
 * and a burst waits in memory instead of overflowing the kernel buffer. It reports its state as
 * events and never restarts anything itself: src/ingest/udp-supervisor.ts decides.
 */
import { LOG_LEVELS, type Logger, type LogLevel } from "../log.ts";
import { errorCode } from "../net.ts";
import { BatchBuilder, transferables } from "./udp-batch.ts";
import { type BoundUdpSocket, bindUdpSocket } from "./udp-socket.ts";
import {
  QUEUE_FULL,
  QUEUED_BYTES,
  type ThreadEvent,
  type ThreadRequest,
  type ThreadStart,
} from "./udp-supervisor.ts";

declare const self: Worker;

/**
 * How long a batch may wait for more datagrams before it is posted (a full batch goes at once). Posting on
 * the next turn instead sent batches of 2–9 datagrams at 10,000–40,000/s, and the ~5,000 posts a second cost
 * more CPU on both threads than the datagrams themselves (docs/benchmarks.md, "End to end (session 3)").
 */
const FLUSH_DELAY_MS = 1;

let socket: BoundUdpSocket | null = null;
let counters: Int32Array<ArrayBufferLike> = new Int32Array(2);
let flushScheduled = false;
let now = 0;
const batch = new BatchBuilder();

function post(message: ThreadEvent, transfer: ArrayBuffer[] = []): void {
  self.postMessage(message, transfer);
}

function flush(): void {
  flushScheduled = false;
  if (batch.count === 0) return;
  const out = batch.take();
  Atomics.add(counters, QUEUED_BYTES, out.data.byteLength);
  post(out, transferables(out));
}

/** A logger whose lines are written by the main thread's logger; `enabled` mirrors its level. */
function forwardingLogger(level: LogLevel): Logger {
  const threshold = LOG_LEVELS.indexOf(level);
  const forward = (at: LogLevel) => (msg: string, fields?: Record<string, unknown>) =>
    post({ type: "log", level: at, msg, fields });
  return {
    error: forward("error"),
    warn: forward("warn"),
    info: forward("info"),
    verbose: forward("verbose"),
    debug: forward("debug"),
    silly: forward("silly"),
    enabled: (at) => LOG_LEVELS.indexOf(at) <= threshold,
  };
}

async function start({ socket: options, shared, maxQueuedBytes, logLevel }: ThreadStart): Promise<void> {
  counters = new Int32Array(shared);
  try {
    socket = await bindUdpSocket({
      ...options,
      log: forwardingLogger(logLevel),
      onDatagram(msg, address, port) {
        // Bounded: past maxQueuedBytes not yet taken by the main thread, datagrams are dropped and counted.
        if (Atomics.load(counters, QUEUED_BYTES) + batch.bytes + msg.byteLength > maxQueuedBytes) {
          Atomics.add(counters, QUEUE_FULL, 1);
          return;
        }
        if (batch.full(msg.byteLength, address)) flush();
        // One clock read per 16 datagrams: a flood reads them within microseconds of each other.
        if ((batch.count & 15) === 0) now = Date.now();
        batch.add(msg, address, port, now);
        if (!flushScheduled) {
          flushScheduled = true;
          setTimeout(flush, FLUSH_DELAY_MS);
        }
      },
      onError(error) {
        // What was received before the error is handed over first.
        flush();
        post({ type: "socket-error", message: errorCode(error) });
      },
    });
  } catch (error) {
    post({ type: "failed", message: (error as Error).message });
    return;
  }
  post({
    type: "listening",
    address: socket.address,
    port: socket.port,
    effective: socket.receiveBufferEffective,
  });
}

self.onmessage = async (event: MessageEvent<ThreadRequest>) => {
  const request = event.data;
  if (request.type === "start") await start(request);
  else if (request.type === "close") {
    await socket?.close();
    flush();
    post({ type: "closed" });
  }
};
