import type { Database } from "bun:sqlite";
import type { EventSource, UserAgentInfo, UserEvent } from "../events/event.ts";
import { isoOf } from "./replay.ts";

/** One stored events row as selected by {@link EVENT_COLUMNS}. */
export type EventRow = [
  id: number,
  ts: number,
  host: number,
  user: number,
  action: number,
  app: number | null,
  src: number,
  origin: number,
  context: number,
  agent: number,
  addr: number,
];

/** The events columns, in {@link EventRow} order. */
export const EVENT_COLUMNS =
  "e.id, e.ts, e.host, e.user, e.action, e.app, e.src, e.origin, e.context, e.agent, e.addr";

/** A dictionary table read into memory, reloaded when an id newer than the loaded ones appears. */
class DictionaryCache<T> {
  readonly #map = new Map<number, T>();
  #max = 0;
  readonly #db: Database;
  readonly #sql: string;
  readonly #make: (row: unknown[]) => T;

  constructor(db: Database, sql: string, make: (row: unknown[]) => T) {
    this.#db = db;
    this.#sql = sql;
    this.#make = make;
  }

  get(id: number): T {
    let value = this.#map.get(id);
    if (value === undefined) {
      for (const row of this.#db.query(`${this.#sql} WHERE id > ?`).values(this.#max)) {
        const rowId = row[0] as number;
        this.#map.set(rowId, this.#make(row));
        if (rowId > this.#max) this.#max = rowId;
      }
      value = this.#map.get(id);
      if (value === undefined) throw new Error(`[history] missing dictionary entry ${id}`);
    }
    return value;
  }
}

/** Turns stored rows back into events of exactly the `/api/events` shape. */
export interface EventDecoder {
  decode(row: EventRow): UserEvent;
  /** The host name of a host id. */
  host(id: number): string;
}

/** Creates a decoder over the dictionaries of a (read-only) connection. */
export function createEventDecoder(db: Database): EventDecoder {
  const hosts = new DictionaryCache(db, "SELECT id, name FROM hosts", (r) => r[1] as string);
  const users = new DictionaryCache(db, "SELECT id, dir, uid FROM users", (r): [string, string] => [
    r[1] as string,
    r[2] as string,
  ]);
  const apps = new DictionaryCache(
    db,
    "SELECT id, app_id, app_name FROM apps",
    (r): [string, string | null] => [r[1] as string, r[2] as string | null],
  );
  const agents = new DictionaryCache(db, "SELECT id, msg, ua FROM agents", (r) => ({
    message: r[1] as string,
    ua: r[2] === null ? null : (JSON.parse(r[2] as string) as UserAgentInfo),
  }));
  const strs = new DictionaryCache(db, "SELECT id, s FROM strs", (r) => r[1] as string);
  return {
    host: (id) => hosts.get(id),
    decode(r) {
      const [dir, uid] = users.get(r[3]);
      const app = r[5] === null ? null : apps.get(r[5]);
      const agent = agents.get(r[9]);
      return {
        id: r[0],
        receivedAt: isoOf(r[1]),
        source: strs.get(r[6]) as EventSource,
        host: hosts.get(r[2]),
        action: strs.get(r[4]),
        userDirectory: dir,
        userId: uid,
        origin: strs.get(r[7]),
        context: strs.get(r[8]),
        appId: app === null ? null : app[0],
        appName: app === null ? null : app[1],
        message: agent.message,
        // A copy per event: callers may hold events, and a shared object would alias them.
        userAgent: agent.ua === null ? null : { ...agent.ua },
        remoteAddress: strs.get(r[10]),
      };
    },
  };
}
