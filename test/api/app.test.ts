import { describe, expect, test } from "bun:test";
import { createApi } from "../../src/api/app.ts";
import { renderMetrics } from "../../src/api/metrics.ts";
import type { UserEvent } from "../../src/events/event.ts";
import { createLogger } from "../../src/log.ts";
import { makeEvent } from "../events/fixtures.ts";
import { EVENT_KEYS } from "../support/events.ts";
import { sampleStats, testDeps } from "./deps.ts";

function setup(overrides: Parameters<typeof testDeps>[0] = {}) {
  const t = testDeps(overrides);
  const api = createApi(t.deps);
  const get = (path: string, init?: RequestInit) => api.app.request(path, init);
  return { ...t, api, get };
}

describe("GET /health", () => {
  test("reports ok with version, uptime, UDP and destinations", async () => {
    const { get, state } = setup();
    state.health = {
      listening: true,
      address: "0.0.0.0:9997",
      degraded: false,
      destinations: { influxdb: "up" },
    };
    const res = await get("/health");
    expect([res.status, await res.json()]).toStrictEqual([
      200,
      {
        status: "ok",
        version: "1.2.3",
        uptimeSeconds: 61,
        udp: { listening: true, address: "0.0.0.0:9997" },
        destinations: { influxdb: "up" },
      },
    ]);
  });

  test.each([
    ["a destination is retrying", false, { influxdb: "up", mqtt: "retrying" }],
    ["a destination is blocked", false, { mqtt: "blocked" }],
    ["the spool or allow-list is degraded", true, { influxdb: "up" }],
  ] as const)("is degraded when %s", async (_name, degraded, destinations) => {
    const { get, state } = setup();
    state.health = { listening: true, address: "0.0.0.0:9997", degraded, destinations: { ...destinations } };
    const res = await get("/health");
    expect([res.status, ((await res.json()) as { status: string }).status]).toStrictEqual([200, "degraded"]);
  });

  test("a disabled destination does not degrade health", async () => {
    const { get, state } = setup();
    state.health = {
      listening: true,
      address: "0.0.0.0:9997",
      degraded: false,
      destinations: { mqtt: "disabled" },
    };
    expect(((await (await get("/health")).json()) as { status: string }).status).toBe("ok");
  });

  test("returns 503 unavailable when UDP is not listening", async () => {
    const { get, state } = setup();
    state.health = { listening: false, address: null, degraded: true, destinations: {} };
    const res = await get("/health");
    expect([res.status, await res.json()]).toStrictEqual([
      503,
      {
        status: "unavailable",
        version: "1.2.3",
        uptimeSeconds: 61,
        udp: { listening: false, address: null },
        destinations: {},
      },
    ]);
  });
});

