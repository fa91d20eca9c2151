/**
 * The UDP receive thread (a Worker): owns the socket of src/ingest/socket.ts, copies datagrams into
 * batches and posts them to the main thread, so a flood never starves the HTTP API or timers and a
 * burst waits in memory instead of overflowing the kernel buffer.
 */
import { LOG_LEVELS, type Logger, type LogLevel } from "../log.ts";
import { startUdpIngest, type UdpIngest } from "./socket.ts";
import { BatchBuilder, transferables } from "./udp-batch.ts";
import { QUEUE_FULL, QUEUED_BYTES, type ThreadRequest, type ThreadStart } from "./udp-thread.ts";

declare const self: Worker;

let udp: UdpIngest | null = null;
let counters: Int32Array<ArrayBufferLike> = new Int32Array(2);
let flushScheduled = false;
let now = 0;
const batch = new BatchBuilder();

function post(message: unknown, transfer: ArrayBuffer[] = []): void {
  self.postMessage(message, transfer);
}

function flush(): void {
  flushScheduled = false;
  if (batch.count === 0) return;
  const out = batch.take();
  Atomics.add(counters, QUEUED_BYTES, out.data.byteLength);
  post(out, transferables(out));
}

async function start({ options, shared, maxQueuedBytes, logLevel }: ThreadStart): Promise<void> {
  counters = new Int32Array(shared);
  // Log lines go to the main thread's logger; `enabled` mirrors its level.
  const threshold = LOG_LEVELS.indexOf(logLevel);
  const forward = (level: LogLevel) => (msg: string, fields?: Record<string, unknown>) =>
    post({ type: "log", level, msg, fields });
  const log: Logger = {
    error: forward("error"),
    warn: forward("warn"),
    info: forward("info"),
    verbose: forward("verbose"),
    debug: forward("debug"),
    silly: forward("silly"),
    enabled: (level) => LOG_LEVELS.indexOf(level) <= threshold,
  };
  try {
    udp = await startUdpIngest({
      ...options,
      log,
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
          setImmediate(flush);
        }
      },
    });
  } catch (error) {
    post({ type: "failed", message: (error as Error).message });
    return;
  }
  post({ type: "listening", address: udp.address, port: udp.port, effective: udp.receiveBufferEffective });
  let listening = true;
  setInterval(() => {
    if (udp === null || udp.listening === listening) return;
    listening = udp.listening;
    post({ type: "state", listening, effective: udp.receiveBufferEffective });
  }, 250);
}

self.onmessage = async (event: MessageEvent<ThreadRequest>) => {
  const request = event.data;
  if (request.type === "start") await start(request);
  else if (request.type === "close") {
    await udp?.close();
    flush();
    post({ type: "closed" });
  }
};
