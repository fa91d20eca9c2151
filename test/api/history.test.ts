import { afterEach, describe, expect, test } from "bun:test";
import { historyRoutes } from "../../src/api/history.ts";
import type { UserEvent } from "../../src/events/event.ts";
import type { HistoryPart } from "../../src/history/part.ts";
import { events, KNOWN, MIN, mixedEvents, openPart, store, T0 } from "../history/support.ts";
import { EVENT_KEYS } from "../support/events.ts";
import type { TempDir } from "../support/process.ts";

/** GETs a path and returns the parsed body. */
// biome-ignore lint/suspicious/noExplicitAny: tests dig into API JSON freely
async function get(app: { request(path: string): Response | Promise<Response> }, path: string): Promise<any> {
  return (await app.request(path)).json();
}

const open: { part: HistoryPart; dir: TempDir }[] = [];
afterEach(async () => {
  for (const o of open.splice(0)) {
    await o.part.close();
    o.dir.cleanup();
  }
});

/** The history routes over the known table, with the clock at T0 + 1 h. */
async function api(extra: Parameters<typeof events>[0] = []) {
  const o = await openPart();
  open.push(o);
  await store(o.part, [...events(KNOWN), ...events(extra, KNOWN.length + 1)]);
  const app = historyRoutes(
    () => o.part.queries,
    () => T0 + 60 * MIN,
  );
  return { app, part: o.part };
}

describe("GET /api/history/events", () => {
  test("pages newest first with next, in exactly the /api/events shape", async () => {
    const { app } = await api();
    const first = await get(app, "/api/history/events?limit=3");
    expect(first.events.map((e: { id: number }) => e.id)).toStrictEqual([8, 7, 6]);
    expect(Object.keys(first.events[0])).toStrictEqual(EVENT_KEYS);
    const second = await get(app, `/api/history/events?limit=3&cursor=${first.next}`);
    expect(second.events.map((e: { id: number }) => e.id)).toStrictEqual([5, 4, 3]);
    const last = await get(app, `/api/history/events?limit=3&cursor=${second.next}`);
    expect(last).toMatchObject({ next: null });
    expect(last.events.map((e: { id: number }) => e.id)).toStrictEqual([2, 1]);
  });

  test.each([
    ["user=lab%5CBOB", [5, 4, 3]],
    ["user=carl", [7, 6]],
    ["host=NODE2", [7, 6]],
    ["action=stop%20session", [7]],
    [`appId=${"AAAAAAAA-0000-0000-0000-000000000001"}`, [8, 2]],
    [`from=${new Date(T0 + 10 * MIN).toISOString()}&to=${T0 + 25 * MIN}`, [6, 5]],
  ])("filters %s", async (query, ids) => {
    const { app } = await api();
    const body = await get(app, `/api/history/events?${query}`);
    expect(body.events.map((e: { id: number }) => e.id)).toStrictEqual(ids);
  });

  test.each([
    ["limit=0", "limit"],
    ["limit=10001", "limit"],
    ["limit=abc", "limit"],
    ["from=2024-02-30", "from"],
    ["to=2024-13-01T00:00Z", "to"],
    ["from=2024-05-01T25:00Z", "from"],
    ["from=yesterday", "from"],
    ["from=2024-05-02&to=2024-05-01", "from"],
    ["cursor=xyz", "cursor"],
    ["format=xml", "format"],
    [`user=${"x".repeat(600)}`, "user"],
  ])("answers 400 with an error for %s", async (query, name) => {
    const { app } = await api();
    const response = await app.request(`/api/history/events?${query}`);
    expect(response.status).toBe(400);
    expect(((await response.json()) as { error: string }).error).toStartWith(`${name}:`);
  });

  test("format=csv has the header, RFC 4180 quoting and a ' before formula characters", async () => {
    const o = await openPart();
    open.push(o);
    const e = events([[0, "Start session", "=cmd|' /C calc'!A0"]])[0] as UserEvent;
    await store(o.part, [{ ...e, userDirectory: '+"quoted", dir', origin: "-2", context: "@x\r\nline" }]);
    const app = historyRoutes(
      () => o.part.queries,
      () => T0 + MIN,
    );
    const response = await app.request("/api/history/events?format=csv");
    expect(response.headers.get("content-type")).toStartWith("text/csv");
    const text = await response.text();
    const [header, row] = text.split("\r\n");
    expect(header).toStartWith(
      "receivedAt,host,action,userDirectory,userId,origin,appId,appName,browserName,browserMajorVersion,osName,osVersion,remoteAddress",
    );
    expect(row).toStartWith(
      `${new Date(T0).toISOString()},node1,Start session,"'+""quoted"", dir",'=cmd|' /C calc'!A0,'-2,,,Chrome,119,Windows,10,10.0.0.1,1,qseow-proxy-session,"'@x`,
    );
    expect(text.endsWith("\r\n")).toBe(true);
  });

  test("format=ndjson streams one /api/events-shaped object per line, oldest first", async () => {
    const { app } = await api();
    const text = await (await app.request("/api/history/events?format=ndjson")).text();
    const lines = text
      .trimEnd()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(lines.map((e) => e.id)).toStrictEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    const json = await get(app, "/api/history/events?limit=1");
    expect(lines[7]).toStrictEqual(json.events[0]);
  });
});

