import { HISTORY_WRITE_WORKER_URL } from "../workers.ts";
import { encodeHistoryBatch } from "./item.ts";
import type { PruneCounts } from "./retention.ts";
import {
  MALFORMED_BATCH,
  type Opened,
  type WriteAnswer,
  type WriteRequest,
  type Written,
} from "./write-protocol.ts";

/** An error answered by the write Worker, with SQLite's code when it had one. */
export class HistoryWriteError extends Error {
  /** SQLite's error code (`SQLITE_NOTADB`, `SQLITE_FULL`, …), or null. */
  readonly code: string | null;

  constructor(message: string, code: string | null) {
    super(message);
    this.code = code;
  }
}

/** The main thread's handle on the history write Worker (src/history/write-worker.ts). */
export interface HistoryWriteClient {
  open(path: string, idleTimeoutMinutes: number): Promise<Opened>;
  /** Writes items (as encoded by `encodeHistoryItem`) in one transaction. */
  write(items: string[]): Promise<Written>;
  setIdleTimeout(minutes: number): Promise<void>;
  prune(options: { now: number; retentionDays: number; maxBytes: number }): Promise<PruneCounts>;
  /** Saves the sessions, closes the file and ends the Worker. */
  close(): Promise<void>;
  /** Why the Worker stopped on its own (it is not restarted), or null while it runs. */
  readonly failure: string | null;
}

interface Pending {
  resolve: (value: unknown) => void;
  reject: (error: Error) => void;
}

/**
 * Starts the write Worker. Requests are answered in the order sent (a prune aside); if the Worker
 * dies, every pending and later request fails with the reason, so the outbox keeps the items.
 */
export function createHistoryWriteClient(workerUrl = HISTORY_WRITE_WORKER_URL): HistoryWriteClient {
  const worker = new Worker(workerUrl);
  // Referenced only while a request waits: an idle writer never keeps the process alive.
  worker.unref();
  const pending = new Map<number, Pending>();
  let nextId = 1;
  let failure: string | null = null;
  let closed = false;

  const fail = (reason: string) => {
    failure ??= reason;
    for (const p of pending.values()) p.reject(new HistoryWriteError(reason, null));
    pending.clear();
    worker.unref();
  };
  worker.onmessage = (message: MessageEvent<WriteAnswer>) => {
    const answer = message.data;
    const p = pending.get(answer.id);
    if (p === undefined) return;
    pending.delete(answer.id);
    if (pending.size === 0) worker.unref();
    if (answer.ok) p.resolve(answer.value);
    else p.reject(new HistoryWriteError(answer.message, answer.code));
  };
  // The first line only: Bun adds the source lines around the throw.
  worker.onerror = (event) => fail(`the history writer stopped: ${String(event.message).split("\n")[0]}`);
  worker.addEventListener("close", () => {
    if (!closed) fail("the history writer stopped");
  });

  function call<T>(request: WriteRequest): Promise<T> {
    if (failure !== null) return Promise.reject(new HistoryWriteError(failure, null));
    if (closed) return Promise.reject(new HistoryWriteError("the history file is closed", null));
    const id = nextId++;
    return new Promise<T>((resolve, reject) => {
      pending.set(id, { resolve: resolve as (value: unknown) => void, reject });
      if (pending.size === 1) worker.ref();
      worker.postMessage({ ...request, id });
    });
  }

  return {
    open: (path, idleTimeoutMinutes) => call({ op: "open", path, idleTimeoutMinutes }),
    async write(items) {
      try {
        // One string crosses the thread boundary and is parsed once, instead of thousands.
        return await call<Written>({ op: "write", batch: encodeHistoryBatch(items), count: items.length });
      } catch (error) {
        if ((error as HistoryWriteError).code !== MALFORMED_BATCH) throw error;
        return call<Written>({ op: "writeEach", items });
      }
    },
    setIdleTimeout: (minutes) => call({ op: "idle", minutes }),
    prune: (options) => call({ op: "prune", ...options }),
    async close() {
      if (closed) return;
      const closing = failure === null ? call({ op: "close" }) : Promise.resolve();
      // Later requests fail at once instead of waiting for a Worker that is ending.
      closed = true;
      try {
        await closing;
      } finally {
        worker.terminate();
      }
    },
    get failure() {
      return failure;
    },
  };
}
