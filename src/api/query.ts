import * as v from "valibot";
import type { EventQuery } from "../events/ring.ts";

// Date, or date-time with optional seconds, fraction and zone.
const ISO_8601 =
  /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?(?:Z|[+-](\d{2}):?(\d{2}))?)?$/i;

/** Longest accepted filter value: longer than any field an event can hold (reference §3.1 caps). */
const MAX_FILTER = 1024;

/**
 * True for an ISO-8601 timestamp whose every part is in range. `Date.parse` alone rolls impossible
 * dates over (2024-02-30 became 1 March), so month, day, time and zone are checked here first.
 */
export function isValidTimestamp(s: string): boolean {
  const m = ISO_8601.exec(s);
  if (m === null) return false;
  const n = (i: number): number => Number(m[i] ?? 0);
  // Day 0 of the next month is the last day of this one.
  const daysInMonth = new Date(Date.UTC(n(1), n(2), 0)).getUTCDate();
  return (
    n(2) >= 1 &&
    n(2) <= 12 &&
    n(3) >= 1 &&
    n(3) <= daysInMonth &&
    n(4) <= 23 &&
    n(5) <= 59 &&
    n(6) <= 59 &&
    n(7) <= 23 &&
    n(8) <= 59 &&
    !Number.isNaN(Date.parse(s))
  );
}

const integer = (name: string, min: number, max: number) =>
  v.pipe(
    v.string(),
    v.regex(/^\d{1,16}$/, `${name}: must be an integer from ${min} to ${max}`),
    v.transform(Number),
    v.minValue(min, `${name}: must be an integer from ${min} to ${max}`),
    v.maxValue(max, `${name}: must be an integer from ${min} to ${max}`),
  );

const timestamp = (name: string) =>
  v.pipe(
    v.string(),
    v.check(isValidTimestamp, `${name}: must be an ISO-8601 timestamp such as 2024-05-01T12:00:00.000Z`),
  );

const filter = (name: string) =>
  v.pipe(v.string(), v.maxLength(MAX_FILTER, `${name}: must be at most ${MAX_FILTER} characters`));

const filters = {
  user: v.optional(filter("user")),
  host: v.optional(filter("host")),
  action: v.optional(filter("action")),
  appId: v.optional(filter("appId")),
  since: v.optional(timestamp("since")),
  until: v.optional(timestamp("until")),
};

/** Query of `GET /api/events` (reference §13); unknown parameters are ignored. */
export const EventsQuerySchema = v.object({
  ...filters,
  limit: v.optional(integer("limit", 1, 10_000)),
  before: v.optional(integer("before", 1, Number.MAX_SAFE_INTEGER)),
});

/** Query of `GET /api/events/stream`: the same filters without `limit` and `before`. */
export const StreamQuerySchema = v.object(filters);

/** Query of `GET /api/sessions`: a page of `limit` sessions (default 1000) after cursor `next`. */
export const SessionsQuerySchema = v.object({
  limit: v.optional(integer("limit", 1, 10_000), "1000"),
  next: v.optional(
    v.pipe(v.string(), v.regex(/^\d{1,16}$/, "next: must be the next value of an earlier page")),
  ),
});

/** Validates the query of `GET /api/sessions`: `{limit, next}`, or the first problem as one line. */
export function parseSessionsQuery(
  params: Record<string, string>,
): { ok: true; limit: number; next: string | undefined } | { ok: false; error: string } {
  const result = v.safeParse(SessionsQuerySchema, params);
  if (!result.success) return { ok: false, error: result.issues[0]?.message ?? "invalid query" };
  return { ok: true, limit: Number(result.output.limit), next: result.output.next };
}

/** Validates query parameters against a schema: the query, or the first problem as one line. */
export function parseQuery(
  schema: typeof EventsQuerySchema | typeof StreamQuerySchema,
  params: Record<string, string>,
): { ok: true; query: EventQuery } | { ok: false; error: string } {
  const result = v.safeParse(schema, params);
  if (result.success) {
    // Drop keys valibot set to undefined so the ring's defaults apply.
    const query: EventQuery = {};
    for (const [key, value] of Object.entries(result.output)) {
      if (value !== undefined) (query as Record<string, unknown>)[key] = value;
    }
    return { ok: true, query };
  }
  return { ok: false, error: result.issues[0]?.message ?? "invalid query" };
}
