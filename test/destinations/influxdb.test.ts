import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import type { SendResult } from "../../src/destinations/destination.ts";
import { formatEventCountLines } from "../../src/destinations/influx-metrics.ts";
import {
  type InfluxDestinationOptions,
  influxDestination,
  parseDurationSeconds,
} from "../../src/destinations/influxdb.ts";
import { createUserEventSerializer, type InfluxVersion } from "../../src/destinations/line-protocol.ts";
import { createLogger, silentLogger } from "../../src/log.ts";
import { testDestinationContract } from "../support/destination-contract.ts";
import { deliverable, e2Deliverable, e6Event } from "../support/events.ts";
import { freePort, type InfluxServer, startInfluxdb } from "../support/influxdb.ts";

const E2 = e2Deliverable(1);
const E6 = deliverable(e6Event());

const TAGS = [
  { name: "qs_env", value: "dev" },
  { tag: "env2", value: "a b,c=d" },
];

const V2 = {
  org: "acme",
  bucket: "events",
  token: "tok-2",
  retentionDuration: "30d",
  description: "sense-events",
};

/** v1 options writing to `dbName` with no creation settings. */
function v1Db(dbName: string): Pick<InfluxDestinationOptions, "v1"> {
  return {
    v1: {
      dbName,
      auth: { enable: false, username: "", password: "" },
      retentionPolicy: { name: "", duration: "" },
    },
  };
}

function options(port: number, overrides: Partial<InfluxDestinationOptions> = {}): InfluxDestinationOptions {
  return {
    version: 1,
    host: "127.0.0.1",
    port,
    useHttps: false,
    maxBatchSize: 1000,
    flushIntervalMs: 1000,
    v1: {
      dbName: "sense_events",
      auth: { enable: false, username: "", password: "" },
      retentionPolicy: { name: "se_rp", duration: "2w" },
    },
    v2: V2,
    v3: { database: "events3", token: "tok-3", writeTimeout: 10_000, v3WriteApi: "v2compat" },
    uaTagPrefix: "qs_",
    tags: TAGS,
    log: silentLogger,
    ...overrides,
  };
}

function captureLog() {
  const lines: string[] = [];
  return {
    lines,
    log: createLogger({ level: "info", write: (line) => lines.push(line.replace(/^\S+ /, "")) }),
  };
}

