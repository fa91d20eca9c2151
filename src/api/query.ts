import * as v from "valibot";
import type { EventQuery } from "../events/ring.ts";

// Date, or date-time with optional seconds, fraction and zone; Date.parse then rejects impossible values.
const ISO_8601 = /^\d{4}-\d{2}-\d{2}(?:T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:?\d{2})?)?$/i;

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
    v.check(
      (s) => ISO_8601.test(s) && !Number.isNaN(Date.parse(s)),
      `${name}: must be an ISO-8601 timestamp such as 2024-05-01T12:00:00.000Z`,
    ),
  );

const filters = {
  user: v.optional(v.string()),
  host: v.optional(v.string()),
  action: v.optional(v.string()),
  appId: v.optional(v.string()),
  since: v.optional(timestamp("since")),
  until: v.optional(timestamp("until")),
};

/** Query of `GET /api/events` (spec §13); unknown parameters are ignored. */
export const EventsQuerySchema = v.object({
  ...filters,
  limit: v.optional(integer("limit", 1, 10_000)),
  before: v.optional(integer("before", 1, Number.MAX_SAFE_INTEGER)),
});

/** Query of `GET /api/events/stream`: the same filters without `limit` and `before`. */
export const StreamQuerySchema = v.object(filters);

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
