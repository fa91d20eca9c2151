/**
 * Grafana on sense-events data (reference §22): the COMPILED binary, with the default tag settings, writes a
 * known set of events into a real InfluxDB 1.x; then (1) the user-events queries of Butler SOS 15's dashboard,
 * written here from their description, and (2) every query of grafana/sense-events-influxdb.json, with Grafana's
 * macros and template variables substituted, run against it. One InfluxDB and one binary run serve every test.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { type InfluxServer, startInfluxdb } from "../support/influxdb.ts";
import {
  type Child,
  freeTcpPort,
  freeUdpPort,
  getJson,
  ROOT,
  runToEnd,
  sendUdp,
  spawnChild,
  stopChild,
  tempDir,
  waitFor,
} from "../support/process.ts";
import { createTestPki, type TestPki } from "../support/tls.ts";

const DB = "senseops";
const SALES = "a421f4a2-c311-4ef4-ba41-fe2e6a2b0d69";
const HR = "6a6b1e54-0f3c-4d7e-9b2a-3c1d2e4f5a6b";
const FINANCE = "0e3a9c7d-5b1f-4c2a-8d6e-7f9a1b2c3d4e";
const APPS = [
  { id: SALES, name: "Sales analysis" },
  { id: HR, name: "HR overview" },
  { id: FINANCE, name: "Finance" },
];

const WIN = "Windows NT 10.0; Win64; x64";
const chrome = (major: number) =>
  `Mozilla/5.0 (${WIN}) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/${major}.0.0.0 Safari/537.36`;
const UA = {
  chrome119: chrome(119),
  chrome120: chrome(120),
  edge: `${chrome(119)} Edg/119.0.2151.72`,
  safari:
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Safari/605.1.15",
  iphone:
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1.2 Mobile/15E148 Safari/604.1",
  firefox: `Mozilla/5.0 (${WIN}; rv:120.0) Gecko/20100101 Firefox/120.0`,
};

type Action = "Start session" | "Stop session" | "Open connection" | "Close connection";
/** One event of the known set: [user, proxy host, action, origin, app id or context, user agent]. */
type Sent = [string, string, Action, string, string | null, string | null];

/** The known set, in send order: six users on two proxy hosts, three apps, six browser versions, one QMC visit. */
const SENT: Sent[] = [
  ["anna", "proxy-a", "Start session", "AppAccess", null, null],
  ["anna", "proxy-a", "Open connection", "AppAccess", SALES, UA.chrome119],
  ["bo", "proxy-a", "Start session", "AppAccess", null, null],
  ["bo", "proxy-a", "Open connection", "AppAccess", SALES, UA.chrome120],
  ["bo", "proxy-a", "Open connection", "ManagementAccess", "/qmc/", UA.chrome120],
  ["carl", "proxy-b", "Start session", "AppAccess", null, null],
  ["carl", "proxy-b", "Open connection", "AppAccess", HR, UA.edge],
  ["dana", "proxy-b", "Start session", "AppAccess", null, null],
  ["dana", "proxy-b", "Open connection", "AppAccess", SALES, UA.safari],
  ["dana", "proxy-b", "Open connection", "AppAccess", HR, UA.safari],
  ["erik", "proxy-a", "Start session", "AppAccess", null, null],
  ["erik", "proxy-a", "Open connection", "AppAccess", FINANCE, UA.iphone],
  ["fay", "proxy-b", "Start session", "AppAccess", null, null],
  ["fay", "proxy-b", "Open connection", "AppAccess", SALES, UA.firefox],
  ["anna", "proxy-a", "Close connection", "AppAccess", SALES, UA.chrome119],
  ["anna", "proxy-a", "Stop session", "AppAccess", null, null],
  ["carl", "proxy-b", "Close connection", "AppAccess", HR, UA.edge],
  ["carl", "proxy-b", "Stop session", "AppAccess", null, null],
];
/** One malformed datagram: rejected, so it shows in the ingest-health measurements only. */
const MALFORMED = "/qseow-proxy-session/;proxy-a";
const DATAGRAMS = SENT.length + 1;