describe("against a real InfluxDB 1.x", () => {
  let influx: InfluxServer;

  beforeAll(async () => {
    influx = await startInfluxdb();
  });

  afterAll(async () => {
    await influx.close();
  });

  test("start() creates the missing v1 database with the configured retention policy", async () => {
    const { lines, log } = captureLog();
    const destination = influxDestination(options(influx.port, { log }));
    await destination.start?.();
    const res = await influx.query("SHOW RETENTION POLICIES ON sense_events", "sense_events");
    const series = res.results[0].series[0];
    const rows = series.values.map((row: unknown[]) =>
      Object.fromEntries(series.columns.map((c: string, i: number) => [c, row[i]])),
    );
    expect(rows.map((r: Record<string, unknown>) => [r.name, r.duration, r.default])).toStrictEqual([
      ["se_rp", "336h0m0s", true],
    ]);
    expect(lines).toStrictEqual(['info: [influxdb] created database "sense_events"']);
    await destination.close();
  });

  test("start() leaves an existing database alone", async () => {
    await influx.query('CREATE DATABASE "existing" WITH DURATION 1d NAME "old"', "existing");
    const { lines, log } = captureLog();
    const destination = influxDestination(
      options(influx.port, {
        log,
        v1: {
          dbName: "existing",
          auth: { enable: false, username: "", password: "" },
          retentionPolicy: { name: "se_rp", duration: "2w" },
        },
      }),
    );
    await destination.start?.();
    const res = await influx.query("SHOW RETENTION POLICIES ON existing", "existing");
    expect(res.results[0].series[0].values.map((row: unknown[]) => row[0])).toStrictEqual(["old"]);
    expect(lines).toStrictEqual([]);
    await destination.close();
  });

  test("writes v1 lines that read back with exact tags, fields and nanosecond times", async () => {
    const destination = influxDestination(
      options(influx.port, {
        v1: {
          dbName: "readback",
          auth: { enable: false, username: "", password: "" },
          retentionPolicy: { name: "autogen", duration: "0s" },
        },
      }),
    );
    await destination.start?.();
    const result = await destination.send([...destination.serialize(E2), ...destination.serialize(E6)]);
    expect(result).toStrictEqual({ kind: "ok" });
    const res = await influx.query("SELECT * FROM user_events GROUP BY *", "readback");
    const untagged = {
      appId: "",
      appName: "",
      env2: "a b,c=d",
      event_action: "",
      host: "pro2-win1",
      origin: "",
      qs_env: "dev",
      qs_uaBrowserMajorVersion: "",
      qs_uaBrowserName: "",
      qs_uaOsName: "",
      qs_uaOsVersion: "",
      userDirectory: "LAB",
      userFull: "LAB\\goran",
      userId: "goran",
    };
    // Series come sorted by tag set, so E6 (empty appId) is first.
    expect(res.results[0].series).toStrictEqual([
      {
        name: "user_events",
        tags: { ...untagged, event_action: "Stop session" },
        columns: ["time", "appId", "appName", "userFull", "userId"],
        values: [["2024-11-20T08:45:00.01Z", null, null, "LAB\\goran", "goran"]],
      },
      {
        name: "user_events",
        tags: {
          ...untagged,
          appId: "a421f4a2-c311-4ef4-ba41-fe2e6a2b0d69",
          appName: "Sales analysis",
          event_action: "Open connection",
          origin: "AppAccess",
          qs_uaBrowserMajorVersion: "119",
          qs_uaBrowserName: "Chrome",
          qs_uaOsName: "Windows",
          qs_uaOsVersion: "10",
        },
        columns: ["time", "appId", "appName", "userFull", "userId"],
        values: [
          [
            "2024-11-20T08:15:42.123000001Z",
            "a421f4a2-c311-4ef4-ba41-fe2e6a2b0d69",
            "Sales analysis",
            "LAB\\goran",
            "goran",
          ],
        ],
      },
    ]);
    await destination.close();
  });

  test("a gzipped batch above 1024 bytes is accepted and stored in full", async () => {
    await influx.query("CREATE DATABASE gzipped", "gzipped");
    const destination = influxDestination(options(influx.port, v1Db("gzipped")));
    const lines = Array.from(
      { length: 40 },
      (_, i) => destination.serialize(deliverable(E6.event, i))[0] ?? "",
    );
    expect(await destination.send(lines)).toStrictEqual({ kind: "ok" });
    const res = await influx.query("SELECT count(userId) FROM user_events", "gzipped");
    expect(res.results[0].series[0].values[0][1]).toBe(40);
    await destination.close();
  });

  test.each([2, 3] as InfluxVersion[])(
    "the v%i body parses in InfluxDB with its field names",
    async (version) => {
      const db = `body_v${version}`;
      await influx.query(`CREATE DATABASE ${db}`, db);
      const serialize = createUserEventSerializer({ version, uaTagPrefix: "qs_", tags: TAGS });
      const destination = influxDestination(options(influx.port, v1Db(db)));
      expect(await destination.send([serialize(E2), serialize(E6)])).toStrictEqual({ kind: "ok" });
      const res = await influx.query("SHOW FIELD KEYS FROM user_events", db);
      const userFields = version === 3 ? ["userFull_field", "userId_field"] : ["userFull", "userId"];
      expect(res.results[0].series[0].values).toStrictEqual([
        ["appId_field", "string"],
        ["appName_field", "string"],
        [userFields[0], "string"],
        [userFields[1], "string"],
      ]);
      await destination.close();
    },
  );

  test.each([
    [1, "float"],
    [2, "integer"],
  ] as [InfluxVersion, string][])("a v%i event_count counter is stored as %s", async (version, type) => {
    const db = `counts_v${version}`;
    await influx.query(`CREATE DATABASE ${db}`, db);
    const lines = formatEventCountLines(
      [{ source: "qseow-proxy-session", host: "h", subsystem: "", count: 5 }],
      {
        version,
        measurement: "event_count",
        tags: [],
        timeNs: "1732090560000000000",
      },
    );
    const destination = influxDestination(options(influx.port, v1Db(db)));
    expect(await destination.send(lines)).toStrictEqual({ kind: "ok" });
    const res = await influx.query("SHOW FIELD KEYS FROM event_count", db);
    expect(res.results[0].series[0].values).toStrictEqual([["counter", type]]);
    await destination.close();
  });

  test("a stopped InfluxDB gives retry, and the same batch is accepted after restart", async () => {
    await influx.query("CREATE DATABASE restarted", "restarted");
    const destination = influxDestination(options(influx.port, v1Db("restarted")));
    const lines = destination.serialize(deliverable(E6.event, 500));
    await influx.stop();
    try {
      expect((await destination.send(lines)).kind).toBe("retry");
    } finally {
      await influx.start();
    }
    expect(await destination.send(lines)).toStrictEqual({ kind: "ok" });
    await destination.close();
  });
});

