/**
 * The history write Worker (reference §19): owns the file's writing connection, so SQLite inserts,
 * checkpoints and prunes run beside the main thread instead of on it (the datagram path only encodes
 * and queues an item per event). Protocol: each request `{ id, op, … }` gets one answer
 * `{ id, ok: true, value }` or `{ id, ok: false, message, code }` (src/history/write-protocol.ts).
 */
import type { Database } from "bun:sqlite";
import { decodeHistoryBatch, decodeHistoryItem, type HistoryItem } from "./item.ts";
import { openHistoryWriter } from "./open.ts";
import { type PruneCounts, prune } from "./retention.ts";
import {
  MALFORMED_BATCH,
  type Opened,
  type WriteAnswer,
  type WriteRequest,
  type Written,
} from "./write-protocol.ts";
import { createHistoryWriter, type HistoryWriter } from "./writer.ts";

declare const self: Worker;

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

function decodeEach(items: string[]): { decoded: HistoryItem[]; malformed: number } {
  const decoded: HistoryItem[] = [];
  let malformed = 0;
  for (const item of items) {
    const one = decodeHistoryItem(item);
    if (one === null) malformed++;
    else decoded.push(one);
  }
  return { decoded, malformed };
}

function write(w: HistoryWriter, decoded: HistoryItem[], malformed: number): Written {
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
    case "write": {
      const decoded = decodeHistoryBatch(request.batch, request.count);
      if (decoded === null)
        throw Object.assign(new Error("a batch item is malformed"), { code: MALFORMED_BATCH });
      return write(opened().writer, decoded, 0);
    }
    case "writeEach": {
      const { decoded, malformed } = decodeEach(request.items);
      return write(opened().writer, decoded, malformed);
    }
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