function datagram([user, host, action, origin, app, ua]: Sent): string {
  const session = action.endsWith("session");
  const type = session ? "qseow-proxy-session" : "qseow-proxy-connection";
  const context = app === null ? "/" : app.startsWith("/") ? app : `/app/${app}`;
  const verb = { "Start session": "Start session for", "Stop session": "Stop session for" }[action as string];
  const message = session
    ? `${verb} user 'LAB\\${user}'`
    : `App connection ${action === "Open connection" ? "Opened" : "Closed"} for session '${user}1'; UserAgent: '${ua}'`;
  return `/${type}/;${host};${action};LAB;${user};${origin};${context};${message}`;
}

/** Static tags of this instance; a second "environment" with other values is written beside it. */
const TAGS = [
  { name: "qs_env", value: "e2e" },
  { name: "site", value: "lab" },
];

const dir = tempDir("sense-events-grafana-");
const BINARY = join(dir.path, "out", "sense-events-linux-x64");
let influx: InfluxServer;
let pki: TestPki;
let qrs: ReturnType<typeof Bun.serve> | undefined;
let child: Child | undefined;
let from = 0;
/** Receive time in ms of each SENT event (from the binary's API), in SENT order. */
let receivedAt: number[] = [];

/** A fake QRS on a random loopback address (port 4242 is fixed in the product), serving the three apps. */
function startQrs(): { server: ReturnType<typeof Bun.serve>; host: string } {
  for (let attempt = 0; ; attempt++) {
    const host = `127.${1 + Math.floor(Math.random() * 250)}.${Math.floor(Math.random() * 250)}.${1 + Math.floor(Math.random() * 250)}`;
    try {
      const server = Bun.serve({
        hostname: host,
        port: 4242,
        tls: { cert: pki.pem.serverCert, key: pki.pem.serverKey },
        fetch: () => Response.json(APPS),
      });
      return { server, host };
    } catch (error) {
      if (attempt > 5) throw error;
    }
  }
}

/** Writes line protocol straight into the database: the other environment, which every filter must exclude. */
async function writeOtherEnvironment(nowMs: number): Promise<void> {
  const t = (k: number) => `${nowMs + k}000000`;
  const body = [
    `user_events,appId=${SALES},appName=Sales\\ analysis,event_action=Open\\ connection,host=proxy-c,origin=AppAccess,qs_env=other,site=lab,uaBrowserMajorVersion=119,uaBrowserName=Chrome,uaOsName=Windows,uaOsVersion=10,userDirectory=LAB,userFull=LAB\\zed,userId=zed appId="${SALES}",appName="Sales analysis",userFull="LAB\\\\zed",userId="zed" ${t(1)}`,
    `user_events,event_action=Start\\ session,host=proxy-c,origin=AppAccess,qs_env=other,site=lab,userDirectory=LAB,userFull=LAB\\zed,userId=zed userFull="LAB\\\\zed",userId="zed" ${t(2)}`,
    `event_count,event_type=user,host=proxy-c,qs_env=other,site=lab,source=qseow-proxy-session,subsystem=AppAccess counter=7 ${t(3)}`,
    `user_events_queue,host=other,qs_env=other,queue_type=user_events,site=lab messages_received=50,messages_processed=50,messages_rejected_malformed=9,messages_rejected_unknown_type=0,messages_dropped_total=0,messages_dropped_source=0,messages_excluded=0,messages_failed=0,kernel_rcvbuf_errors=0,processing_time_avg_ms=0.1,processing_time_p95_ms=0.2,processing_time_max_ms=0.3 ${t(4)}`,
  ].join("\n");
  const res = await fetch(`${influx.url}/write?db=${DB}&precision=ns`, { method: "POST", body });
  if (res.status !== 204) throw new Error(`[test] write of the other environment failed: ${res.status}`);
}

