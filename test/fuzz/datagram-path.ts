// The datagram path under fuzzing (issue 9): the real pipeline, processor, rejected log, session
// tracker and ring, with the real InfluxDB v1/v2/v3, MQTT and New Relic serializers as targets.
// `check(bytes)` runs one datagram and throws on any broken property; test/fuzz/datagram.test.ts
// (bounded) and scripts/fuzz.ts (1,000,000 cases) share it, and the arbitraries below.
import fc from "fast-check";
import { influxDestination } from "../../src/destinations/influxdb.ts";
import { mqttDestination } from "../../src/destinations/mqtt.ts";
import { newRelicDestination } from "../../src/destinations/newrelic.ts";
import { ACTIONS, UNKNOWN_APP_NAME, type UserEvent } from "../../src/events/event.ts";
import { EventRing } from "../../src/events/ring.ts";
import { createSessionTracker } from "../../src/events/sessions.ts";
import { createExcluder } from "../../src/ingest/exclude.ts";
import { createPipeline, type PipelineTarget } from "../../src/ingest/pipeline.ts";
import { createProcessor } from "../../src/ingest/process.ts";
import { RejectedLog } from "../../src/ingest/rejected.ts";
import { createUserAgentParser } from "../../src/ingest/user-agent.ts";
import { silentLogger } from "../../src/log.ts";
import { createDatagramCounters, type DatagramCounters } from "../../src/stats.ts";
import { parseLine, storedTagValue } from "./line-reader.ts";

const EVENT_KEYS = Object.keys({
  id: 0,
  receivedAt: 0,
  source: 0,
  host: 0,
  action: 0,
  userDirectory: 0,
  userId: 0,
  origin: 0,
  context: 0,
  appId: 0,
  appName: 0,
  message: 0,
  userAgent: 0,
  remoteAddress: 0,
} satisfies Record<keyof UserEvent, 0>);
const CAPS: [keyof UserEvent, number][] = [
  ["host", 100],
  ["userDirectory", 100],
  ["userId", 100],
  ["origin", 200],
  ["context", 500],
  ["message", 1000],
];
const SOURCES = new Set(["qseow-proxy-session", "qseow-proxy-connection", "proxy-user-event"]);
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point.
const CONTROL = /[\u0000-\u001f\u007f]/;

/** Fails the current case with a message. */
function fail(message: string): never {
  throw new Error(`[fuzz] ${message}`);
}

function assertEqual(what: string, actual: unknown, expected: unknown): void {
  const a = JSON.stringify(actual);
  const e = JSON.stringify(expected);
  if (a !== e) fail(`${what}: got ${a}, expected ${e}`);
}

/** Outcome totals of a run (what scripts/fuzz.ts prints). */
export type Outcomes = Record<"accepted" | "excluded" | "unknown_type" | "malformed" | "too_large", number>;

/** Sum of every outcome counter: exactly one of them moves per datagram. */
function outcomeSum(c: DatagramCounters): number {
  return (
    c.accepted +
    c.excluded +
    c.rejected.unknown_type +
    c.rejected.malformed +
    c.dropped.too_large +
    c.dropped.source_not_allowed +
    c.dropped.rate_limited +
    c.processingErrors
  );
}