describe("GET /api/events", () => {
  function withEvents(count: number, make = (id: number) => makeEvent(id)) {
    const s = setup();
    for (let id = 1; id <= count; id++) s.ring.push(make(id));
    return s;
  }

  test("returns events newest first with exactly the reference §6 keys in order", async () => {
    const { get } = withEvents(3);
    const body = (await (await get("/api/events")).json()) as { events: UserEvent[]; next: number | null };
    expect([body.events.map((e) => e.id), body.next]).toStrictEqual([[3, 2, 1], null]);
    expect(body.events.map((e) => Object.keys(e))).toStrictEqual([EVENT_KEYS, EVENT_KEYS, EVENT_KEYS]);
  });

  test("serialises an event exactly as stored", async () => {
    const event = makeEvent(1, {
      appId: "0f4a2b3c-1111-2222-3333-444455556666",
      appName: "Sales",
      userAgent: {
        raw: "UA",
        browserName: "Chrome",
        browserMajorVersion: "119",
        osName: null,
        osVersion: null,
      },
    });
    const { get, ring } = setup();
    ring.push(event);
    expect(await (await get("/api/events")).json()).toStrictEqual({ events: [event], next: null });
  });

  test("returns 100 events by default with next for the following page", async () => {
    const { get } = withEvents(150);
    const body = (await (await get("/api/events")).json()) as { events: UserEvent[]; next: number | null };
    expect([body.events.length, body.events[0]?.id, body.next]).toStrictEqual([100, 150, 51]);
  });

  test("pages with before=next", async () => {
    const { get } = withEvents(5);
    const first = (await (await get("/api/events?limit=3")).json()) as { events: UserEvent[]; next: number };
    const second = (await (await get(`/api/events?limit=3&before=${first.next}`)).json()) as {
      events: UserEvent[];
      next: number | null;
    };
    expect([
      first.events.map((e) => e.id),
      first.next,
      second.events.map((e) => e.id),
      second.next,
    ]).toStrictEqual([[5, 4, 3], 3, [2, 1], null]);
  });

  test("accepts limit 10000", async () => {
    const { get } = withEvents(2);
    expect((await get("/api/events?limit=10000")).status).toBe(200);
  });

  test.each([
    ["user=ACME%5Calice", [3, 1]],
    ["user=ALICE", [3, 2, 1]],
    ["host=SENSE2", [2]],
    ["action=open%20connection", [3, 1]],
    ["appId=0F4A2B3C-1111-2222-3333-444455556666", [1]],
    ["since=2025-01-01T00:00:02.000Z", [3, 2]],
    ["until=2025-01-01T00:00:02.000Z", [1]],
    ["since=2025-01-01T00:00:02Z&until=2025-01-01T00:00:03Z", [2]],
  ])("filters with %s", async (query, expected) => {
    const { get } = withEvents(3, (id) =>
      makeEvent(id, {
        userDirectory: id === 2 ? "OTHER" : "ACME",
        host: id === 2 ? "sense2" : "sense1",
        action: id === 2 ? "Start session" : "Open connection",
        appId: id === 1 ? "0f4a2b3c-1111-2222-3333-444455556666" : null,
      }),
    );
    const body = (await (await get(`/api/events?${query}`)).json()) as { events: UserEvent[] };
    expect(body.events.map((e) => e.id)).toStrictEqual(expected);
  });

  test.each([
    ["limit=0", "limit: must be an integer from 1 to 10000"],
    ["limit=10001", "limit: must be an integer from 1 to 10000"],
    ["limit=abc", "limit: must be an integer from 1 to 10000"],
    ["limit=1.5", "limit: must be an integer from 1 to 10000"],
    ["limit=-1", "limit: must be an integer from 1 to 10000"],
    ["before=x", `before: must be an integer from 1 to ${Number.MAX_SAFE_INTEGER}`],
    ["since=yesterday", "since: must be an ISO-8601 timestamp such as 2024-05-01T12:00:00.000Z"],
    ["until=2025-13-45T00:00:00Z", "until: must be an ISO-8601 timestamp such as 2024-05-01T12:00:00.000Z"],
    // Regression (issue 9): Date.parse rolled these over to the next month or day and answered 200.
    ["since=2024-02-30", "since: must be an ISO-8601 timestamp such as 2024-05-01T12:00:00.000Z"],
    ["since=2023-02-29T00:00:00Z", "since: must be an ISO-8601 timestamp such as 2024-05-01T12:00:00.000Z"],
    ["since=2024-04-31T10:00Z", "since: must be an ISO-8601 timestamp such as 2024-05-01T12:00:00.000Z"],
    ["until=2024-01-01T24:00:00Z", "until: must be an ISO-8601 timestamp such as 2024-05-01T12:00:00.000Z"],
    ["until=2024-01-01T23:60:00Z", "until: must be an ISO-8601 timestamp such as 2024-05-01T12:00:00.000Z"],
    ["until=2024-01-01T23:59:60Z", "until: must be an ISO-8601 timestamp such as 2024-05-01T12:00:00.000Z"],
    [
      "until=2024-01-01T12:00:00+24:00",
      "until: must be an ISO-8601 timestamp such as 2024-05-01T12:00:00.000Z",
    ],
    ["until=2024-00-10", "until: must be an ISO-8601 timestamp such as 2024-05-01T12:00:00.000Z"],
    [`host=${"h".repeat(1025)}`, "host: must be at most 1024 characters"],
    [`user=${"u".repeat(1025)}`, "user: must be at most 1024 characters"],
  ])("rejects %s with 400", async (query, error) => {
    const { get } = withEvents(1);
    const res = await get(`/api/events?${query}`);
    expect([res.status, await res.json()]).toStrictEqual([400, { error }]);
  });
});

