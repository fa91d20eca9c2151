import type { Logger, LogLevel } from "../log.ts";
import { UDP_WORKER_URL } from "../workers.ts";
import type { DatagramBatch } from "./udp-batch.ts";

// The main-thread half of UDP ingest: starts the receive thread (src/ingest/udp-worker.ts, which owns
// the socket and the batching), replaces it after rebindDelayMs whenever its socket fails or the
// thread itself dies, drains its batches in slices and reads its queue_full count. This is the only
// restart policy of UDP ingest (docs/architecture.md draws both halves).

/** Slot of the shared counters holding bytes posted by the receive thread and not yet processed. */
export const QUEUED_BYTES = 0;
/** Slot of the shared counters holding datagrams dropped because that backlog was full. */
export const QUEUE_FULL = 1;

/** The first message to the receive thread. */
export interface ThreadStart {
  type: "start";
  socket: { host: string; port: number; receiveBufferBytes: number };
  shared: SharedArrayBuffer;
  maxQueuedBytes: number;
  /** The main logger's level, so the thread skips what would not be written. */
  logLevel: LogLevel;
}

/** Messages to the receive thread. */
export type ThreadRequest = ThreadStart | { type: "close" };

/** What the receive thread reports: batches, log lines and its state. */
export type ThreadEvent =
  | DatagramBatch
  | { type: "log"; level: LogLevel; msg: string; fields?: Record<string, unknown> }
  | { type: "listening"; address: string; port: number; effective: number | null }
  /** The socket failed and is closed; the thread waits to be replaced. */
  | { type: "socket-error"; message: string }
  /** The socket could not be bound. */
  | { type: "failed"; message: string }
  | { type: "closed" };

/** Longest run of datagram processing before the event loop gets a turn. */
const SLICE_MS = 4;
/** How long close() waits for the thread to confirm. */
const CLOSE_TIMEOUT_MS = 2000;

/** Options for {@link startUdpReceiver}. */
export interface UdpReceiverOptions {
  /** IP literal or hostname (first address); `::` binds dual-stack where the OS allows. */
  host: string;
  /** Port; 0 picks a free one (kept across restarts). */
  port: number;
  /** Requested `SO_RCVBUF` in bytes. */
  receiveBufferBytes: number;
  /** Called on the main thread for each datagram, with its receive time (epoch ms); must not throw. */
  onDatagram: (msg: Uint8Array, address: string, port: number, receivedAtMs: number) => void;
  log: Logger;
  /** Level of `log`, passed to the thread. @default "info" */
  logLevel?: LogLevel;
  /** Delay before a failed socket or thread is replaced, and between attempts. @default 5000 */
  rebindDelayMs?: number;
  /** Bytes of received datagrams the main thread may fall behind by before new ones are dropped. @default 64 MiB */
  maxQueuedBytes?: number;
  /** Script of the receive thread (tests inject one that fails). @default src/ingest/udp-worker.ts */
  workerUrl?: string;
}

/** A UDP listener whose socket runs on its own thread. */
export interface UdpReceiver {
  /** The bound address with the real port: `0.0.0.0:9997` or `[::]:9997`. */
  readonly address: string;
  /** The bound port. */
  readonly port: number;
  /** False after a socket error or a thread crash until a replacement listens (and after close). */
  readonly listening: boolean;
  /** The usable receive buffer in bytes (Linux's doubled report halved), or null if unknown. */
  readonly receiveBufferEffective: number | null;
  /** Datagrams dropped because the main thread fell `maxQueuedBytes` behind. */
  readonly queueFull: number;
  /** Bytes received and not processed yet. */
  readonly queuedBytes: number;
  /** Stops the thread after processing everything it received; stops any pending restart. */
  close(): Promise<void>;
}

/**
 * Binds the user-events listener on a receive thread (reference §8.1): datagrams arrive on the main
 * thread in batches through `onDatagram`, so receiving never waits for processing. Rejects with
 * `cannot bind UDP <address>: <cause>` when the address cannot be bound.
 */
export function startUdpReceiver(options: UdpReceiverOptions): Promise<UdpReceiver> {
  const { log, onDatagram } = options;
  const shared = new SharedArrayBuffer(8);
  const counters = new Int32Array(shared);
  const delayMs = options.rebindDelayMs ?? 5000;
  let worker: Worker | null = null;
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
      const batch = waiting[next] as DatagramBatch;
      waiting[next++] = EMPTY;
      const { data, ends, ports, times, senders, addresses } = batch;
      let start = 0;
      for (let i = 0; i < batch.count; i++) {
        const end = ends[i] as number;
        onDatagram(
          data.subarray(start, end),
          addresses[senders[i] as number] as string,
          ports[i] as number,
          times[i] as number,
        );
        start = end;
      }
      Atomics.sub(counters, QUEUED_BYTES, data.byteLength);
    }
    if (next < waiting.length) {
      setImmediate(drain, SLICE_MS);
      return;
    }
    waiting = [];
    next = 0;
    draining = false;
  }

  /** Replaces the thread after the delay, on the same port, until one listens or close() is called. */
  function replaceLater(): void {
    if (closing !== null) return;
    setTimeout(() => {
      if (closing !== null) return;
      spawn(port).then(
        () => log.info(`[udp] receive thread restarted on ${address}`),
        (error: Error) => {
          log.error(`[udp] cannot rebind UDP ${address}: ${error.message}; retrying in ${delayMs} ms`);
          replaceLater();
        },
      );
    }, delayMs).unref();
  }

  /** Ends a thread whose socket failed or that died; the batches it already sent stay queued. */
  function retire(w: Worker, message: string): void {
    log.error(`${message}; rebinding in ${delayMs} ms`);
    listening = false;
    w.terminate();
    if (worker === w) worker = null;
    replaceLater();
  }

  /** Starts a receive thread bound to `bindPort`; resolves once it listens. */
  function spawn(bindPort: number): Promise<void> {
    return new Promise((resolve, reject) => {
      let up = false;
      const w = new Worker(options.workerUrl ?? UDP_WORKER_URL);
      worker = w;
      w.onerror = (event) => {
        if (up) retire(w, `[udp] receive thread failed: ${event.message}`);
        else {
          w.terminate();
          reject(new Error(`[udp] receive thread failed: ${event.message}`));
        }
      };
      w.onmessage = (event: MessageEvent<ThreadEvent>) => {
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
          case "socket-error":
            retire(w, `[udp] socket error on ${address}: ${m.message}`);
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
        socket: { host: options.host, port: bindPort, receiveBufferBytes: options.receiveBufferBytes },
        shared,
        maxQueuedBytes: options.maxQueuedBytes ?? 64 * 1024 * 1024,
        logLevel: options.logLevel ?? "info",
      } satisfies ThreadRequest);
    });
  }

  const receiver: UdpReceiver = {
    get address() {
      return address;
    },
    get port() {
      return port;
    },
    get listening() {
      return listening;
    },
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
        const current = worker;
        const done = () => {
          clearTimeout(timer);
          drain(Number.POSITIVE_INFINITY);
          listening = false;
          current?.terminate();
          resolve();
        };
        if (current === null) return done();
        const timer = setTimeout(done, CLOSE_TIMEOUT_MS);
        onClosed = done;
        current.postMessage({ type: "close" } satisfies ThreadRequest);
      });
      return closing;
    },
  };
  return spawn(options.port).then(() => receiver);
}

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
