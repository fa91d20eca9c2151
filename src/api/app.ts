import { Hono } from "hono";
import { HTTPException } from "hono/http-exception";
import { mountDashboard } from "../dashboard/routes.ts";
import type { UserEvent } from "../events/event.ts";
import { compileMatcher, type EventRing } from "../events/ring.ts";
import type { SessionTracker } from "../events/sessions.ts";
import type { HistoryQueries } from "../history/queries.ts";
import type { Logger } from "../log.ts";
import type { DestinationState, StatsSnapshot } from "../stats.ts";
import { bearerAuth } from "./auth.ts";
import { historyRoutes } from "./history.ts";
import { renderMetrics } from "./metrics.ts";
import { EventsQuerySchema, parseQuery, parseSessionsQuery, StreamQuerySchema } from "./query.ts";
import { createEventStreams, type EventStreamsOptions } from "./sse.ts";

/** The part of Bun's `Server` the stream route uses (Hono passes it as `c.env` under `Bun.serve`). */
interface BunServer {
  timeout(request: Request, seconds: number): void;
}

/** Result of a config reload as `POST /api/config/reload` returns it (reference §14.4). */
export interface ReloadOutcome {
  status: 200 | 409 | 422;
  body: unknown;
}

/** What `/health` reports about the receiver (reference §13). */
export interface HealthState {
  listening: boolean;
  address: string | null;
  /** True when the spool is unusable or the allow-list failed closed. */
  degraded: boolean;
  /** Why it is degraded, one sentence each (a spool lost or unusable); shown when not empty. */
  problems?: string[];
  destinations: Record<string, DestinationState>;
}

/** Collaborators of {@link createApi}; every getter is called per request so reloads show at once. */
export interface ApiDeps {
  ring: EventRing;
  sessions: Pick<SessionTracker, "page" | "count">;
  rejected: () => { rejected: unknown[]; counts: { unknown_type: number; malformed: number } };
  stats: () => StatsSnapshot;
  health: () => HealthState;
  /** The effective config, already redacted. */
  config: () => unknown;
  reload: () => Promise<ReloadOutcome>;
  /** The API token, or undefined for an open API. */
  token: () => string | undefined;
  version: string;
  /** Process start, epoch ms. */
  startedAt: number;
  log: Logger;
  /** Clock in epoch ms. @default Date.now */
  now?: () => number;
  /** The embedded history's queries (reference §19), null or absent when it is off. */
  history?: () => HistoryQueries | null;
  /** SSE limits, lowered by tests. */
  sse?: Omit<EventStreamsOptions, "ring">;
}

/** The HTTP API and the hooks the pipeline and shutdown need. */
export interface Api {
  app: Hono;
  /** Sends an accepted event (already stored in the ring) to the matching SSE streams. */
  broadcast(event: UserEvent): void;
  /** Ends every SSE stream (shutdown). */
  closeStreams(): void;
}

/** Creates the Hono app of reference §13. */
export function createApi(deps: ApiDeps): Api {
  const now = deps.now ?? Date.now;
  const streams = createEventStreams({ ring: deps.ring, ...deps.sse });
  const app = new Hono();
  const auth = bearerAuth(deps.token);

  app.onError((err, c) => {
    if (err instanceof HTTPException) return c.json({ error: err.message }, err.status);
    deps.log.error(`[api] ${c.req.method} ${c.req.path} failed: ${err.message}`);
    return c.json({ error: "internal server error" }, 500);
  });
  app.notFound((c) => c.json({ error: `not found: ${c.req.method} ${c.req.path}` }, 404));
  app.use("/api/*", auth);
  app.use("/metrics", auth);
  // The dashboard page and its assets (reference §20); its /api/dashboard sits behind the auth above.
  mountDashboard(app, { token: deps.token, history: () => (deps.history?.() ?? null) !== null });

  app.get("/health", (c) => {
    const h = deps.health();
    // A destination switched off on purpose is not a fault.
    const faulty = Object.values(h.destinations).some((s) => s !== "up" && s !== "disabled");
    const status = !h.listening ? "unavailable" : h.degraded || faulty ? "degraded" : "ok";
    const body = {
      status,
      version: deps.version,
      uptimeSeconds: Math.floor((now() - deps.startedAt) / 1000),
      udp: { listening: h.listening, address: h.address },
      destinations: h.destinations,
      ...(h.problems && h.problems.length > 0 ? { problems: h.problems } : {}),
    };
    return c.json(body, h.listening ? 200 : 503);
  });

  app.get("/api/events", (c) => {
    const parsed = parseQuery(EventsQuerySchema, c.req.query());
    if (!parsed.ok) throw new HTTPException(400, { message: parsed.error });
    return c.json(deps.ring.query(parsed.query));
  });

  app.get("/api/events/stream", (c) => {
    const parsed = parseQuery(StreamQuerySchema, c.req.query());
    if (!parsed.ok) throw new HTTPException(400, { message: parsed.error });
    const header = c.req.header("last-event-id")?.trim();
    const lastEventId = header !== undefined && /^\d{1,16}$/.test(header) ? Number(header) : null;
    const response = streams.open(compileMatcher(parsed.query), lastEventId);
    if (response === null) throw new HTTPException(503, { message: "too many event streams" });
    // Bun.serve's idle timeout (10 s by default) would cut the stream between 15 s pings.
    (c.env as Partial<BunServer> | undefined)?.timeout?.(c.req.raw, 0);
    return response;
  });

  app.get("/api/sessions", (c) => {
    const parsed = parseSessionsQuery(c.req.query());
    if (!parsed.ok) throw new HTTPException(400, { message: parsed.error });
    // A page is at most `limit` sessions and about 4 MB; `count` is every active session.
    const { sessions, next } = deps.sessions.page(parsed.limit, parsed.next);
    return c.json({ sessions, count: deps.sessions.count, next });
  });
  app.get("/api/rejected", (c) => c.json(deps.rejected()));
  app.get("/api/stats", (c) => c.json(deps.stats()));
  app.get("/metrics", (c) =>
    c.text(renderMetrics(deps.stats()), 200, { "content-type": "text/plain; version=0.0.4; charset=utf-8" }),
  );
  app.get("/api/config", (c) => c.json(deps.config()));
  app.post("/api/config/reload", async (c) => {
    const outcome = await deps.reload();
    return c.json(outcome.body as object, outcome.status);
  });

  app.route("/", historyRoutes(deps.history ?? (() => null), now));

  return { app, broadcast: streams.broadcast, closeStreams: streams.closeAll };
}
