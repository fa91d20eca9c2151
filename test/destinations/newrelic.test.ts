import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import type { Destination, SendResult } from "../../src/destinations/destination.ts";
import {
  NEW_RELIC_MAX_BODY_BYTES,
  type NewRelicDestinationOptions,
  newRelicDestination,
  newRelicEvent,
  scrambleValue,
} from "../../src/destinations/newrelic.ts";
import { silentLogger } from "../../src/log.ts";
import { testDestinationContract } from "../support/destination-contract.ts";
import { e2Deliverable, SALES_APP_ID, withEvent } from "../support/events.ts";

const E2 = e2Deliverable();

/** The reference §17 E2 New Relic array element, byte for byte. */
const E2_ELEMENT =
  '{"timestamp":1732090542123,"qs_host":"pro2-win1","qs_event_action":"Open connection","qs_userFull":"ab4d299d22eb1b8e","qs_userDirectory":"e917621682605938","qs_userId":"76b784e6533bb670","qs_origin":"AppAccess","qs_appId":"a421f4a2-c311-4ef4-ba41-fe2e6a2b0d69","qs_appName":"Sales analysis","qs_uaBrowserName":"Chrome","qs_uaBrowserMajorVersion":"119","qs_uaOsName":"Windows","qs_uaOsVersion":"10","service":"qlik-sense","qs_env":"dev","env2":"a b,c=d","eventType":"qs_userEvent"}';

const ACCOUNTS: Record<string, string> = { "1234567": "key-good", "7654321": "key-other" };

interface Received {
  path: string;
  contentType: string | null;
  contentEncoding: string | null;
  apiKey: string | null;
  custom: string | null;
  body: string;
}

/** What the stand-in got, and a fixed status it answers with instead while `forced` is set. */
interface EventApiState {
  received: Received[];
  forced: { status: number; headers?: Record<string, string> } | null;
}

/**
 * A stand-in for New Relic's Event API that checks requests the way it does: POST to
 * /v1/accounts/<id>/events, the account's Api-Key, a gzip JSON array of at most 1000 events and
 * 1 MB uncompressed.
 */
function startEventApi(state: EventApiState) {
  return Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    async fetch(req) {
      if (state.forced) return new Response("forced", state.forced);
      const path = new URL(req.url).pathname;
      const match = /^\/v1\/accounts\/(\d+)\/events$/.exec(path);
      if (req.method !== "POST" || !match) return new Response("not found", { status: 404 });
      if (req.headers.get("api-key") !== ACCOUNTS[match[1] ?? ""])
        return new Response("forbidden", { status: 403 });
      if (req.headers.get("content-encoding") !== "gzip") return new Response("need gzip", { status: 400 });
      const body = new TextDecoder().decode(Bun.gunzipSync(new Uint8Array(await req.arrayBuffer())));
      if (Buffer.byteLength(body) > 1_000_000) return new Response("too large", { status: 413 });
      const events = JSON.parse(body);
      if (!Array.isArray(events) || events.length > 1000) return new Response("bad batch", { status: 400 });
      state.received.push({
        path,
        contentType: req.headers.get("content-type"),
        contentEncoding: req.headers.get("content-encoding"),
        apiKey: req.headers.get("api-key"),
        custom: req.headers.get("x-custom"),
        body,
      });
      return Response.json({ success: true, uuid: crypto.randomUUID() }, { status: 202 });
    },
  });
}

const api: EventApiState = { received: [], forced: null };
let server: ReturnType<typeof Bun.serve>;

beforeAll(() => {
  server = startEventApi(api);
});

afterEach(() => {
  api.received = [];
  api.forced = null;
});

afterAll(() => server.stop(true));

function destination(overrides: Partial<NewRelicDestinationOptions> = {}): Destination {
  return newRelicDestination({
    accountName: "prod",
    accountId: "1234567",
    insertApiKey: "key-good",
    url: `http://127.0.0.1:${server.port}`,
    headers: [],
    staticAttributes: [{ name: "service", value: "qlik-sense" }],
    tags: [
      { name: "qs_env", value: "dev" },
      { name: "env2", value: "a b,c=d" },
    ],
    scramble: true,
    flushIntervalMs: 1000,
    log: silentLogger,
    ...overrides,
  });
}