/** The first statement's series of an InfluxQL answer. */
// biome-ignore lint/suspicious/noExplicitAny: InfluxQL JSON
type Series = { tags?: Record<string, string>; columns: string[]; values: any[][] };
async function series(q: string): Promise<Series[]> {
  const answer = await influx.query(q, DB);
  const result = answer.results?.[0];
  if (result?.error) throw new Error(`[test] ${result.error}\n${q}`);
  return result?.series ?? [];
}

beforeAll(async () => {
  const build = runToEnd([
    BUN_PATH(),
    "scripts/build.ts",
    "--only",
    "linux",
    "--outdir",
    join(dir.path, "out"),
  ]);
  [influx, pki] = await Promise.all([startInfluxdb(), createTestPki()]);
  const { server, host } = startQrs();
  qrs = server;
  const built = await build;
  if (built.code !== 0) throw new Error(`build failed:\n${built.stdout}\n${built.stderr}`);
  const udp = await freeUdpPort();
  const api = await freeTcpPort();
  const metrics = { enable: true, writeFrequency: 1000 };
  const file = dir.write("config.yaml", {
    "Butler-SOS": {
      logLevel: "info",
      cert: { clientCert: pki.clientCert, clientCertKey: pki.clientKey, clientCertCA: pki.caCert },
      appNames: { enableAppNameExtract: true, extractInterval: 60000, hostIP: host },
      influxdbConfig: {
        enable: true,
        host: "127.0.0.1",
        port: influx.port,
        version: 1,
        v1Config: { dbName: DB, auth: { enable: false } },
      },
      qlikSenseEvents: {
        influxdb: metrics,
        eventCount: { enable: true, influxdb: { measurementName: "event_count", tags: TAGS } },
      },
      userEvents: {
        enable: true,
        udpServerConfig: {
          serverHost: "127.0.0.1",
          portUserActivityEvents: udp,
          queueMetrics: { influxdb: { ...metrics, measurementName: "user_events_queue", tags: TAGS } },
        },
        tags: TAGS,
        sendToInfluxdb: { enable: true },
      },
    },
    // No uaTagPrefix and no userTags: the defaults under test.
    "sense-events": { api: { port: api }, outbox: { path: "" }, influxdb: { flushIntervalMs: 100 } },
  });
  child = spawnChild([BINARY, "-c", file], { cwd: dir.path });
  await child.waitForLine(/\[api\] listening on /, 20_000);
  const apiUrl = `http://127.0.0.1:${api}`;
  await waitFor("app names from the fake QRS", async () =>
    (await getJson(`${apiUrl}/api/stats`)).appNames.count === APPS.length ? true : undefined,
  );
  from = Date.now();
  await sendUdp(udp, [...SENT.map(datagram), MALFORMED]);
  await writeOtherEnvironment(Date.now());
  const { events } = await waitFor("every event in the API", async () => {
    const body = await getJson(`${apiUrl}/api/events?limit=100`);
    return body.events.length === SENT.length ? body : undefined;
  });
  receivedAt = (events as { receivedAt: string }[]).map((e) => Date.parse(e.receivedAt)).reverse();
  // Points and both metric measurements landed (metrics are flushed every second).
  const filter = `"qs_env"::tag = 'e2e' AND time >= ${from - 60_000}ms`;
  await waitFor(
    "user_events, event_count and user_events_queue in InfluxDB",
    async () => {
      const [ue, ec, qm] = await Promise.all([
        series(`SELECT count("userId") FROM "user_events" WHERE ${filter}`),
        series(`SELECT sum("counter") FROM "event_count" WHERE ${filter}`),
        series(`SELECT sum("messages_received") FROM "user_events_queue" WHERE ${filter}`),
      ]);
      const value = (s: Series[]) => s[0]?.values[0]?.[1];
      return value(ue) === SENT.length && value(ec) === DATAGRAMS && value(qm) === DATAGRAMS
        ? true
        : undefined;
    },
    15_000,
  );
}, 60_000);

