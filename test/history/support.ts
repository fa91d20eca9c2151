import { join } from "node:path";
import type { Config } from "../../src/config/schema.ts";
import { validateConfig } from "../../src/config/validate.ts";
import type { UserEvent } from "../../src/events/event.ts";
import { encodeHistoryItem } from "../../src/history/item.ts";
import { createHistoryPart, type HistoryPart } from "../../src/history/part.ts";
import { createLogger, type Logger } from "../../src/log.ts";
import { makeEvent } from "../events/fixtures.ts";
import { deliverable } from "../support/events.ts";
import { type TempDir, tempDir } from "../support/process.ts";

/** 2025-01-01T10:00:00Z, the start of the known-events table. */
export const T0 = Date.UTC(2025, 0, 1, 10);
export const MIN = 60_000;
export const APP_A = "aaaaaaaa-0000-0000-0000-000000000001";
export const APP_B = "bbbbbbbb-0000-0000-0000-000000000002";

/** One row of a known-events table: minutes after T0, action, user, host, app. */
export type Row = [minutes: number, action: string, user: string, host?: string, app?: [string, string]];

/** The table the query tests use (idle timeout 30 min). */
export const KNOWN: Row[] = [
  [0, "Start session", "anna"],
  [1, "Open connection", "anna", "node1", [APP_A, "Sales"]],
  [2, "Start session", "bob"],
  [3, "Open connection", "bob", "node1", [APP_B, "HR"]],
  [10, "Close connection", "bob", "node1", [APP_B, "HR"]],
  [20, "Start session", "carl", "node2"],
  [25, "Stop session", "carl", "node2"],
  [40, "Close connection", "anna", "node1", [APP_A, "Sales"]],
];

/** Builds numbered events from rows (ids from `firstId`). */
export function events(rows: Row[], firstId = 1, base = T0): UserEvent[] {
  return rows.map(([minutes, action, user, host = "node1", app], i) =>
    makeEvent(firstId + i, {
      receivedAt: new Date(base + minutes * MIN).toISOString(),
      source: action.includes("session") ? "qseow-proxy-session" : "qseow-proxy-connection",
      host,
      action,
      userDirectory: "LAB",
      userId: user,
      context: app ? `/app/${app[0]}` : "/",
      appId: app ? app[0] : null,
      appName: app ? app[1] : null,
      message: "UserAgent: test",
      userAgent: {
        raw: "test",
        browserName: "Chrome",
        browserMajorVersion: "119",
        osName: "Windows",
        osVersion: "10",
      },
    }),
  );
}

/** A validated config with the history in `dir` and `history` overrides. */
export function historyConfig(
  dir: string,
  history: Record<string, unknown> = {},
  extra: Record<string, unknown> = {},
): Config {
  const result = validateConfig(
    {
      "sense-events": {
        history: { path: join(dir, "h.sqlite"), ...history },
        outbox: { path: "" },
        ...extra,
      },
    },
    { baseDir: dir },
  );
  if (!result.ok) throw new Error(JSON.stringify(result.errors));
  return result.config;
}

/** A history part in a fresh temp dir, with an injected clock and captured log lines. */
export async function openPart(
  options: {
    history?: Record<string, unknown>;
    extra?: Record<string, unknown>;
    now?: () => number;
    dir?: TempDir;
    writeWorkerUrl?: string;
  } = {},
): Promise<{ part: HistoryPart; dir: TempDir; lines: string[]; log: Logger; config: Config }> {
  const dir = options.dir ?? tempDir("sense-events-history-");
  const lines: string[] = [];
  const log = createLogger({ level: "debug", write: (line) => lines.push(line) });
  const config = historyConfig(dir.path, options.history, options.extra);
  const part = await createHistoryPart({
    config,
    log,
    now: options.now ?? (() => T0 + 60 * MIN),
    writeWorkerUrl: options.writeWorkerUrl,
  });
  if (part === null) throw new Error("history is off");
  return { part, dir, lines, log, config };
}

/** Writes events through the part's destination, as the outbox would. */
export async function store(part: HistoryPart, list: UserEvent[]): Promise<void> {
  const result = await part.destination.send(list.map((e) => encodeHistoryItem(deliverable(e))));
  if (result.kind !== "ok") throw new Error(JSON.stringify(result));
}

/** [browser, major, os, osVersion] per user of {@link mixedEvents}; a user without one sends no user agent. */
const AGENTS: Record<string, [string | null, string | null, string | null, string | null]> = {
  anna: ["Chrome", "120", "Windows", "10"],
  bob: ["Chrome", "119", "Windows", "10"],
  carl: ["Safari", "17", "Mac OS", "14.1.2"],
  dora: ["Firefox", "121", "Linux", null],
  emil: ["Opera", null, null, null],
};

/** Known events from users with different browsers and systems (the message carries the agent). */
export function mixedEvents(): UserEvent[] {
  const rows: Parameters<typeof events>[0] = [
    [0, "Open connection", "anna", "node1", [APP_A, "Sales"]],
    [1, "Open connection", "bob", "node1", [APP_A, "Sales"]],
    [2, "Open connection", "carl", "node2", [APP_B, "HR"]],
    [3, "Close connection", "carl", "node2", [APP_B, "HR"]],
    [4, "Open connection", "dora", "node1", [APP_B, "HR"]],
    [5, "Open connection", "emil", "node1", [APP_B, "HR"]],
    [6, "Start session", "fred", "node2"],
    [61, "Open connection", "anna", "node2", [APP_A, "Sales"]],
  ];
  return events(rows).map((e) => {
    const a = AGENTS[e.userId];
    if (a === undefined) return { ...e, message: `Start session for ${e.userId}`, userAgent: null };
    const raw = `agent of ${e.userId}`;
    return {
      ...e,
      message: `UserAgent: '${raw}'`,
      userAgent: { raw, browserName: a[0], browserMajorVersion: a[1], osName: a[2], osVersion: a[3] },
    };
  });
}