type Recorded = {
  method: string;
  path: string;
  query: Record<string, string>;
  authorization: string | null;
  contentType: string | null;
  contentEncoding: string | null;
  body: string;
};

/** A stand-in for the InfluxDB 2/3 write APIs: 204 with the right token, 401 without, 400 on bad lines. */
function startFakeInflux(token: string) {
  const requests: Recorded[] = [];
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    async fetch(req) {
      const url = new URL(req.url);
      const raw = new Uint8Array(await req.arrayBuffer());
      const encoding = req.headers.get("content-encoding");
      const body = new TextDecoder().decode(encoding === "gzip" ? Bun.gunzipSync(raw) : raw);
      requests.push({
        method: req.method,
        path: url.pathname,
        query: Object.fromEntries(url.searchParams),
        authorization: req.headers.get("authorization"),
        contentType: req.headers.get("content-type"),
        contentEncoding: encoding,
        body,
      });
      const auth = req.headers.get("authorization") ?? "";
      if (auth !== `Token ${token}` && auth !== `Bearer ${token}`) {
        return Response.json({ code: "unauthorized", message: "unauthorized access" }, { status: 401 });
      }
      // Every line needs a measurement, a field set and an integer timestamp.
      const bad = body.split("\n").find((line) => !/^[^ ]+(\\ |[^ ])* [^ ].*=.* \d+$/.test(line));
      if (bad !== undefined) {
        return Response.json({ code: "invalid", message: `unable to parse '${bad}'` }, { status: 400 });
      }
      return new Response(null, { status: 204 });
    },
  });
  return { requests, server, port: server.port as number };
}