describe("attributes", () => {
  test("E2 serialises to the reference §17 array element", () => {
    expect(destination().serialize(E2)).toStrictEqual([E2_ELEMENT]);
  });

  test.each([
    ["LAB\\goran", "ab4d299d22eb1b8e"],
    ["LAB", "e917621682605938"],
    ["goran", "76b784e6533bb670"],
    ["", ""],
  ])("scrambles %p to %p", (value, hash) => {
    expect(scrambleValue(value)).toBe(hash);
  });

  test("without scrambling the user attributes are sent as they are, and no user gives empty values", () => {
    const plain = { staticAttributes: [], tags: [], scramble: false };
    expect([
      newRelicEvent(E2, plain).qs_userFull,
      newRelicEvent(withEvent(E2, { userDirectory: "", userId: "" }, ""), { ...plain, scramble: true })
        .qs_userFull,
    ]).toStrictEqual(["LAB\\goran", ""]);
  });

  test("without appId and UA the app and UA attributes are left out", () => {
    const event = newRelicEvent(withEvent(E2, { appId: null, appName: null, userAgent: null }), {
      staticAttributes: [],
      tags: [],
      scramble: false,
    });
    expect(Object.keys(event)).toStrictEqual([
      "timestamp",
      "qs_host",
      "qs_event_action",
      "qs_userFull",
      "qs_userDirectory",
      "qs_userId",
      "qs_origin",
      "eventType",
    ]);
  });

  test("an unknown app name becomes <unknown app name> and unknown UA parts are omitted", () => {
    const ua = {
      raw: "x",
      browserName: "Chrome",
      browserMajorVersion: "120",
      osName: "Linux",
      osVersion: null,
    };
    const event = newRelicEvent(withEvent(E2, { appName: null, userAgent: ua }), {
      staticAttributes: [],
      tags: [],
      scramble: false,
    });
    expect(Object.entries(event).slice(7)).toStrictEqual([
      ["qs_appId", SALES_APP_ID],
      ["qs_appName", "<unknown app name>"],
      ["qs_uaBrowserName", "Chrome"],
      ["qs_uaBrowserMajorVersion", "120"],
      ["qs_uaOsName", "Linux"],
      ["eventType", "qs_userEvent"],
    ]);
  });

  test("later keys override earlier ones in their first position, and eventType cannot be overridden", () => {
    const event = newRelicEvent(withEvent(E2, { appId: null, userAgent: null }), {
      staticAttributes: [
        { name: "qs_host", value: "static-host" },
        { name: "team", value: "static" },
        { name: "eventType", value: "Hijacked" },
      ],
      tags: [
        { name: "team", value: "tag" },
        { name: "eventType", value: "Hijacked" },
      ],
      scramble: false,
    });
    expect(event).toStrictEqual({
      timestamp: 1732090542123,
      qs_host: "static-host",
      qs_event_action: "Open connection",
      qs_userFull: "LAB\\goran",
      qs_userDirectory: "LAB",
      qs_userId: "goran",
      qs_origin: "AppAccess",
      team: "tag",
      eventType: "qs_userEvent",
    });
    expect(Object.keys(event).slice(-2)).toStrictEqual(["team", "eventType"]);
  });
});