describe("other routes", () => {
  test("GET /api/sessions lists tracked sessions with a count", async () => {
    const { get, sessions } = setup();
    const start = makeEvent(1, { action: "Start session", receivedAt: "2025-01-01T00:01:00.000Z" });
    sessions.update(start);
    expect(await (await get("/api/sessions")).json()).toStrictEqual({
      sessions: [
        {
          host: "sense1",
          userDirectory: "ACME",
          userId: "alice",
          startedAt: "2025-01-01T00:01:00.000Z",
          lastEventAt: "2025-01-01T00:01:00.000Z",
          openConnections: 0,
          appIds: [],
        },
      ],
      count: 1,
      next: null,
    });
  });

  test("GET /api/events accepts a leap day and a zone offset", async () => {
    const { get } = setup();
    expect((await get("/api/events?since=2024-02-29&until=2024-02-29T23:59:59.999%2B05:30")).status).toBe(
      200,
    );
  });

  /** A tracker holding `n` sessions of users u0…u(n-1), u(n-1) the newest. */
  function withSessions(n: number) {
    const t = setup();
    for (let i = 0; i < n; i++) {
      t.sessions.update(makeEvent(i + 1, { action: "Start session", userId: `u${i}` }));
    }
    return t;
  }

  test("GET /api/sessions pages with limit and next, newest first, and counts every session", async () => {
    const { get } = withSessions(5);
    const first = (await (await get("/api/sessions?limit=2")).json()) as {
      sessions: { userId: string }[];
      count: number;
      next: string | null;
    };
    expect([first.sessions.map((s) => s.userId), first.count]).toStrictEqual([["u4", "u3"], 5]);
    const second = (await (await get(`/api/sessions?limit=2&next=${first.next}`)).json()) as typeof first;
    expect(second.sessions.map((s) => s.userId)).toStrictEqual(["u2", "u1"]);
    const third = (await (await get(`/api/sessions?limit=2&next=${second.next}`)).json()) as typeof first;
    expect([third.sessions.map((s) => s.userId), third.next]).toStrictEqual([["u0"], null]);
  });

  test("GET /api/sessions returns 1000 sessions by default (regression: all 500,000, 90 MB)", async () => {
    const { get } = withSessions(1500);
    const body = (await (await get("/api/sessions")).json()) as { sessions: unknown[]; count: number };
    expect([body.sessions.length, body.count]).toStrictEqual([1000, 1500]);
  });

  test.each([
    ["limit=0", "limit: must be an integer from 1 to 10000"],
    ["limit=10001", "limit: must be an integer from 1 to 10000"],
    ["next=abc", "next: must be the next value of an earlier page"],
    ["next=-1", "next: must be the next value of an earlier page"],
  ])("GET /api/sessions rejects %s with 400", async (query, error) => {
    const { get } = setup();
    const res = await get(`/api/sessions?${query}`);
    expect([res.status, await res.json()]).toStrictEqual([400, { error }]);
  });

  test("GET /api/rejected returns the rejection ring and counts", async () => {
    const { get } = setup();
    expect(await (await get("/api/rejected")).json()).toStrictEqual({
      rejected: [{ reason: "malformed" }],
      counts: { unknown_type: 0, malformed: 1 },
    });
  });

  test("GET /api/stats returns the stats snapshot", async () => {
    const { get } = setup();
    expect(await (await get("/api/stats")).json()).toStrictEqual(sampleStats());
  });

  test("GET /metrics returns the Prometheus text of the stats", async () => {
    const { get } = setup();
    const res = await get("/metrics");
    expect([res.status, res.headers.get("content-type"), await res.text()]).toStrictEqual([
      200,
      "text/plain; version=0.0.4; charset=utf-8",
      renderMetrics(sampleStats()),
    ]);
  });

  test("GET /api/config returns the redacted config as given", async () => {
    const { get } = setup();
    expect(await (await get("/api/config")).json()).toStrictEqual({
      "sense-events": { api: { token: "***" } },
    });
  });

  test.each([
    [
      200,
      {
        reloaded: true,
        changed: ["Butler-SOS.userEvents.excludeUser"],
        udpRebound: false,
        restartRequired: [],
      },
    ],
    [422, { reloaded: false, errors: [{ path: "Butler-SOS.logLevel", message: "must be a log level" }] }],
    [409, { error: "a reload is already running" }],
  ] as const)("POST /api/config/reload answers %p with the reload body", async (status, body) => {
    const { get, state } = setup();
    state.reload = { status, body };
    const res = await get("/api/config/reload", { method: "POST" });
    expect([res.status, await res.json()]).toStrictEqual([status, body]);
  });

  test("GET /api/config/reload is not found", async () => {
    const { get } = setup();
    const res = await get("/api/config/reload");
    expect([res.status, await res.json()]).toStrictEqual([
      404,
      { error: "not found: GET /api/config/reload" },
    ]);
  });

  test("an unknown path returns a JSON 404", async () => {
    const { get } = setup();
    const res = await get("/nope");
    expect([res.status, await res.json()]).toStrictEqual([404, { error: "not found: GET /nope" }]);
  });

  test("a failing collaborator returns a JSON 500 and is logged", async () => {
    const lines: string[] = [];
    const { get } = setup({
      stats: () => {
        throw new Error("boom");
      },
      log: createLogger({ write: (line) => lines.push(line), now: () => new Date(0) }),
    });
    const res = await get("/api/stats");
    expect([res.status, await res.json(), lines]).toStrictEqual([
      500,
      { error: "internal server error" },
      ["1970-01-01T00:00:00.000Z error: [api] GET /api/stats failed: boom"],
    ]);
  });
});

