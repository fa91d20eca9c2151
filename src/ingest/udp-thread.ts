import type { LogLevel } from "../log.ts";
import { UDP_WORKER_URL } from "../workers.ts";
import type { UdpIngest, UdpIngestOptions } from "./socket.ts";
import type { DatagramBatch } from "./udp-batch.ts";

/** Slot of the shared counters holding bytes posted by the receive thread and not yet processed. */
export const QUEUED_BYTES = 0;
/** Slot of the shared counters holding datagrams dropped because that backlog was full. */
export const QUEUE_FULL = 1;

/** The first message to the receive thread. */
export interface ThreadStart {
  type: "start";
  options: Omit<UdpIngestOptions, "onDatagram" | "log" | "createSocket">;
  shared: SharedArrayBuffer;
  maxQueuedBytes: number;
  /** The main logger's level, so the thread skips what would not be written. */
  logLevel: LogLevel;
}

/** Messages to the receive thread. */
export type ThreadRequest = ThreadStart | { type: "close" };

type ThreadMessage =
  | DatagramBatch
  | { type: "log"; level: LogLevel; msg: string; fields?: Record<string, unknown> }
  | { type: "listening"; address: string; port: number; effective: number | null }
  | { type: "state"; listening: boolean; effective: number | null }
  | { type: "failed"; message: string }
  | { type: "closed" };

/** Longest run of datagram processing before the event loop gets a turn. */
const SLICE_MS = 4;
/** How long close() waits for the thread to confirm. */
const CLOSE_TIMEOUT_MS = 2000;

const EMPTY: DatagramBatch = {
  type: "batch",
  count: 0,
  data: new Uint8Array(0),
  ends: new Uint32Array(0),
  ports: new Uint16Array(0),
  times: new Float64Array(0),
  senders: new Uint8Array(0),
  addresses: [],
};

/** Options for {@link startUdpThread}. */
export interface UdpThreadOptions extends Omit<UdpIngestOptions, "onDatagram" | "createSocket"> {
  /** Called on the main thread for each datagram, with its receive time (epoch ms). */
  onDatagram: (msg: Uint8Array, address: string, port: number, receivedAtMs: number) => void;
  /** Bytes of received datagrams the main thread may fall behind by before new ones are dropped. @default 64 MiB */
  maxQueuedBytes?: number;
  /** Level of `log`, passed to the thread. @default "info" */
  logLevel?: LogLevel;
  /** Script of the receive thread (tests inject one that fails). @default src/ingest/udp-worker.ts */
  workerUrl?: string;
}

/** A UDP listener whose socket runs on its own thread. */
export interface UdpThread extends UdpIngest {
  /** Datagrams dropped because the main thread fell `maxQueuedBytes` behind. */
  readonly queueFull: number;
  /** Bytes received and not processed yet. */
  readonly queuedBytes: number;
}

/**
 * Binds the user-events listener on a receive thread (spec §8.1): datagrams arrive on the main
 * thread in batches through `onDatagram`, so receiving never waits for processing. Rejects like
 * `startUdpIngest` when the address cannot be bound.
 */
