/**
 * The history write Worker (reference §19): owns the file's writing connection, so SQLite inserts,
 * checkpoints and prunes run beside the main thread instead of on it (the datagram path only encodes
 * and queues an item per event). Protocol: each request `{ id, op, … }` gets one answer
 * `{ id, ok: true, value }` or `{ id, ok: false, message, code }`; see {@link WriteRequest}.
 */
import type { Database } from "bun:sqlite";
import type { SessionState } from "../events/session-types.ts";
import { decodeHistoryItem, type HistoryItem, ITEM_SEPARATOR } from "./item.ts";
import { openHistoryWriter } from "./open.ts";
import { type PruneCounts, prune } from "./retention.ts";
import { createHistoryWriter, type HistoryWriter } from "./writer.ts";

declare const self: Worker;

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
  | { op: "write"; items: string } // items joined by ITEM_SEPARATOR → Written
  | { op: "idle"; minutes: number } // → null
  | { op: "prune"; now: number; retentionDays: number; maxBytes: number } // → PruneCounts
  | { op: "close" }; // saves the sessions, closes the file → null

/** An answer from the Worker. */
export type WriteAnswer =
  | { id: number; ok: true; value: unknown }
  | { id: number; ok: false; message: string; code: string | null };

let db: Database | null = null;
let writer: HistoryWriter | null = null;

function open(path: string, idleTimeoutMinutes: number): Opened {
  const file = openHistoryWriter(path);
  try {
    const w = createHistoryWriter(file, idleTimeoutMinutes);
    const count = (file.query("SELECT COUNT(*) AS n FROM events").get() as { n: number }).n;
    db = file;
    writer = w;
    return {
      lastId: w.lastId(),
      count,
      sessions: w.sessions.tracker.snapshot(),
      hosts: [...w.hosts].map(([host, seen]) => [host, seen.first, seen.last]),
    };
  } catch (error) {
    file.close();
    throw error;
  }
}

function write(w: HistoryWriter, text: string): Written {
  const decoded: HistoryItem[] = [];
  let malformed = 0;
  for (const item of text === "" ? [] : text.split(ITEM_SEPARATOR)) {
    const one = decodeHistoryItem(item);
    if (one === null) malformed++;
    else decoded.push(one);
  }
  const added = w.write(decoded);
  const touched = new Set<string>();
  for (const { event } of decoded) touched.add(event.host);
  const hosts: [string, number, number][] = [];
  for (const host of touched) {
    const seen = w.hosts.get(host);
    if (seen !== undefined) hosts.push([host, seen.first, seen.last]);
  }
  return { added, malformed, lastId: w.lastId(), hosts };
}

function opened(): { db: Database; writer: HistoryWriter } {
  if (db === null || writer === null) throw new Error("the history file is not open");
  return { db, writer };
}

async function handle(request: WriteRequest): Promise<unknown> {
  switch (request.op) {
    case "open":
      return open(request.path, request.idleTimeoutMinutes);
    case "write":
      return write(opened().writer, request.items);
    case "idle":
      opened().writer.setIdleTimeout(request.minutes);
      return null;
    case "prune":
      return (await prune(opened().db, request)) satisfies PruneCounts;
    case "close": {
      await pruning;
      const file = opened();
      try {
        file.writer.checkpoint();
      } finally {
        file.db.close();
        db = null;
        writer = null;
      }
      return null;
    }
  }
}

async function answer(request: WriteRequest & { id: number }): Promise<void> {
  let out: WriteAnswer;
  try {
    out = { id: request.id, ok: true, value: await handle(request) };
  } catch (error) {
    const code = (error as { code?: unknown } | null)?.code;
    out = {
      id: request.id,
      ok: false,
      message: (error as Error)?.message ?? String(error),
      code: typeof code === "string" ? code : null,
    };
  }
  self.postMessage(out);
}

// Writes run as they arrive, each one transaction; a prune deletes in chunks and yields between them,
// so writes go on during a long prune; closing waits for it.
let pruning: Promise<void> = Promise.resolve();
self.onmessage = (message: MessageEvent<WriteRequest & { id: number }>) => {
  const request = message.data;
  if (request.op === "prune") pruning = answer(request);
  else void answer(request);
};
