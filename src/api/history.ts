import { Hono } from "hono";
import { HTTPException } from "hono/http-exception";
import { CONCURRENCY_LIMIT, CONCURRENCY_STEPS } from "../history/concurrency.ts";
import { EXPORT_FORMATS } from "../history/csv.ts";
import { formatCursor, type HistoryFilter, parseCursor } from "../history/events-query.ts";
import type { HistoryQueries } from "../history/queries.ts";
import { parseHistoryTime } from "../history/time.ts";
import { USAGE_BUCKETS, USAGE_BY } from "../history/usage.ts";

const DAY_MS = 86_400_000;
/** Longest range of `usage` (its answer is bounded by rows too). */
const MAX_USAGE_RANGE_MS = 400 * DAY_MS;
/** Longest accepted filter value (hosts, users, app ids are far shorter). */
const MAX_FILTER_LENGTH = 512;

const bad = (message: string): never => {
  throw new HTTPException(400, { message });
};

/** A time parameter (ISO 8601 or epoch ms), or `fallback` when absent. */
function time(query: Record<string, string>, name: string, fallback: number): number {
  const text = query[name];
  if (text === undefined) return fallback;
  const ms = parseHistoryTime(text);
  return ms ?? bad(`${name}: must be an ISO-8601 time such as 2024-05-01T12:00:00Z or epoch milliseconds`);
}

/** `from`/`to` with the last 24 h as default; `to` is exclusive and must follow `from`. */
function range(query: Record<string, string>, now: number): { from: number; to: number } {
  const to = time(query, "to", now + 1);
  const from = time(query, "from", to - DAY_MS);
  if (from >= to) bad("from: must be before to");
  return { from, to };
}

/** One of `choices`, or `fallback` when absent. */
function choice<T extends string>(
  query: Record<string, string>,
  name: string,
  choices: readonly T[],
  fallback: T,
): T {
  const value = query[name] ?? fallback;
  return (choices as readonly string[]).includes(value)
    ? (value as T)
    : bad(`${name}: must be one of ${choices.join(", ")}`);
}

/** The filters of `/api/history/events`. */
function filter(query: Record<string, string>, now: number): HistoryFilter {
  const f: HistoryFilter = range(query, now);
  for (const key of ["user", "host", "action", "appId"] as const) {
    const value = query[key];
    if (value === undefined) continue;
    if (value.length === 0 || value.length > MAX_FILTER_LENGTH)
      bad(`${key}: must be 1 to ${MAX_FILTER_LENGTH} characters`);
    f[key] = value;
  }
  return f;
}

/**
 * The history routes of reference §19 (`/api/history/*`, `/api/hosts`); `history()` returns null
 * when the history is off, and the routes then answer 404. Auth is the app's `/api/*` middleware.
 */
export function historyRoutes(history: () => HistoryQueries | null, now: () => number): Hono {
  const app = new Hono();
  // The same error shape as the main app, also when these routes are used on their own.
  app.onError((err, c) => {
    if (err instanceof HTTPException) return c.json({ error: err.message }, err.status);
    throw err;
  });
  const need = (): HistoryQueries =>
    history() ??
    (() => {
      throw new HTTPException(404, { message: "the history is off (sense-events.history.enable)" });
    })();

  app.get("/api/history/events", (c) => {
    const h = need();
    const query = c.req.query();
    const f = filter(query, now());
    const format = choice(query, "format", ["json", "csv", "ndjson"], "json");
    if (format !== "json") {
      return new Response(h.export(f, format), {
        headers: { "content-type": EXPORT_FORMATS[format].contentType },
      });
    }
    const limitText = query.limit ?? "100";
    const limit = /^\d{1,5}$/.test(limitText) ? Number(limitText) : 0;
    if (limit < 1 || limit > 10_000) bad("limit: must be an integer from 1 to 10000");
    let cursor = null;
    if (query.cursor !== undefined) {
      cursor = parseCursor(query.cursor);
      if (cursor === null) bad("cursor: must be the next value of an earlier page");
    }
    const page = h.events(f, limit, cursor);
    return c.json({ events: page.events, next: page.next === null ? null : formatCursor(page.next) });
  });

  app.get("/api/history/active", (c) => {
    const h = need();
    return c.json(h.active(time(c.req.query(), "at", now())));
  });

  app.get("/api/history/usage", (c) => {
    const h = need();
    const query = c.req.query();
    const r = range(query, now());
    if (r.to - r.from > MAX_USAGE_RANGE_MS) bad("from: the range may span at most 400 days");
    const bucket = choice(
      query,
      "bucket",
      Object.keys(USAGE_BUCKETS) as (keyof typeof USAGE_BUCKETS)[],
      "hour",
    );
    const by = choice(query, "by", USAGE_BY, "app");
    return c.json(h.usage({ ...r, bucket, by }));
  });

  app.get("/api/history/concurrency", (c) => {
    const h = need();
    const query = c.req.query();
    const r = range(query, now());
    const stepName = choice(
      query,
      "step",
      Object.keys(CONCURRENCY_STEPS) as (keyof typeof CONCURRENCY_STEPS)[],
      "5m",
    );
    const step = CONCURRENCY_STEPS[stepName];
    if (Math.ceil((r.to - r.from) / step) > CONCURRENCY_LIMIT) {
      bad(`step: at most ${CONCURRENCY_LIMIT} points; use a longer step or a shorter range`);
    }
    return c.json({ points: h.concurrency({ ...r, step }) });
  });

  app.get("/api/hosts", (c) => c.json({ hosts: need().hosts() }));
  return app;
}