export function startUdpThread(options: UdpThreadOptions): Promise<UdpThread> {
  const { log, onDatagram } = options;
  const shared = new SharedArrayBuffer(8);
  const counters = new Int32Array(shared);
  const restartDelayMs = options.rebindDelayMs ?? 5000;
  let worker: Worker;
  let address = "";
  let port = 0;
  let listening = false;
  let effective: number | null = null;
  let onClosed: (() => void) | null = null;
  let closing: Promise<void> | null = null;
  // Batches wait here and are processed a few milliseconds at a time, with a setImmediate between
  // slices, so HTTP requests and timers get their turn even when the thread delivers a flood.
  let waiting: DatagramBatch[] = [];
  let next = 0;
  let draining = false;

  function drain(sliceMs = SLICE_MS): void {
    const deadline = performance.now() + sliceMs;
    while (next < waiting.length && performance.now() < deadline) {
      process(waiting[next] as DatagramBatch);
      waiting[next++] = EMPTY;
    }
    if (next < waiting.length) {
      setImmediate(drain, SLICE_MS);
      return;
    }
    waiting = [];
    next = 0;
    draining = false;
  }

  function process(batch: DatagramBatch): void {
    const { data, ends, ports, times, senders, addresses } = batch;
    let start = 0;
    for (let i = 0; i < batch.count; i++) {
      const end = ends[i] as number;
      try {
        onDatagram(
          data.subarray(start, end),
          addresses[senders[i] as number] as string,
          ports[i] as number,
          times[i] as number,
        );
      } catch (error) {
        log.error(`[udp] datagram handler failed: ${(error as Error).message}`);
      }
      start = end;
    }
    Atomics.sub(counters, QUEUED_BYTES, data.byteLength);
  }

  const thread: UdpThread = {
    get address() {
      return address;
    },
    get port() {
      return port;
    },
    get listening() {
      return listening;
    },
    receiveBufferRequested: options.receiveBufferBytes,
    get receiveBufferEffective() {
      return effective;
    },
    get queueFull() {
      return Atomics.load(counters, QUEUE_FULL);
    },
    get queuedBytes() {
      return Atomics.load(counters, QUEUED_BYTES);
    },
    close() {
      // The thread posts its last batch before "closed"; everything received is processed before
      // close() resolves, so shutdown hands it to the outbox. A thread that does not answer is ended.
      closing ??= new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer);
          drain(Number.POSITIVE_INFINITY);
          listening = false;
          worker.terminate();
          resolve();
        };
        const timer = setTimeout(done, CLOSE_TIMEOUT_MS);
        onClosed = done;
        worker.postMessage({ type: "close" } satisfies ThreadRequest);
      });
      return closing;
    },
  };

  /** Starts a receive thread bound to `bindPort`; resolves once it listens. */
  function spawn(bindPort: number): Promise<void> {
    return new Promise((resolve, reject) => {
      let up = false;
      const w = new Worker(options.workerUrl ?? UDP_WORKER_URL);
      worker = w;
      w.onerror = (event) => {
        log.error(`[udp] receive thread failed: ${event.message}`);
        listening = false;
        w.terminate();
        if (up) scheduleRestart();
        else reject(new Error(`[udp] receive thread failed: ${event.message}`));
      };
      w.onmessage = (event: MessageEvent<ThreadMessage>) => {
        const m = event.data;
        switch (m.type) {
          case "batch":
            waiting.push(m);
            if (!draining) {
              draining = true;
              setImmediate(drain);
            }
            break;
          case "log":
            log[m.level](m.msg, m.fields);
            break;
          case "listening":
            ({ address, port, effective } = m);
            listening = true;
            up = true;
            resolve();
            break;
          case "state":
            ({ listening, effective } = m);
            break;
          case "failed":
            w.terminate();
            reject(new Error(m.message));
            break;
          case "closed":
            listening = false;
            onClosed?.();
            break;
        }
      };
      w.postMessage({
        type: "start",
        options: { ...socketOptions, port: bindPort },
        shared,
        maxQueuedBytes: maxQueuedBytes ?? 64 * 1024 * 1024,
        logLevel: logLevel ?? "info",
      } satisfies ThreadRequest);
    });
  }

  /** After a crash of the thread itself (socket errors rebind inside it), a new one is started on the same port. */
  function scheduleRestart(): void {
    if (closing !== null) return;
    setTimeout(() => {
      if (closing !== null) return;
      spawn(port).then(
        () => log.info(`[udp] receive thread restarted on ${address}`),
        (error: Error) => {
          log.error(
            `[udp] cannot restart the receive thread: ${error.message}; retrying in ${restartDelayMs} ms`,
          );
          scheduleRestart();
        },
      );
    }, restartDelayMs).unref();
  }

  const { onDatagram: _, log: __, maxQueuedBytes, logLevel, workerUrl: ___, ...socketOptions } = options;
  return spawn(options.port).then(() => thread);
}