afterAll(async () => {
  await stopChild(child);
  qrs?.stop(true);
  await Promise.all([influx?.close(), pki?.remove()]);
  dir.cleanup();
});

function BUN_PATH(): string {
  return join(ROOT, "node_modules/.bin/bun");
}

/** Grafana's `$timeFilter` for a range from a minute before the events to a minute after now. */
function timeFilter(): string {
  return `time >= ${from - 60_000}ms and time <= ${Date.now() + 60_000}ms`;
}

/** Non-zero values per group and window: `{ "<group>": { "<window start ISO>": value } }`. */
function byGroupAndWindow(list: Series[], group: (tags: Record<string, string>) => string, column = 1) {
  const out: Record<string, Record<string, number>> = {};
  for (const s of list) {
    const key = group(s.tags ?? {});
    for (const row of s.values) {
      const value = row[column];
      if (value === null || value === 0) continue;
      out[key] = { ...out[key], [row[0]]: value };
    }
  }
  return out;
}

/**
 * The same breakdown computed from the known set and each event's receive time (from the API): windows are
 * InfluxDB's, aligned to the epoch; `value` is "count" or "users" (distinct users).
 */
function expected(
  intervalMs: number,
  group: (e: Sent) => string | null,
  value: "count" | "users",
): Record<string, Record<string, number>> {
  const sets: Record<string, Record<string, Set<string> | number>> = {};
  SENT.forEach((e, i) => {
    const key = group(e);
    if (key === null) return;
    const at = receivedAt[i] ?? 0;
    const window = new Date(at - (at % intervalMs)).toISOString().replace(".000Z", "Z");
    sets[key] ??= {};
    const windows = sets[key];
    if (value === "count") windows[window] = ((windows[window] as number | undefined) ?? 0) + 1;
    else windows[window] = ((windows[window] as Set<string> | undefined) ?? new Set()).add(e[0]);
  });
  const out: Record<string, Record<string, number>> = {};
  for (const [key, windows] of Object.entries(sets)) {
    out[key] = {};
    for (const [w, v] of Object.entries(windows)) out[key][w] = typeof v === "number" ? v : v.size;
  }
  return out;
}

/** A single-row answer without GROUP BY time as `{ "<tag value>": value }`. */
function byTag(list: Series[], tag: string): Record<string, number> {
  return Object.fromEntries(list.map((s) => [s.tags?.[tag] ?? "", s.values[0]?.[1]]));
}