describe("requests", () => {
  test("POSTs a gzip JSON array to /v1/accounts/<id>/events with the reference §12 headers", async () => {
    const dest = destination({ headers: [{ name: "X-Custom", value: "yes" }] });
    expect(await dest.send(dest.serialize(E2))).toStrictEqual({ kind: "ok" });
    expect(api.received).toStrictEqual([
      {
        path: "/v1/accounts/1234567/events",
        contentType: "application/json",
        contentEncoding: "gzip",
        apiKey: "key-good",
        custom: "yes",
        body: `[${E2_ELEMENT}]`,
      },
    ]);
  });

  test.each([
    ["without a trailing slash", ""],
    ["with a trailing slash", "/"],
  ])("joins a base URL %s and a numeric account id", async (_name, slash) => {
    const dest = destination({ url: `http://127.0.0.1:${server.port}${slash}`, accountId: 1234567 });
    expect(await dest.send(dest.serialize(E2))).toStrictEqual({ kind: "ok" });
    expect(api.received.map((r) => r.path)).toStrictEqual(["/v1/accounts/1234567/events"]);
  });

  test("Api-Key from the account wins over a configured Api-Key header", async () => {
    const dest = destination({ headers: [{ name: "Api-Key", value: "key-from-header" }] });
    expect(await dest.send(dest.serialize(E2))).toStrictEqual({ kind: "ok" });
    expect(api.received.map((r) => r.apiKey)).toStrictEqual(["key-good"]);
  });

  test("has the account name, 1000 events per batch and room for the array syntax under 1 MB", () => {
    const dest = destination();
    expect([dest.name, dest.maxBatchItems, dest.maxBatchBytes + dest.maxBatchItems + 1]).toStrictEqual([
      "newrelic:prod",
      1000,
      NEW_RELIC_MAX_BODY_BYTES,
    ]);
  });

  test("a full batch of 1000 items totalling maxBatchBytes gives a body of exactly 1 MB and is accepted", async () => {
    const dest = destination();
    const size = Math.floor(dest.maxBatchBytes / 1000);
    const items = Array.from({ length: 1000 }, (_, i) => {
      const head = `{"eventType":"qs_userEvent","n":${i},"pad":"`;
      const extra = i === 0 ? dest.maxBatchBytes - size * 1000 : 0;
      return `${head}${"x".repeat(size + extra - head.length - 2)}"}`;
    });
    expect(await dest.send(items)).toStrictEqual({ kind: "ok" });
    expect([
      Buffer.byteLength(api.received[0]?.body ?? ""),
      JSON.parse(api.received[0]?.body ?? "[]").length,
    ]).toStrictEqual([NEW_RELIC_MAX_BODY_BYTES, 1000]);
  });

  test("a body over 1 MB is too_large and not sent", async () => {
    const dest = destination();
    const big = `{"pad":"${"x".repeat(NEW_RELIC_MAX_BODY_BYTES)}"}`;
    expect((await dest.send([big])).kind).toBe("too_large");
    expect(api.received).toStrictEqual([]);
  });
});

describe("results", () => {
  test("a wrong insert key is blocked (403)", async () => {
    const dest = destination({ insertApiKey: "key-wrong" });
    expect(await dest.send(dest.serialize(E2))).toStrictEqual({
      kind: "blocked",
      error: "[newrelic:prod] HTTP 403: forbidden",
    });
  });

  test.each([
    [500, "retry"],
    [503, "retry"],
    [408, "retry"],
    [429, "retry"],
    [401, "blocked"],
    [404, "blocked"],
    [413, "too_large"],
    [400, "rejected"],
    [422, "rejected"],
  ] as [number, SendResult["kind"]][])("status %d is %s", async (status, kind) => {
    api.forced = { status };
    expect((await destination().send(destination().serialize(E2))).kind).toBe(kind);
  });

  test("Retry-After on 429 is passed on in ms", async () => {
    api.forced = { status: 429, headers: { "Retry-After": "7" } };
    expect(await destination().send(destination().serialize(E2))).toStrictEqual({
      kind: "retry",
      error: "[newrelic:prod] HTTP 429: forced",
      retryAfterMs: 7000,
    });
  });

  test("a refused connection is retry", async () => {
    const closed = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response() });
    const url = `http://127.0.0.1:${closed.port}`;
    closed.stop(true);
    expect((await destination({ url }).send(destination().serialize(E2))).kind).toBe("retry");
  });

  test("a failing account does not affect another account", async () => {
    const failing = destination({ accountName: "broken", insertApiKey: "revoked" });
    const other = destination({ accountName: "other", accountId: "7654321", insertApiKey: "key-other" });
    const [a, b] = await Promise.all([failing.send(failing.serialize(E2)), other.send(other.serialize(E2))]);
    expect([a.kind, b.kind, api.received.map((r) => r.path)]).toStrictEqual([
      "blocked",
      "ok",
      ["/v1/accounts/7654321/events"],
    ]);
  });
});

testDestinationContract("newrelic", async () => {
  const state: EventApiState = { received: [], forced: null };
  const receiver = startEventApi(state);
  const stop = async () => {
    await receiver.stop(true);
  };
  return {
    destination: destination({ url: `http://127.0.0.1:${receiver.port}` }),
    // Each item is one JSON event; re-serialising the parsed array gives the items back byte for byte.
    received: async () =>
      state.received.flatMap((r) => (JSON.parse(r.body) as unknown[]).map((event) => JSON.stringify(event))),
    stopReceiver: stop,
    cleanup: stop,
  };
});