/** Checks the shape of an accepted event (reference §6, §3.1 caps and cleaning). */
function checkEvent(event: UserEvent, lastId: number): void {
  assertEqual("keys", Object.keys(event), EVENT_KEYS);
  if (event.id !== lastId + 1) fail(`id ${event.id} after ${lastId}`);
  if (!SOURCES.has(event.source)) fail(`source ${event.source}`);
  if (event.receivedAt !== new Date(NOW).toISOString()) fail(`receivedAt ${event.receivedAt}`);
  if (event.remoteAddress !== "10.1.2.3") fail(`remoteAddress ${event.remoteAddress}`);
  for (const [key, cap] of CAPS) {
    const value = event[key] as string;
    if (typeof value !== "string") fail(`${key} is not a string`);
    if (value.length > cap) fail(`${key} is ${value.length} units, cap ${cap}`);
    if (CONTROL.test(value)) fail(`${key} has a control character`);
    // Format (b) reads the user out of the message (reference §3.4), where "(null)" is just text.
    const fromMessage = event.source === "proxy-user-event" && (key === "userDirectory" || key === "userId");
    if (value === "(null)" && !fromMessage) fail(`${key} is (null)`);
  }
  if (CONTROL.test(event.action) || event.action !== event.action.trim()) fail(`action ${event.action}`);
  if (event.source === "proxy-user-event" && !(ACTIONS as readonly string[]).includes(event.action)) {
    fail(`format (b) action ${event.action}`);
  }
  if (event.appId !== null && !/^[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}$/.test(event.appId)) {
    fail(`appId ${event.appId}`);
  }
  if (event.appName !== null) fail("appName without a lookup");
  const ua = event.userAgent;
  if (ua !== null) {
    assertEqual("userAgent keys", Object.keys(ua), [
      "raw",
      "browserName",
      "browserMajorVersion",
      "osName",
      "osVersion",
    ]);
    for (const [k, v] of Object.entries(ua)) if (v !== null && typeof v !== "string") fail(`userAgent.${k}`);
  }
}

/** Checks one InfluxDB line against the event (reference §10.2–§10.3). */
function checkInflux(version: 1 | 2 | 3, line: string, event: UserEvent, userFull: string, timeNs: string) {
  const parsed = parseLine(line);
  const strip = version === 3;
  const expectedTags: Record<string, string> = {};
  const tag = (key: string, value: string | null | undefined, keepBackslash = false) => {
    if (value === null || value === undefined) return;
    const stored = storedTagValue(value, strip && !keepBackslash);
    if (stored !== "") expectedTags[key] = stored;
  };
  tag("host", event.host);
  tag("event_action", event.action);
  tag("userFull", userFull, true);
  tag("userDirectory", event.userDirectory);
  tag("userId", event.userId);
  tag("origin", event.origin);
  if (event.appId !== null) {
    tag("appId", event.appId);
    tag("appName", UNKNOWN_APP_NAME);
  }
  tag("qs_uaBrowserName", event.userAgent?.browserName);
  tag("qs_uaBrowserMajorVersion", event.userAgent?.browserMajorVersion);
  tag("qs_uaOsName", event.userAgent?.osName);
  tag("qs_uaOsVersion", event.userAgent?.osVersion);
  const sortedTags = Object.fromEntries(
    Object.entries(expectedTags).sort(([a], [b]) => Buffer.compare(Buffer.from(a), Buffer.from(b))),
  );
  const fields: Record<string, string> = {};
  if (event.appId !== null) {
    fields[version === 1 ? "appId" : "appId_field"] = event.appId;
    fields[version === 1 ? "appName" : "appName_field"] = UNKNOWN_APP_NAME;
  }
  fields[version === 3 ? "userFull_field" : "userFull"] = userFull;
  fields[version === 3 ? "userId_field" : "userId"] = event.userId;
  assertEqual(`influxdb v${version} line ${line}`, parsed, {
    measurement: "user_events",
    tags: sortedTags,
    fields,
    timestamp: timeNs,
  });
}