describe("auth", () => {
  const protectedPaths = [
    "/api/events",
    "/api/sessions",
    "/api/rejected",
    "/api/stats",
    "/api/config",
    "/metrics",
    "/api/events/stream",
  ];

  test.each(protectedPaths)("%s needs the Bearer token when one is set", async (path) => {
    const { get, state } = setup();
    state.token = "s3cret";
    const res = await get(path);
    expect([res.status, res.headers.get("www-authenticate"), await res.json()]).toStrictEqual([
      401,
      "Bearer",
      { error: "unauthorized: a valid Bearer token is required" },
    ]);
  });

  test("POST /api/config/reload needs the Bearer token when one is set", async () => {
    const { get, state } = setup();
    state.token = "s3cret";
    expect((await get("/api/config/reload", { method: "POST" })).status).toBe(401);
  });

  test.each([
    ["a wrong token", "Bearer s3creT"],
    ["a longer token", "Bearer s3cret2"],
    ["another scheme", "Basic s3cret"],
    ["an empty bearer", "Bearer "],
  ])("rejects %s", async (_name, authorization) => {
    const { get, state } = setup();
    state.token = "s3cret";
    expect((await get("/api/stats", { headers: { authorization } })).status).toBe(401);
  });

  test.each(protectedPaths.filter((p) => p !== "/api/events/stream"))(
    "%s accepts the right token",
    async (path) => {
      const { get, state } = setup();
      state.token = "s3cret";
      expect((await get(path, { headers: { authorization: "Bearer s3cret" } })).status).toBe(200);
    },
  );

  test("/health stays open with a token set", async () => {
    const { get, state } = setup();
    state.token = "s3cret";
    expect((await get("/health")).status).toBe(200);
  });

  test("everything is open without a token", async () => {
    const { get } = setup();
    expect((await get("/api/stats")).status).toBe(200);
  });

  test("a new token applies to the next request", async () => {
    const { get, state } = setup();
    state.token = "old";
    const before = (await get("/api/stats", { headers: { authorization: "Bearer new" } })).status;
    state.token = "new";
    const after = (await get("/api/stats", { headers: { authorization: "Bearer new" } })).status;
    expect([before, after]).toStrictEqual([401, 200]);
  });
});