describe("write requests (reference §10.1)", () => {
  const fake = startFakeInflux("tok");
  afterAll(() => fake.server.stop(true));
  afterEach(() => {
    fake.requests.length = 0;
  });

  const line = createUserEventSerializer({ version: 2, uaTagPrefix: "qs_", tags: [] })(E6);

  test.each([
    [
      "v2",
      {
        version: 2,
        v2: { org: "my org", bucket: "b&1", token: "tok", retentionDuration: "", description: "" },
      },
      "/api/v2/write",
      { org: "my org", bucket: "b&1", precision: "ns" },
      "Token tok",
    ],
    [
      "v3 v2compat",
      { version: 3, v3: { database: "db3", token: "tok", writeTimeout: 10_000, v3WriteApi: "v2compat" } },
      "/api/v2/write",
      { bucket: "db3", precision: "ns" },
      "Token tok",
    ],
    [
      "v3 native",
      { version: 3, v3: { database: "db3", token: "tok", writeTimeout: 10_000, v3WriteApi: "native" } },
      "/api/v3/write_lp",
      { db: "db3", precision: "nanosecond" },
      "Bearer tok",
    ],
  ] as [string, Partial<InfluxDestinationOptions>, string, Record<string, string>, string][])(
    "%s posts to the right URL with the right auth",
    async (_name, overrides, path, query, authorization) => {
      const destination = influxDestination(options(fake.port, overrides));
      expect(await destination.send([line])).toStrictEqual({ kind: "ok" });
      expect(fake.requests).toStrictEqual([
        {
          method: "POST",
          path,
          query,
          authorization,
          contentType: "text/plain; charset=utf-8",
          contentEncoding: null,
          body: line,
        },
      ]);
    },
  );

  test.each([
    [true, `Basic ${btoa("user:pa:ss")}`],
    [false, null],
  ])("v1 with auth.enable %p sends Authorization %p", async (enable, authorization) => {
    const destination = influxDestination(
      options(fake.port, {
        v1: {
          dbName: "d b",
          auth: { enable, username: "user", password: "pa:ss" },
          retentionPolicy: { name: "", duration: "" },
        },
      }),
    );
    await destination.send([line]);
    expect(fake.requests.map((r) => [r.path, r.query, r.authorization])).toStrictEqual([
      ["/write", { db: "d b", precision: "ns" }, authorization],
    ]);
  });

  test.each([
    [1, 1, null],
    [20, 20, "gzip"],
  ])("a batch of %i lines (gzip above 1024 bytes) arrives as one request", async (count, lines, encoding) => {
    const destination = influxDestination(options(fake.port, { version: 2, v2: { ...V2, token: "tok" } }));
    const batch = Array.from({ length: count }, () => line);
    expect(await destination.send(batch)).toStrictEqual({ kind: "ok" });
    expect(fake.requests.map((r) => [r.contentEncoding, r.body.split("\n").length])).toStrictEqual([
      [encoding, lines],
    ]);
    expect(fake.requests[0]?.body).toBe(batch.join("\n"));
  });

  test("a wrong token is blocked", async () => {
    const destination = influxDestination(options(fake.port, { version: 2, v2: { ...V2, token: "wrong" } }));
    expect(await destination.send([line])).toStrictEqual({
      kind: "blocked",
      error: '[influxdb] write failed: 401 {"code":"unauthorized","message":"unauthorized access"}',
    });
  });

  test("an unparsable line is rejected with the response body", async () => {
    const destination = influxDestination(options(fake.port, { version: 2, v2: { ...V2, token: "tok" } }));
    expect(await destination.send(["garbage"])).toStrictEqual({
      kind: "rejected",
      error: `[influxdb] write failed: 400 {"code":"invalid","message":"unable to parse 'garbage'"}`,
    });
  });
});

describe("result classes (reference §9)", () => {
  let reply: () => Response | Promise<Response> = () => new Response(null, { status: 204 });
  const server = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => reply() });
  afterAll(() => server.stop(true));

  const longBody = "x".repeat(1000);
  test.each([
    [204, {}, "", { kind: "ok" }],
    [500, {}, "boom", { kind: "retry", error: "[influxdb] write failed: 500 boom" }],
    [408, {}, "", { kind: "retry", error: "[influxdb] write failed: 408" }],
    [
      429,
      { "Retry-After": "7" },
      "slow down",
      { kind: "retry", error: "[influxdb] write failed: 429 slow down", retryAfterMs: 7000 },
    ],
    [
      503,
      { "Retry-After": "2" },
      "",
      { kind: "retry", error: "[influxdb] write failed: 503", retryAfterMs: 2000 },
    ],
    [
      503,
      { "Retry-After": "1000" },
      "",
      { kind: "retry", error: "[influxdb] write failed: 503", retryAfterMs: 300_000 },
    ],
    [401, {}, "no", { kind: "blocked", error: "[influxdb] write failed: 401 no" }],
    [
      401,
      { "Retry-After": "5" },
      "no",
      { kind: "blocked", error: "[influxdb] write failed: 401 no", retryAfterMs: 5000 },
    ],
    [403, {}, "no", { kind: "blocked", error: "[influxdb] write failed: 403 no" }],
    [404, {}, "db not found", { kind: "blocked", error: "[influxdb] write failed: 404 db not found" }],
    [413, {}, "too big", { kind: "too_large", error: "[influxdb] write failed: 413 too big" }],
    [400, {}, longBody, { kind: "rejected", error: `[influxdb] write failed: 400 ${"x".repeat(512)}` }],
    [422, {}, "bad", { kind: "rejected", error: "[influxdb] write failed: 422 bad" }],
  ] as [number, Record<string, string>, string, SendResult][])(
    "status %i gives the expected result",
    async (status, headers, body, expected) => {
      reply = () => new Response(body || null, { status, headers });
      const destination = influxDestination(options(server.port as number));
      expect(await destination.send(["m f=1 1"])).toStrictEqual(expected);
    },
  );

  test("an IPv6 literal host is written to, bare or already in brackets", async () => {
    const v6 = Bun.serve({ hostname: "::1", port: 0, fetch: () => new Response(null, { status: 204 }) });
    try {
      for (const host of ["::1", "[::1]"]) {
        const destination = influxDestination(options(v6.port as number, { host }));
        expect(await destination.send(["m f=1 1"])).toStrictEqual({ kind: "ok" });
      }
    } finally {
      v6.stop(true);
    }
  });

  test("a connection refused is retryable", async () => {
    const destination = influxDestination(options(await freePort()));
    expect((await destination.send(["m f=1 1"])).kind).toBe("retry");
  });

  test("a v3 write that outlives writeTimeout is retryable", async () => {
    reply = () => new Promise(() => {});
    const destination = influxDestination(
      options(server.port as number, {
        version: 3,
        v3: { database: "d", token: "t", writeTimeout: 200, v3WriteApi: "native" },
      }),
    );
    expect(await destination.send(["m f=1 1"])).toStrictEqual({
      kind: "retry",
      error: "[influxdb] write failed: timeout after 200 ms",
    });
  });
});