/** The path under test and its observers; `check` runs one datagram through it. */
export function createDatagramPath() {
  const counters = createDatagramCounters();
  const processor = createProcessor({
    appName: () => undefined,
    userAgents: createUserAgentParser(1000),
    isExcluded: createExcluder([{ directory: "EXCLUDED", userId: "*" }]),
  });
  const ring = new EventRing(1000);
  const sessions = createSessionTracker({ idleTimeoutMinutes: 30, maxActive: 1000, now: () => NOW });
  const rejected = new RejectedLog({ log: silentLogger, now: () => NOW });
  const influx = ([1, 2, 3] as const).map((version) =>
    influxDestination({
      version,
      host: "127.0.0.1",
      port: 1,
      useHttps: false,
      maxBatchSize: 1000,
      flushIntervalMs: 1000,
      v1: {
        dbName: "db",
        auth: { enable: false, username: "", password: "" },
        retentionPolicy: { name: "", duration: "" },
      },
      v2: { org: "o", bucket: "b", token: "t", retentionDuration: "", description: "" },
      v3: { database: "d", token: "t", writeTimeout: 1000, v3WriteApi: "v2compat" },
      uaTagPrefix: "qs_",
      tags: [],
      log: silentLogger,
    }),
  );
  const everything = "qliksense/userevent";
  const mqtt = mqttDestination({
    brokerHost: "127.0.0.1",
    brokerPort: 1,
    tls: { enable: false, rejectUnauthorized: true },
    qos: 0,
    retain: false,
    protocolVersion: 4,
    topics: {
      everythingTopic: everything,
      sessionStartTopic: null,
      sessionStopTopic: null,
      connectionOpenTopic: null,
      connectionCloseTopic: null,
    },
    tags: [],
    log: silentLogger,
  });
  const newRelic = newRelicDestination({
    accountName: "a",
    accountId: 1,
    insertApiKey: "k",
    url: "http://127.0.0.1:1",
    headers: [],
    staticAttributes: [],
    tags: [],
    scramble: false,
    flushIntervalMs: 1000,
    log: silentLogger,
  });
  const targets: PipelineTarget[] = [
    { name: "influxdb-v1", serialize: (d) => (influx[0] as PipelineTarget).serialize(d) },
    { name: "influxdb-v2", serialize: (d) => (influx[1] as PipelineTarget).serialize(d) },
    { name: "influxdb-v3", serialize: (d) => (influx[2] as PipelineTarget).serialize(d) },
    mqtt,
    newRelic,
  ];
  let stored: UserEvent | null = null;
  let enqueued: Record<string, string[]> = {};
  let timeNs = "";
  let userFull = "";
  const pipeline = createPipeline(
    {
      counters,
      processor: {
        process(bytes, address, at) {
          const result = processor.process(bytes, address, at);
          if (result.kind === "accepted") ({ timeNs, userFull } = result.deliverable);
          return result;
        },
      },
      rejected,
      store: (event) => {
        stored = event;
        ring.push(event);
        sessions.update(event);
      },
      enqueue: (name, items) => {
        enqueued[name] = items;
      },
      processingTimes: { record() {} },
      log: silentLogger,
      now: () => NOW,
    },
    {
      allows: null,
      maxMessageSize: 65507,
      rateLimit: null,
      onTooLarge() {},
      eventCount: null,
      targets,
    },
  );
  const outcomes: Outcomes = { accepted: 0, excluded: 0, unknown_type: 0, malformed: 0, too_large: 0 };

  /** Runs one datagram and checks every property; throws on the first broken one. */
  function check(bytes: Uint8Array): void {
    const before = {
      received: counters.received,
      accepted: counters.accepted,
      excluded: counters.excluded,
      processingErrors: counters.processingErrors,
      rejected: { ...counters.rejected },
      sum: outcomeSum(counters),
    };
    const lastId = processor.lastId();
    stored = null;
    enqueued = {};
    pipeline.handle(bytes, "10.1.2.3", 5000, NOW);
    if (counters.processingErrors !== before.processingErrors)
      fail("an exception was thrown inside the pipeline");
    if (counters.received !== before.received + 1) fail("received not counted");
    if (outcomeSum(counters) !== before.sum + 1) fail("not exactly one outcome counted");
    if (counters.accepted === before.accepted) {
      if (stored !== null || Object.keys(enqueued).length > 0) fail("a non-accepted datagram was stored");
      if (counters.excluded > before.excluded) outcomes.excluded++;
      else if (counters.rejected.unknown_type > before.rejected.unknown_type) outcomes.unknown_type++;
      else if (counters.rejected.malformed > before.rejected.malformed) outcomes.malformed++;
      else outcomes.too_large++;
      return;
    }
    outcomes.accepted++;
    const event = stored as UserEvent | null;
    if (event === null) fail("accepted but not stored");
    checkEvent(event, lastId);
    for (const version of [1, 2, 3] as const) {
      const lines = enqueued[`influxdb-v${version}`] ?? [];
      if (lines.length !== 1) fail(`influxdb v${version}: ${lines.length} lines`);
      checkInflux(version, lines[0] as string, event, userFull, timeNs);
    }
    const mqttItems = enqueued.mqtt ?? [];
    if (mqttItems.length !== 1) fail(`mqtt: ${mqttItems.length} items`);
    const item = mqttItems[0] as string;
    if (!item.startsWith(`${everything}\n`)) fail("mqtt topic");
    const payload: Record<string, unknown> = {
      messageType: event.source,
      host: event.host,
      command: event.action,
      userDir: event.userDirectory,
      userId: event.userId,
      origin: event.origin,
      context: event.context,
      message: event.message,
      tags: {},
    };
    if (event.appId !== null) Object.assign(payload, { appId: event.appId, appName: UNKNOWN_APP_NAME });
    const ua = event.userAgent;
    if (ua?.browserName != null) payload.uaBrowserName = ua.browserName;
    if (ua?.browserMajorVersion != null) payload.uaBrowserMajorVersion = ua.browserMajorVersion;
    if (ua?.osName != null) payload.uaOsName = ua.osName;
    if (ua?.osVersion != null) payload.uaOsVersion = ua.osVersion;
    payload.receivedAt = event.receivedAt;
    assertEqual("mqtt payload", JSON.parse(item.slice(everything.length + 1)), payload);
    const nr = enqueued.a ?? enqueued[newRelic.name] ?? [];
    if (nr.length !== 1) fail(`new relic: ${nr.length} items`);
    const attributes: Record<string, unknown> = {
      timestamp: NOW,
      qs_host: event.host,
      qs_event_action: event.action,
      qs_userFull: userFull,
      qs_userDirectory: event.userDirectory,
      qs_userId: event.userId,
      qs_origin: event.origin,
    };
    if (event.appId !== null)
      Object.assign(attributes, { qs_appId: event.appId, qs_appName: UNKNOWN_APP_NAME });
    if (ua?.browserName != null) attributes.qs_uaBrowserName = ua.browserName;
    if (ua?.browserMajorVersion != null) attributes.qs_uaBrowserMajorVersion = ua.browserMajorVersion;
    if (ua?.osName != null) attributes.qs_uaOsName = ua.osName;
    if (ua?.osVersion != null) attributes.qs_uaOsVersion = ua.osVersion;
    attributes.eventType = "qs_userEvent";
    assertEqual("new relic event", JSON.parse(nr[0] as string), attributes);
    if (
      userFull !==
      (event.userDirectory !== "" && event.userId !== "" ? `${event.userDirectory}\\${event.userId}` : "")
    ) {
      fail(`userFull ${userFull}`);
    }
  }

  return { check, outcomes, counters, ring, sessions, rejected };
}

