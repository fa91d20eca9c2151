import type { Database } from "bun:sqlite";
import { once } from "node:events";
import { createWriteStream, existsSync } from "node:fs";
import { formatConfigIssue, loadConfigFile } from "../config/load.ts";
import { EXPORT_FORMATS } from "../history/csv.ts";
import { createEventDecoder } from "../history/decode.ts";
import { exportEvents } from "../history/events-query.ts";
import { openHistoryReader, openHistoryWriter } from "../history/open.ts";
import { usedBytes } from "../history/retention.ts";
import { SCHEMA_VERSION } from "../history/schema.ts";
import { parseHistoryTime } from "../history/time.ts";
import { EXIT, type HistoryArgs } from "./args.ts";

/** Where the command writes lines; `stdout` receives export data. */
export interface HistoryIo {
  out(line: string): void;
  err(line: string): void;
  /** Export data sink. @default process.stdout */
  stdout?: NodeJS.WritableStream;
  /** Clock in epoch ms. @default Date.now */
  now?: () => number;
}

const DAY_MS = 86_400_000;
/** Events between two progress lines. */
const PROGRESS_EVERY = 100_000;

/**
 * Opens the history file read-only, first upgrading a file of an older schema (which needs a short
 * write); the service may be running: SQLite's normal locking and WAL let both work.
 */
function openForReading(path: string): Database {
  const db = openHistoryReader(path);
  const version = (db.query("PRAGMA user_version").get() as { user_version: number }).user_version;
  if (version >= SCHEMA_VERSION) return db;
  db.close();
  openHistoryWriter(path).close();
  return openHistoryReader(path);
}

/** `sense-events history export|stats -c FILE`: reads the history file directly; returns the exit code. */
export async function historyCommand(args: HistoryArgs, io: HistoryIo): Promise<number> {
  const loaded = await loadConfigFile(args.configFile);
  if (!loaded.ok) {
    for (const issue of loaded.errors) io.err(formatConfigIssue(issue));
    return EXIT.config;
  }
  const path = loaded.config["sense-events"].history.path;
  if (path === "" || !existsSync(path)) {
    io.err(`sense-events: no history file at ${path || '(history.path is "")'}`);
    return EXIT.runtime;
  }
  const db = openForReading(path);
  try {
    if (args.action === "stats") {
      const row = db.query("SELECT COUNT(*) AS n, MIN(ts) AS lo, MAX(ts) AS hi FROM events").get() as {
        n: number;
        lo: number | null;
        hi: number | null;
      };
      const days = row.lo === null || row.hi === null ? 0 : (row.hi - row.lo) / DAY_MS;
      io.out(`file:   ${path}`);
      io.out(`events: ${row.n}`);
      io.out(`days:   ${days.toFixed(1)}`);
      io.out(`bytes:  ${usedBytes(db)}`);
      io.out(`oldest: ${row.lo === null ? "-" : new Date(row.lo).toISOString()}`);
      io.out(`newest: ${row.hi === null ? "-" : new Date(row.hi).toISOString()}`);
      return EXIT.ok;
    }
    const now = (io.now ?? Date.now)();
    const to = args.to === undefined ? now + 1 : parseHistoryTime(args.to);
    const from = args.from === undefined && to !== null ? to - DAY_MS : parseHistoryTime(args.from ?? "");
    if (to === null || from === null || from >= to) {
      io.err("sense-events: --from and --to must be ISO 8601 times or epoch ms, --from before --to");
      return EXIT.usage;
    }
    const format = EXPORT_FORMATS[args.format];
    const sink = args.out === undefined ? (io.stdout ?? process.stdout) : createWriteStream(args.out);
    const write = async (text: string) => {
      if (!sink.write(text)) await once(sink, "drain");
    };
    await write(format.header);
    let count = 0;
    let reported = 0;
    for await (const page of exportEvents(db, createEventDecoder(db), { from, to })) {
      let text = "";
      for (const e of page) text += format.row(e);
      await write(text);
      count += page.length;
      if (count - reported >= PROGRESS_EVERY) {
        reported = count;
        io.err(`exported ${count} events…`);
      }
    }
    if (args.out !== undefined) {
      sink.end();
      await once(sink, "finish");
    }
    if (reported > 0 || args.out !== undefined) io.err(`exported ${count} events`);
    return EXIT.ok;
  } finally {
    db.close();
  }
}