describe("other history routes", () => {
  test("/api/history/active defaults to now and refuses an impossible date", async () => {
    const { app } = await api();
    expect((await get(app, "/api/history/active")).count).toBe(1);
    const response = await app.request("/api/history/active?at=2024-02-30T10:00:00Z");
    expect(response.status).toBe(400);
    const body = (await response.json()) as { error: string };
    expect(Object.keys(body)).toStrictEqual(["error"]);
    expect(body.error).toStartWith("at:");
  });

  test("/api/history/usage and /concurrency refuse unknown choices and unbounded answers", async () => {
    const { app } = await api();
    expect((await app.request("/api/history/usage?by=color")).status).toBe(400);
    expect((await app.request("/api/history/usage?bucket=week")).status).toBe(400);
    expect((await app.request("/api/history/usage?from=2000-01-01")).status).toBe(400);
    expect((await app.request("/api/history/concurrency?step=2m")).status).toBe(400);
    expect((await app.request("/api/history/concurrency?step=1m&from=2024-01-01")).status).toBe(400);
    const ok = await (
      await app.request(`/api/history/concurrency?from=${T0}&to=${T0 + 60 * MIN}&step=1h`)
    ).json();
    expect(ok).toStrictEqual({ points: [{ t: new Date(T0).toISOString(), sessions: 3, users: 3 }] });
  });

  test("/api/history/usage?by=browserVersion|osVersion answers '<name> <major>' keys", async () => {
    const o = await openPart();
    open.push(o);
    await store(o.part, mixedEvents());
    const app = historyRoutes(
      () => o.part.queries,
      () => T0 + 120 * MIN,
    );
    const range = `from=${new Date(T0).toISOString()}&to=${T0 + 60 * MIN}&bucket=day`;
    const bucket = new Date(Date.UTC(2025, 0, 1)).toISOString();
    const browsers = await get(app, `/api/history/usage?${range}&by=browserVersion`);
    expect(browsers.rows.find((r: { key: string }) => r.key === "Chrome 120")).toStrictEqual({
      bucket,
      key: "Chrome 120",
      uniqueUsers: 1,
      sessions: 1,
      connections: 1,
    });
    const oses = await get(app, `/api/history/usage?${range}&by=osVersion`);
    expect(oses.rows.map((r: { key: string; uniqueUsers: number }) => [r.key, r.uniqueUsers])).toStrictEqual([
      ["Linux", 1],
      ["Mac OS 14", 1],
      ["Windows 10", 2],
      ["unknown", 1],
    ]);
    for (const by of ["browserversion", "version", "browser,os", ""]) {
      const response = await app.request(`/api/history/usage?by=${by}`);
      expect(response.status).toBe(400);
      expect(await response.json()).toStrictEqual({
        error: "by: must be one of app, user, host, browser, os, browserVersion, osVersion",
      });
    }
  });

  test("/api/hosts lists every node with its counts", async () => {
    const { app } = await api();
    expect(await get(app, "/api/hosts")).toStrictEqual({
      hosts: [
        {
          host: "node1",
          firstSeen: new Date(T0).toISOString(),
          lastSeen: new Date(T0 + 40 * MIN).toISOString(),
          eventsLastHour: 6,
          eventsLastDay: 6,
          silent: false,
        },
        {
          host: "node2",
          firstSeen: new Date(T0 + 20 * MIN).toISOString(),
          lastSeen: new Date(T0 + 25 * MIN).toISOString(),
          eventsLastHour: 2,
          eventsLastDay: 2,
          silent: false,
        },
      ],
    });
  });

  test("every history route answers 404 when the history is off", async () => {
    const app = historyRoutes(() => null, Date.now);
    for (const path of ["/api/history/events", "/api/history/active", "/api/hosts"]) {
      expect((await app.request(path)).status).toBe(404);
    }
  });
});