const NOW = Date.parse("2024-11-20T08:15:42.123Z");

// ---- Arbitraries ----

/** Characters that matter to some layer: separators, quotes, escapes, control characters, BOM, surrogates. */
const SPECIAL = [
  ";",
  "\\",
  '"',
  "'",
  " ",
  ",",
  "=",
  "<",
  ">",
  "\n",
  "\r",
  "\t",
  "\u0000",
  "\u001f",
  "\u007f",
  "\uFEFF",
  "\uD83D",
  "\uDE00",
  "😀",
  "é",
  "İ",
  "ß",
  "/",
  "?",
  "#",
  ":",
  "\u2028",
  "\u00a0",
];

/** One field: special characters, words that steer parsing, `(null)`, GUIDs, and now and then a huge one. */
const fieldArb: fc.Arbitrary<string> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc
      .array(
        fc.oneof(
          fc.constantFrom(...SPECIAL),
          fc.string({ maxLength: 4 }),
          fc.string({ unit: "grapheme", maxLength: 3 }),
        ),
        { maxLength: 12 },
      )
      .map((a) => a.join("")),
  },
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      "(null)",
      "",
      " ",
      "Start session",
      "stop session ",
      "Open connection",
      "Close connection",
      "AppAccess",
      "(null) ",
      "\uFEFF(null)",
    ),
  },
  { weight: 2, arbitrary: fc.uuid().map((id) => `/app/${id}`) },
  { weight: 1, arbitrary: fc.uuid().map((id) => `/app/${id.toUpperCase()}?reloaduri=x;y`) },
  {
    weight: 1,
    arbitrary: fc
      .tuple(fc.constantFrom("x", "\\", '"', "😀", ";"), fc.integer({ min: 90, max: 2000 }))
      .map(([c, n]) => c.repeat(n)),
  },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      "UserAgent: Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/119.0.0.0 Safari/537.36",
      "UserAgent: '\\\\\\'",
    ),
  },
);

