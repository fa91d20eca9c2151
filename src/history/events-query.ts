import type { Database, SQLQueryBindings } from "bun:sqlite";
import type { UserEvent } from "../events/event.ts";
import { EVENT_COLUMNS, type EventDecoder, type EventRow } from "./decode.ts";

/** Filters of `/api/history/events` and exports; strings ignore case like `/api/events`. */
export interface HistoryFilter {
  /** Inclusive start, epoch ms. */
  from: number;
  /** Exclusive end, epoch ms. */
  to: number;
  /** `DIR\ID` or a bare `ID` (any directory). */
  user?: string;
  host?: string;
  action?: string;
  appId?: string;
}

/** A position in time order: the receive time and id of the last event returned. */
export interface Cursor {
  ts: number;
  id: number;
}

/** Encodes a cursor as the `next` string. */
export const formatCursor = (c: Cursor): string => `${c.ts}.${c.id}`;

/** Parses a `cursor` value written by {@link formatCursor}; null when it is not one. */
export function parseCursor(text: string): Cursor | null {
  const match = /^(\d{1,15})\.(\d{1,15})$/.exec(text);
  return match === null ? null : { ts: Number(match[1]), id: Number(match[2]) };
}

/** The WHERE clause (without time and cursor) and its parameters for a filter. */
function filterSql(filter: HistoryFilter): { sql: string; params: SQLQueryBindings[] } {
  let sql = "";
  const params: SQLQueryBindings[] = [];
  if (filter.user !== undefined) {
    const user = filter.user.toLowerCase();
    const slash = user.indexOf("\\");
    if (slash === -1) {
      sql += " AND e.user IN (SELECT id FROM users WHERE lower(uid) = ?)";
      params.push(user);
    } else {
      sql += " AND e.user IN (SELECT id FROM users WHERE lower(dir) = ? AND lower(uid) = ?)";
      params.push(user.slice(0, slash), user.slice(slash + 1));
    }
  }
  if (filter.host !== undefined) {
    sql += " AND e.host IN (SELECT id FROM hosts WHERE lower(name) = ?)";
    params.push(filter.host.toLowerCase());
  }
  if (filter.action !== undefined) {
    sql += " AND e.action IN (SELECT id FROM strs WHERE lower(s) = ?)";
    params.push(filter.action.toLowerCase());
  }
  if (filter.appId !== undefined) {
    sql += " AND e.app IN (SELECT id FROM apps WHERE lower(app_id) = ?)";
    params.push(filter.appId.toLowerCase());
  }
  return { sql, params };
}

const HOUR_MS = 3_600_000;

/**
 * The hours (epoch ms / hour) in [`from`, `to`) in which the filter's user has events, in `order`:
 * the only hours a user query has to read (reference §19, schema version 4).
 */
function userHours(db: Database, filter: HistoryFilter, order: "ASC" | "DESC"): number[] {
  const f = filterSql({ from: 0, to: 0, user: filter.user });
  const sql = `SELECT DISTINCT hour FROM user_hours e WHERE hour >= ? AND hour <= ?${f.sql} ORDER BY hour ${order}`;
  const params: SQLQueryBindings[] = [
    Math.floor(filter.from / HOUR_MS),
    Math.floor((filter.to - 1) / HOUR_MS),
  ];
  return (db.query(sql).values(...params, ...f.params) as [number][]).map((r) => r[0]);
}

/**
 * One page of events in a time range: newest first (`order: "desc"`, the API) or oldest first
 * (exports), after `cursor` when given. Returns up to `limit` events and the cursor of the last
 * one when more follow. With a user, only the hours the user has events in are read, one at a time.
 */
export function queryEvents(
  db: Database,
  decoder: EventDecoder,
  filter: HistoryFilter,
  page: { limit: number; cursor?: Cursor | null; order: "asc" | "desc" },
): { events: UserEvent[]; next: Cursor | null } {
  const f = filterSql(filter);
  const c = page.cursor;
  const dir = page.order === "desc" ? "DESC" : "ASC";
  let sql = `SELECT ${EVENT_COLUMNS} FROM events e WHERE e.ts >= ? AND e.ts < ?`;
  if (c) {
    // Only rows sharing the cursor's millisecond need the id comparison; the ts index does the rest.
    sql +=
      page.order === "desc"
        ? " AND e.ts <= ? AND (e.ts < ? OR e.id < ?)"
        : " AND e.ts >= ? AND (e.ts > ? OR e.id > ?)";
  }
  sql += `${f.sql} ORDER BY e.ts ${dir}, e.id ${dir} LIMIT ?`;
  const statement = db.query(sql);
  const read = (from: number, to: number, limit: number) =>
    statement.values(from, to, ...(c ? [c.ts, c.ts, c.id] : []), ...f.params, limit) as unknown as EventRow[];

  let rows: EventRow[];
  if (filter.user === undefined) {
    rows = read(filter.from, filter.to, page.limit + 1);
  } else {
    rows = [];
    for (const hour of userHours(db, filter, dir)) {
      const from = Math.max(filter.from, hour * HOUR_MS);
      const to = Math.min(filter.to, (hour + 1) * HOUR_MS);
      if (c && (page.order === "desc" ? from > c.ts : to <= c.ts)) continue;
      for (const row of read(from, to, page.limit + 1 - rows.length)) rows.push(row);
      if (rows.length > page.limit) break;
    }
  }
  const more = rows.length > page.limit;
  if (more) rows.length = page.limit;
  const events = rows.map((r) => decoder.decode(r));
  const last = rows[rows.length - 1];
  return { events, next: more && last ? { ts: last[1], id: last[0] } : null };
}

/** Rows fetched per page of a streamed export. */
export const EXPORT_PAGE = 2000;

/**
 * Every event of the range, oldest first, in pages of {@link EXPORT_PAGE}, yielding to the event
 * loop between pages so ingest keeps running during a long export; memory stays one page.
 */
export async function* exportEvents(
  db: Database,
  decoder: EventDecoder,
  filter: HistoryFilter,
): AsyncGenerator<UserEvent[]> {
  let cursor: Cursor | null = null;
  for (;;) {
    const page = queryEvents(db, decoder, filter, { limit: EXPORT_PAGE, cursor, order: "asc" });
    if (page.events.length > 0) yield page.events;
    if (page.next === null) return;
    cursor = page.next;
    await new Promise((resolve) => setImmediate(resolve));
  }
}