describe("v2 bucket creation", () => {
  const calls: string[] = [];
  let created: unknown;
  let buckets: unknown[] = [];
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    async fetch(req) {
      const url = new URL(req.url);
      calls.push(`${req.method} ${url.pathname}${url.search} ${req.headers.get("authorization")}`);
      if (url.pathname === "/api/v2/buckets" && req.method === "GET") return Response.json({ buckets });
      if (url.pathname === "/api/v2/orgs") return Response.json({ orgs: [{ id: "org-1", name: "acme" }] });
      if (url.pathname === "/api/v2/buckets" && req.method === "POST") {
        created = await req.json();
        return Response.json({ id: "b1" }, { status: 201 });
      }
      return new Response("not found", { status: 404 });
    },
  });
  afterAll(() => server.stop(true));
  afterEach(() => {
    calls.length = 0;
    created = undefined;
  });

  test("start() creates a missing bucket with everySeconds from retentionDuration", async () => {
    buckets = [];
    const destination = influxDestination(options(server.port as number, { version: 2 }));
    await destination.start?.();
    expect(calls).toStrictEqual([
      "GET /api/v2/buckets?org=acme&name=events Token tok-2",
      "GET /api/v2/orgs?org=acme Token tok-2",
      "POST /api/v2/buckets Token tok-2",
    ]);
    expect(created).toStrictEqual({
      orgID: "org-1",
      name: "events",
      description: "sense-events",
      retentionRules: [{ type: "expire", everySeconds: 2_592_000 }],
    });
  });

  test("start() does nothing more when the bucket exists", async () => {
    buckets = [{ id: "b0", name: "events" }];
    const destination = influxDestination(options(server.port as number, { version: 2 }));
    await destination.start?.();
    expect(calls).toStrictEqual(["GET /api/v2/buckets?org=acme&name=events Token tok-2"]);
  });

  test("start() warns and resolves when the server is unreachable", async () => {
    const { lines, log } = captureLog();
    const destination = influxDestination(options(await freePort(), { version: 2, log }));
    await destination.start?.();
    expect(lines.map((l) => l.slice(0, 60))).toStrictEqual([
      'warn: [influxdb] could not check or create bucket "events": ',
    ]);
  });
});

describe("parseDurationSeconds", () => {
  test.each([
    ["30d", 2_592_000],
    ["1h30m", 5400],
    ["2w", 1_209_600],
    ["0", 0],
    ["", 0],
    ["INF", 0],
  ])("duration %p is %i seconds", (text, seconds) => {
    expect(parseDurationSeconds(text)).toBe(seconds);
  });

  test("an unknown duration unit throws", () => {
    expect(() => parseDurationSeconds("3 parsecs")).toThrow('[influxdb] invalid duration "3 parsecs"');
  });
});

testDestinationContract("influxdb v2", async () => {
  const fake = startFakeInflux("tok");
  return {
    destination: influxDestination(options(fake.port, { version: 2, v2: { ...V2, token: "tok" } })),
    received: async () => fake.requests.flatMap((r) => r.body.split("\n")),
    stopReceiver: async () => {
      await fake.server.stop(true);
    },
    cleanup: async () => {
      await fake.server.stop(true);
    },
  };
});