/** Field 0: the three types in their spellings, near misses and noise. */
const typeArb = fc.oneof(
  fc.constantFrom(
    "/qseow-proxy-session/",
    "/qseow-proxy-connection/",
    "/proxy-user-event/",
    "qseow-proxy-session",
    "/QSEOW-PROXY-CONNECTION",
    "proxy-user-event/",
    "\uFEFF/qseow-proxy-session/",
    "/qseow-proxy-session//",
    "/qseow-proxy/",
    "(null)",
  ),
  fieldArb,
);

/** A format (b) message: action phrases and user spellings of reference §3.4. */
const formatBMessageArb = fc
  .tuple(
    fc.constantFrom(
      "Start session for user",
      "stop session for user",
      "Opening connection for user",
      "Closing connection",
      "App connection Opened for",
      "connection closed",
      "nothing here",
    ),
    fc.constantFrom("", " ", " user "),
    fieldArb,
    fc.constantFrom("\\", "'", "\\\\", ""),
    fieldArb,
    fc.constantFrom("", "'", ".", "'.", " UserAgent: Mozilla/5.0 (X11; Linux x86_64) Firefox/120.0"),
  )
  .map((parts) => parts.join(""));

/** A well-formed format (a) datagram with fuzzed fields; some users are the excluded EXCLUDED\\*. */
const formatAArb = fc
  .tuple(
    fc.constantFrom("/qseow-proxy-session/", "/qseow-proxy-connection/"),
    fieldArb,
    fc.oneof(fieldArb, fc.constantFrom(...ACTIONS)),
    fc.oneof(fieldArb, fc.constant("EXCLUDED")),
    fc.oneof(fieldArb, fc.constant("*")),
    fieldArb,
    fieldArb,
    fieldArb,
  )
  .map((fields) => fields.join(";"));

/** Text datagrams: a type, then fields joined by `;` or other separators. */
export const textDatagramArb: fc.Arbitrary<string> = fc.oneof(
  formatAArb,
  fc
    .tuple(typeArb, fc.array(fieldArb, { maxLength: 10 }), fc.constantFrom(";", ";", ";", ",", "; ", ";;"))
    .map(([t, fields, sep]) => [t, ...fields].join(sep)),
  fc
    .tuple(
      fc.constantFrom("/proxy-user-event/", "proxy-user-event"),
      fieldArb,
      fieldArb,
      fieldArb,
      formatBMessageArb,
      fc.array(fieldArb, { maxLength: 2 }),
    )
    .map(([t, host, origin, context, message, extra]) =>
      [t, host, origin, context, message, ...extra].join(";"),
    ),
);

/** Any datagram as bytes: arbitrary bytes, text with invalid UTF-8 spliced in, BOMs, or huge. */
export const datagramArb: fc.Arbitrary<Uint8Array> = fc.oneof(
  { weight: 5, arbitrary: textDatagramArb.map((t) => new TextEncoder().encode(t)) },
  { weight: 2, arbitrary: fc.uint8Array({ maxLength: 300 }) },
  {
    weight: 2,
    arbitrary: fc
      .tuple(textDatagramArb, fc.uint8Array({ minLength: 1, maxLength: 4 }), fc.nat())
      .map(([t, junk, at]) => {
        const bytes = new TextEncoder().encode(t);
        const cut = bytes.length === 0 ? 0 : at % bytes.length;
        const out = new Uint8Array(bytes.length + junk.length);
        out.set(bytes.subarray(0, cut));
        out.set(
          junk.map((b) => b | 0x80),
          cut,
        );
        out.set(bytes.subarray(cut), cut + junk.length);
        return out;
      }),
  },
  {
    weight: 1,
    arbitrary: textDatagramArb.map((t) => new Uint8Array([0xef, 0xbb, 0xbf, ...new TextEncoder().encode(t)])),
  },
  {
    weight: 1,
    arbitrary: fc
      .tuple(textDatagramArb, fc.integer({ min: 60_000, max: 66_000 }))
      .map(([t, n]) =>
        new TextEncoder().encode(`/qseow-proxy-session/;h;Start session;D;U;O;C;${"é".repeat(n >> 1)}${t}`),
      ),
  },
);