describe("Butler SOS 15 dashboard queries on sense-events data with the default config (reference §22)", () => {
  const ENV = `"qs_env"::tag = 'e2e'`;

  test("unique users per window: count(distinct(userFull)) GROUP BY time()", async () => {
    const rows = await series(
      `SELECT count(distinct("userFull")) FROM "user_events" WHERE ${ENV} AND ${timeFilter()} GROUP BY time(10s)`,
    );
    expect(byGroupAndWindow(rows, () => "all")).toStrictEqual(expected(10_000, () => "all", "users"));
  });

  test.each([
    ["event_action", (e: Sent) => e[2]],
    ["origin", (e: Sent) => e[3]],
  ])("events per minute by %s", async (tag, group) => {
    const rows = await series(
      `SELECT count("userFull") FROM "user_events" WHERE ${ENV} AND ${timeFilter()} GROUP BY time(1m), "${tag}"::tag fill(none)`,
    );
    expect(byGroupAndWindow(rows, (t) => t[tag] ?? "")).toStrictEqual(expected(60_000, group, "count"));
  });

  test("events per minute by event_action add up to the known set", async () => {
    const rows = await series(
      `SELECT count("userFull") FROM "user_events" WHERE ${ENV} AND ${timeFilter()} GROUP BY "event_action"::tag`,
    );
    expect(byTag(rows, "event_action")).toStrictEqual({
      "Close connection": 2,
      "Open connection": 8,
      "Start session": 6,
      "Stop session": 2,
    });
  });

  test("the event table lists every event, newest first, with its tags and fields", async () => {
    const rows = await series(
      `SELECT "userFull", "event_action", "host", "origin", "appName", "uaBrowserName", "uaOsName" FROM "user_events" WHERE ${ENV} AND ${timeFilter()} ORDER BY time DESC LIMIT 100`,
    );
    const names = Object.fromEntries(APPS.map((a) => [a.id, a.name]));
    const browser: Record<string, [string, string]> = {
      [UA.chrome119]: ["Chrome", "Windows"],
      [UA.chrome120]: ["Chrome", "Windows"],
      [UA.edge]: ["Edge", "Windows"],
      [UA.safari]: ["Safari", "Mac OS"],
      [UA.iphone]: ["Mobile Safari", "iOS"],
      [UA.firefox]: ["Firefox", "Windows"],
    };
    expect(rows[0]?.values.map((r) => r.slice(1))).toStrictEqual(
      SENT.map(([user, host, action, origin, app, ua]) => [
        `LAB\\${user}`,
        action,
        host,
        origin,
        app === null || app.startsWith("/") ? null : names[app],
        ...(ua === null ? [null, null] : (browser[ua] ?? [])),
      ]).reverse(),
    );
    expect(rows[0]?.values.map((r) => Date.parse(r[0]))).toStrictEqual([...receivedAt].reverse());
  });

  test("unique users per app: Open connection GROUP BY appName::tag", async () => {
    const rows = await series(
      `SELECT count(distinct("userFull")) FROM "user_events" WHERE ${ENV} AND "event_action"::tag = 'Open connection' AND ${timeFilter()} GROUP BY "appName"::tag`,
    );
    // The QMC visit has no app, so no appName tag.
    expect(byTag(rows, "appName")).toStrictEqual({
      "": 1,
      Finance: 1,
      "HR overview": 2,
      "Sales analysis": 4,
    });
  });

  test("users per browser: GROUP BY uaBrowserName::tag (Butler SOS 15's tag name)", async () => {
    const rows = await series(
      `SELECT count(distinct("userFull")) FROM "user_events" WHERE ${ENV} AND ${timeFilter()} GROUP BY "uaBrowserName"::tag`,
    );
    // Session events carry no user agent: every user is also in the unnamed group.
    expect(byTag(rows, "uaBrowserName")).toStrictEqual({
      "": 6,
      Chrome: 2,
      Edge: 1,
      Firefox: 1,
      "Mobile Safari": 1,
      Safari: 1,
    });
  });

  test("users per OS: GROUP BY uaOsName::tag (Butler SOS 15's tag name)", async () => {
    const rows = await series(
      `SELECT count(distinct("userFull")) FROM "user_events" WHERE ${ENV} AND ${timeFilter()} GROUP BY "uaOsName"::tag`,
    );
    expect(byTag(rows, "uaOsName")).toStrictEqual({ "": 6, iOS: 1, "Mac OS": 1, Windows: 4 });
  });

  test("the documented qs_ names carry the same breakdown, in the same series", async () => {
    const [butler, documented, both] = await Promise.all(
      ["uaBrowserName", "qs_uaBrowserName", "uaBrowserName, qs_uaBrowserName"].map((tags) =>
        series(
          `SELECT count("userFull") FROM "user_events" WHERE ${ENV} AND ${timeFilter()} GROUP BY ${tags}`,
        ),
      ),
    );
    expect(byTag(documented ?? [], "qs_uaBrowserName")).toStrictEqual(byTag(butler ?? [], "uaBrowserName"));
    expect(both?.length).toBe(butler?.length);
  });
});

/** One variable's current selection: one value, several, or All. */
type Selection = string | string[] | "$__all";

interface Variable {
  name: string;
  query: string;
  regex?: string;
  multi?: boolean;
  includeAll?: boolean;
  allValue?: string;
}
interface Target {
  refId: string;
  query: string;
  rawQuery: boolean;
  resultFormat: string;
}
interface Panel {
  id: number;
  type: string;
  title: string;
  datasource?: { uid: string };
  targets?: Target[];
  panels?: Panel[];
}
interface Dashboard {
  __inputs: { name: string; type: string; pluginId: string }[];
  panels: Panel[];
  templating: { list: Variable[] };
}

