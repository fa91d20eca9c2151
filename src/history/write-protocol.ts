/** The messages between the main thread (write-client.ts) and the history write Worker (write-worker.ts). */
import type { SessionState } from "../events/session-types.ts";

/** The code of the answer to a batch that is not `count` history items: send them one by one. */
export const MALFORMED_BATCH = "MALFORMED_BATCH";

/** What the file held when it was opened. */
export interface Opened {
  lastId: number;
  count: number;
  /** The sessions open after the newest stored event. */
  sessions: SessionState[];
  /** [host, first ms, last ms] of every host heard from. */
  hosts: [string, number, number][];
}

/** The outcome of one write. */
export interface Written {
  /** Events new to the file (a repeated id is ignored: delivery is at least once). */
  added: number;
  /** Items that were not history items (dropped). */
  malformed: number;
  lastId: number;
  /** [host, first ms, last ms] of the hosts this write touched. */
  hosts: [string, number, number][];
}

/** A request to the Worker, and the value its answer carries. */
export type WriteRequest =
  | { op: "open"; path: string; idleTimeoutMinutes: number } // → Opened
  | { op: "write"; batch: string; count: number } // `count` items joined by encodeHistoryBatch → Written
  | { op: "writeEach"; items: string[] } // the same, decoded one by one (a batch with a bad item) → Written
  | { op: "idle"; minutes: number } // → null
  | { op: "prune"; now: number; retentionDays: number; maxBytes: number } // → PruneCounts
  | { op: "close" }; // saves the sessions, closes the file → null

/** An answer from the Worker. */
export type WriteAnswer =
  | { id: number; ok: true; value: unknown }
  | { id: number; ok: false; message: string; code: string | null };
