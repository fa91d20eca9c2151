import type { Database } from "bun:sqlite";
import type { UserEvent } from "../events/event.ts";
import { type ActiveAnswer, activeAt } from "./active.ts";
import { concurrency } from "./concurrency.ts";
import { createEventDecoder } from "./decode.ts";
import { type Cursor, type HistoryFilter, queryEvents } from "./events-query.ts";
import { workerExportStream } from "./export-stream.ts";
import { type HostView, listHosts } from "./hosts.ts";
import { type USAGE_BUCKETS, type USAGE_BY, type UsageRow, usage } from "./usage.ts";

/** Everything the history API asks of the file; runs on its own read-only connection. */
export interface HistoryQueries {
  events(
    filter: HistoryFilter,
    limit: number,
    cursor: Cursor | null,
  ): { events: UserEvent[]; next: Cursor | null };
  /** The whole range oldest first as CSV or NDJSON bytes, read and formatted off the main thread. */
  export(filter: HistoryFilter, format: "csv" | "ndjson"): ReadableStream<Uint8Array>;
  active(at: number): ActiveAnswer;
  usage(q: { from: number; to: number; bucket: keyof typeof USAGE_BUCKETS; by: (typeof USAGE_BY)[number] }): {
    rows: UsageRow[];
    truncated: boolean;
  };
  concurrency(q: {
    from: number;
    to: number;
    step: number;
  }): { t: string; sessions: number; users: number }[];
  hosts(): HostView[];
  /** Closes the connection. */
  close(): void;
}

/** Creates the query side over a read-only connection; settings are read per call so reloads apply. */
export function createHistoryQueries(
  db: Database,
  path: string,
  settings: () => { idleTimeoutMinutes: number; silentAfterMinutes: number },
  now: () => number,
): HistoryQueries {
  const decoder = createEventDecoder(db);
  return {
    events: (filter, limit, cursor) => queryEvents(db, decoder, filter, { limit, cursor, order: "desc" }),
    export: (filter, format) => workerExportStream(path, filter, format),
    active: (at) => activeAt(db, at, settings().idleTimeoutMinutes),
    usage: (q) => usage(db, q),
    concurrency: (q) => concurrency(db, { ...q, idleTimeoutMinutes: settings().idleTimeoutMinutes }),
    hosts: () => listHosts(db, now(), settings().silentAfterMinutes),
    close: () => db.close(),
  };
}