const DASHBOARD = JSON.parse(
  readFileSync(join(ROOT, "grafana/sense-events-influxdb.json"), "utf8"),
) as Dashboard;
const INTERVAL_MS = 10_000;

/** Escapes a value the way Grafana's InfluxDB data source does inside a regex. */
function regexEscape(value: string): string {
  return value.replace(/[\\^$*+?.()|[\]{}/]/g, "\\$&");
}

/** Substitutes variables and macros as Grafana does for a raw InfluxQL query. */
function interpolate(query: string, selection: Record<string, Selection>): string {
  const vars = new Map(DASHBOARD.templating.list.map((v) => [v.name, v]));
  let out = query
    .replaceAll("$timeFilter", timeFilter())
    .replaceAll("$__interval_ms", String(INTERVAL_MS))
    .replaceAll("$__interval", `${INTERVAL_MS / 1000}s`);
  // Longest names first, so $value1 never eats $value10.
  for (const name of [...vars.keys()].sort((a, b) => b.length - a.length)) {
    const v = vars.get(name) as Variable;
    const chosen = selection[name];
    if (chosen === undefined) continue;
    let text: string;
    if (chosen === "$__all") text = v.allValue ?? "";
    else if (!v.multi && !v.includeAll) text = chosen as string;
    else {
      const values = (Array.isArray(chosen) ? chosen : [chosen]).map(regexEscape);
      text = values.length === 1 ? (values[0] as string) : `(${values.join("|")})`;
    }
    out = out.replaceAll(`$${name}`, text);
  }
  if (/\$[\w{]/.test(out)) throw new Error(`[test] unsubstituted variable in ${out}`);
  return out;
}

/** Every non-row panel, rows' own panels included. */
function allPanels(): Panel[] {
  return DASHBOARD.panels.flatMap((p) => (p.type === "row" ? (p.panels ?? []) : [p]));
}

/** Runs every target of the panel titled `title` with `selection`; answers in target order. */
async function runPanel(title: string, selection: Record<string, Selection>): Promise<Series[][]> {
  const panel = allPanels().find((p) => p.title === title);
  if (!panel) throw new Error(`[test] no panel "${title}"`);
  return Promise.all((panel.targets ?? []).map((t) => series(interpolate(t.query, selection))));
}

/** This instance's environment, the second static tag on All and every proxy host. */
const DEFAULT: Record<string, Selection> = {
  tag1: "qs_env",
  value1: ["e2e"],
  tag2: "site",
  value2: "$__all",
  host: "$__all",
};

const ua = (e: Sent, name: "browser" | "os"): string | null => {
  const table: Record<string, [string, string]> = {
    [UA.chrome119]: ["Chrome 119", "Windows 10"],
    [UA.chrome120]: ["Chrome 120", "Windows 10"],
    [UA.edge]: ["Edge 119", "Windows 10"],
    [UA.safari]: ["Safari 17", "Mac OS 10.15.7"],
    [UA.iphone]: ["Mobile Safari 17", "iOS 17.1.2"],
    [UA.firefox]: ["Firefox 120", "Windows 10"],
  };
  const row = e[5] === null ? undefined : table[e[5]];
  return row === undefined ? null : row[name === "browser" ? 0 : 1];
};

/** Panel title → what its queries must return on the known set, with the DEFAULT selection. */
const CHECKS: Record<string, (answers: Series[][]) => void> = {
  "Unique users": ([a]) => expect(a?.[0]?.values[0]?.[1]).toBe(6),
  "Sessions started": ([a]) => expect(a?.[0]?.values[0]?.[1]).toBe(6),
  "Apps opened": ([a]) => expect(a?.[0]?.values[0]?.[1]).toBe(7),
  "Proxy hosts sending": ([a]) => expect(a?.[0]?.values[0]?.[1]).toBe(2),
  "Unique users and sessions started": ([users, sessions]) => {
    expect(byGroupAndWindow(users ?? [], () => "all")).toStrictEqual(
      expected(INTERVAL_MS, () => "all", "users"),
    );
    expect(byGroupAndWindow(sessions ?? [], () => "all")).toStrictEqual(
      expected(INTERVAL_MS, (e) => (e[2] === "Start session" ? "all" : null), "count"),
    );
  },
  "Events per minute by action": ([a]) => {
    // Per minute = count × 60000 / $__interval_ms.
    const perMinute = expected(INTERVAL_MS, (e) => e[2], "count");
    for (const windows of Object.values(perMinute))
      for (const w of Object.keys(windows)) windows[w] = ((windows[w] ?? 0) * 60_000) / INTERVAL_MS;
    expect(byGroupAndWindow(a ?? [], (t) => t.event_action ?? "")).toStrictEqual(perMinute);
  },
  "Top apps by unique users": ([a]) => {
    expect(a?.[0]?.columns).toStrictEqual(["time", "Unique users"]);
    expect(byTag(a ?? [], "appName")).toStrictEqual({ Finance: 1, "HR overview": 2, "Sales analysis": 4 });
  },
  "Browsers by major version": ([a]) =>
    expect(byGroupAndWindow(a ?? [], (t) => `${t.uaBrowserName} ${t.uaBrowserMajorVersion}`)).toStrictEqual(
      expected(INTERVAL_MS, (e) => ua(e, "browser"), "users"),
    ),
  "Operating systems by version": ([a]) =>
    expect(byGroupAndWindow(a ?? [], (t) => `${t.uaOsName} ${t.uaOsVersion}`)).toStrictEqual(
      expected(INTERVAL_MS, (e) => ua(e, "os"), "users"),
    ),
  "Events per proxy host": ([a]) =>
    expect(byGroupAndWindow(a ?? [], (t) => t.host ?? "")).toStrictEqual(
      expected(INTERVAL_MS, (e) => e[1], "count"),
    ),
  "Last event per proxy host": ([a]) => {
    const last = (host: string) =>
      SENT.map((e, i) => [e, i] as const)
        .filter(([e]) => e[1] === host)
        .at(-1);
    expect(
      (a ?? []).map((s) => [s.tags?.host, Date.parse(s.values[0]?.[0]), s.values[0]?.[1]]),
    ).toStrictEqual(
      ["proxy-a", "proxy-b"].map((host) => {
        const [e, i] = last(host) ?? [];
        return [host, receivedAt[i ?? -1], `LAB\\${e?.[0]}`];
      }),
    );
  },
  "Datagrams per interval": ([a]) => {
    const s = a?.[0];
    expect(s?.columns).toStrictEqual([
      "time",
      "received",
      "processed",
      "dropped (size, rate, queue)",
      "not allowed",
      "rejected",
      "excluded",
      "failed",
      "kernel drops",
    ]);
    const totals = (s?.columns ?? [])
      .slice(1)
      .map((_, c) => (s?.values ?? []).reduce((n, r) => n + (r[c + 1] ?? 0), 0));
    // The other environment's 50 received and 9 rejected are filtered out; the kernel counter may see other tests.
    expect(totals.slice(0, 7)).toStrictEqual([DATAGRAMS, DATAGRAMS, 0, 0, 1, 0, 0]);
  },
  "Processing time": ([a]) => {
    const s = a?.[0];
    expect(s?.columns).toStrictEqual(["time", "average", "p95", "max"]);
    const rows = s?.values ?? [];
    expect(rows.length).toBeGreaterThan(0);
    for (const [, avg, p95, max] of rows) expect(avg >= 0 && p95 >= 0 && max >= p95 && max >= avg).toBe(true);
  },
  "Events counted by source": ([a]) => {
    const totals = Object.fromEntries(
      (a ?? []).map((s) => [s.tags?.source, s.values.reduce((n, r) => n + (r[1] ?? 0), 0)]),
    );
    expect(totals).toStrictEqual({ "qseow-proxy-connection": 10, "qseow-proxy-session": 8, Unknown: 1 });
  },
};

describe("grafana/sense-events-influxdb.json on the same data", () => {
  test("is importable: one InfluxDB datasource input, used by every panel, target and variable", () => {
    expect(DASHBOARD.__inputs).toStrictEqual([
      expect.objectContaining({ name: "DS_INFLUXDB", type: "datasource", pluginId: "influxdb" }),
    ]);
    const uids = [
      ...allPanels().flatMap((p) => [
        p.datasource?.uid,
        ...(p.targets ?? []).map((t) => (t as { datasource?: { uid: string } }).datasource?.uid),
      ]),
      ...DASHBOARD.templating.list.map((v) => (v as { datasource?: { uid: string } }).datasource?.uid),
    ];
    // biome-ignore lint/suspicious/noTemplateCurlyInString: Grafana's import placeholder, not a JS template
    expect(new Set(uids)).toStrictEqual(new Set(["${DS_INFLUXDB}"]));
    expect(
      allPanels()
        .flatMap((p) => p.targets ?? [])
        .every((t) => t.rawQuery),
    ).toBe(true);
  });

  test("hard-codes no environment: no query names this site's static tags or their values", () => {
    const queries = [
      ...allPanels().flatMap((p) => (p.targets ?? []).map((t) => t.query)),
      ...DASHBOARD.templating.list.map((v) => v.query),
    ];
    expect(queries.filter((q) => /"(?:qs_env|env|site)"|'(?:dev|e2e|lab|other)'/.test(q))).toStrictEqual([]);
  });

  test("every panel has a check here, so a new panel cannot go untested", () => {
    expect(
      allPanels()
        .map((p) => p.title)
        .sort(),
    ).toStrictEqual(Object.keys(CHECKS).sort());
  });

  test("the variables offer the static tags, their values and the proxy hosts", async () => {
    const vars = new Map(DASHBOARD.templating.list.map((v) => [v.name, v]));
    const options = async (name: string) => {
      const v = vars.get(name) as Variable;
      const rows = await series(interpolate(v.query, DEFAULT));
      const values = rows.flatMap((s) => s.values.map((r) => String(r.at(-1))));
      const regex = v.regex ? new RegExp(v.regex.slice(1, v.regex.lastIndexOf("/"))) : null;
      return values.filter((x) => regex === null || regex.test(x)).sort();
    };
    expect({
      tag1: await options("tag1"),
      tag2: await options("tag2"),
      value1: await options("value1"),
      value2: await options("value2"),
      host: await options("host"),
    }).toStrictEqual({
      tag1: ["qs_env", "site"],
      tag2: ["qs_env", "site"],
      value1: ["e2e", "other"],
      value2: ["lab"],
      host: ["proxy-a", "proxy-b"],
    });
  });

  test.each(allPanels().map((p) => [p.title]))("panel %s returns the expected data", async (title) => {
    const check = CHECKS[title];
    if (!check) throw new Error(`no check for panel "${title}"`);
    check(await runPanel(title, DEFAULT));
  });

  test("the proxy host variable narrows the user panels to that host", async () => {
    const [[users], [hosts]] = await Promise.all([
      runPanel("Unique users", { ...DEFAULT, host: ["proxy-b"] }),
      runPanel("Events per proxy host", { ...DEFAULT, host: ["proxy-b"] }),
    ]);
    expect([users?.[0]?.values[0]?.[1], hosts?.map((s) => s.tags?.host)]).toStrictEqual([3, ["proxy-b"]]);
  });

  test("both environments together when the static tag value is All", async () => {
    const [[users]] = await Promise.all([runPanel("Unique users", { ...DEFAULT, value1: "$__all" })]);
    expect(users?.[0]?.values[0]?.[1]).toBe(7);
  });
});
