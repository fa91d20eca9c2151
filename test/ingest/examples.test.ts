import { describe, expect, test } from "bun:test";
import { createExcluder } from "../../src/ingest/exclude.ts";
import { createProcessor } from "../../src/ingest/process.ts";
import { RejectedLog } from "../../src/ingest/rejected.ts";
import { createUserAgentParser } from "../../src/ingest/user-agent.ts";
import { silentLogger } from "../../src/log.ts";

// The full reference §4.3 strings behind the `<UA-…>` placeholders of reference §17.
const UA: Record<string, string> = {
  "<UA-CHROME>":
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/119.0.0.0 Safari/537.36",
  "<UA-EDGE>":
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/119.0.0.0 Safari/537.36 Edg/119.0.2151.72",
  "<UA-SAFARI>":
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Safari/605.1.15",
  "<UA-IPHONE>":
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1.2 Mobile/15E148 Safari/604.1",
};

/** Expands `<UA-…>` placeholders and the written-out `\r\n` of reference §17 (only ever at the end of a datagram). */
const expand = (s: string): string =>
  s.replace(/<UA-[A-Z]+>/g, (id) => UA[id] ?? id).replace(/\\r\\n$/, "\r\n");

const APP_NAMES = new Map([
  ["a421f4a2-c311-4ef4-ba41-fe2e6a2b0d69", "Sales analysis"],
  ["6a6b1e54-0f3c-4d7e-9b2a-3c1d2e4f5a6b", "HR overview"],
]);

const encoder = new TextEncoder();

/** E1–E6 of reference §17 in order: datagram as written in the reference, receive time, sender, expected API JSON. */
const ACCEPTED: [string, string, string, string, string][] = [
  [
    "E1: session start, format (a), no UA",
    String.raw`/qseow-proxy-session/;pro2-win1;Start session;LAB;goran;AppAccess;/;Start session for user 'LAB\goran'`,
    "2024-11-20T08:15:40.001Z",
    "10.0.1.21",
    String.raw`{"id":1,"receivedAt":"2024-11-20T08:15:40.001Z","source":"qseow-proxy-session","host":"pro2-win1","action":"Start session","userDirectory":"LAB","userId":"goran","origin":"AppAccess","context":"/","appId":null,"appName":null,"message":"Start session for user 'LAB\\goran'","userAgent":null,"remoteAddress":"10.0.1.21"}`,
  ],
  [
    "E2: open connection, ?reloaduri=, ; in the message, Chrome 119",
    `/qseow-proxy-connection/;pro2-win1;Open connection;LAB;goran;AppAccess;/app/a421f4a2-c311-4ef4-ba41-fe2e6a2b0d69?reloaduri=https://sense.lab/sense/app/a421f4a2-c311-4ef4-ba41-fe2e6a2b0d69;App connection Opened for session 'c8b1a0f2'; UserAgent: 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/119.0.0.0 Safari/537.36'`,
    "2024-11-20T08:15:42.123Z",
    "10.0.1.21",
    `{"id":2,"receivedAt":"2024-11-20T08:15:42.123Z","source":"qseow-proxy-connection","host":"pro2-win1","action":"Open connection","userDirectory":"LAB","userId":"goran","origin":"AppAccess","context":"/app/a421f4a2-c311-4ef4-ba41-fe2e6a2b0d69?reloaduri=https://sense.lab/sense/app/a421f4a2-c311-4ef4-ba41-fe2e6a2b0d69","appId":"a421f4a2-c311-4ef4-ba41-fe2e6a2b0d69","appName":"Sales analysis","message":"App connection Opened for session 'c8b1a0f2'; UserAgent: '<UA-CHROME>'","userAgent":{"raw":"<UA-CHROME>","browserName":"Chrome","browserMajorVersion":"119","osName":"Windows","osVersion":"10"},"remoteAddress":"10.0.1.21"}`,
  ],
  [
    "E3: upper-case type, trailing CR LF, Edge",
    String.raw`/QSEOW-PROXY-CONNECTION/;pro2-win1;Close connection;LAB;goran;AppAccess;/app/a421f4a2-c311-4ef4-ba41-fe2e6a2b0d69;App connection Closed for session 'c8b1a0f2' UserAgent: '<UA-EDGE>'\r\n`,
    "2024-11-20T08:16:05.470Z",
    "10.0.1.21",
    `{"id":3,"receivedAt":"2024-11-20T08:16:05.470Z","source":"qseow-proxy-connection","host":"pro2-win1","action":"Close connection","userDirectory":"LAB","userId":"goran","origin":"AppAccess","context":"/app/a421f4a2-c311-4ef4-ba41-fe2e6a2b0d69","appId":"a421f4a2-c311-4ef4-ba41-fe2e6a2b0d69","appName":"Sales analysis","message":"App connection Closed for session 'c8b1a0f2' UserAgent: '<UA-EDGE>'","userAgent":{"raw":"<UA-EDGE>","browserName":"Edge","browserMajorVersion":"119","osName":"Windows","osVersion":"10"},"remoteAddress":"10.0.1.21"}`,
  ],
  [
    "E4: format (b) open, Safari, IPv6 sender",
    String.raw`/proxy-user-event/;sense-central;AppAccess;/app/6a6b1e54-0f3c-4d7e-9b2a-3c1d2e4f5a6b;Opening connection for user 'LAB\anna' UserAgent: '<UA-SAFARI>'`,
    "2024-11-20T08:17:00.250Z",
    "fd00::15",
    String.raw`{"id":4,"receivedAt":"2024-11-20T08:17:00.250Z","source":"proxy-user-event","host":"sense-central","action":"Open connection","userDirectory":"LAB","userId":"anna","origin":"AppAccess","context":"/app/6a6b1e54-0f3c-4d7e-9b2a-3c1d2e4f5a6b","appId":"6a6b1e54-0f3c-4d7e-9b2a-3c1d2e4f5a6b","appName":"HR overview","message":"Opening connection for user 'LAB\\anna' UserAgent: '<UA-SAFARI>'","userAgent":{"raw":"<UA-SAFARI>","browserName":"Safari","browserMajorVersion":"17","osName":"Mac OS","osVersion":"10.15.7"},"remoteAddress":"fd00::15"}`,
  ],
  [
    "E5: iPhone, upper-case GUID, unknown app name",
    `/qseow-proxy-connection/;pro2-win2;Open connection;LAB;Erik.Svensson;AppAccess;/app/0E3A9C7D-5B1F-4C2A-8D6E-7F9A1B2C3D4E/sheet/kpi01/state/analysis;App connection Opened for session '51d0'; UserAgent: '<UA-IPHONE>'`,
    "2024-11-20T08:18:30.000Z",
    "10.0.1.22",
    `{"id":5,"receivedAt":"2024-11-20T08:18:30.000Z","source":"qseow-proxy-connection","host":"pro2-win2","action":"Open connection","userDirectory":"LAB","userId":"Erik.Svensson","origin":"AppAccess","context":"/app/0E3A9C7D-5B1F-4C2A-8D6E-7F9A1B2C3D4E/sheet/kpi01/state/analysis","appId":"0e3a9c7d-5b1f-4c2a-8d6e-7f9a1b2c3d4e","appName":null,"message":"App connection Opened for session '51d0'; UserAgent: '<UA-IPHONE>'","userAgent":{"raw":"<UA-IPHONE>","browserName":"Mobile Safari","browserMajorVersion":"17","osName":"iOS","osVersion":"17.1.2"},"remoteAddress":"10.0.1.22"}`,
  ],
  [
    "E6: empty origin and context",
    String.raw`/qseow-proxy-session/;pro2-win1;Stop session;LAB;goran;;;Stop session for user 'LAB\goran'`,
    "2024-11-20T08:45:00.010Z",
    "10.0.1.21",
    String.raw`{"id":6,"receivedAt":"2024-11-20T08:45:00.010Z","source":"qseow-proxy-session","host":"pro2-win1","action":"Stop session","userDirectory":"LAB","userId":"goran","origin":"","context":"","appId":null,"appName":null,"message":"Stop session for user 'LAB\\goran'","userAgent":null,"remoteAddress":"10.0.1.21"}`,
  ],
];

describe("reference §17 accepted examples", () => {
  // One processor for the whole sequence, so the ids run 1 to 6 as in the reference.
  const processor = createProcessor({
    appName: (id) => APP_NAMES.get(id),
    userAgents: createUserAgentParser(),
    isExcluded: createExcluder([]),
  });

  test.each(ACCEPTED)("%s", (_name, datagram, receivedAt, sender, json) => {
    const result = processor.process(encoder.encode(expand(datagram)), sender, Date.parse(receivedAt));
    expect(result.kind === "accepted" && JSON.stringify(result.deliverable.event)).toBe(expand(json));
  });
});

describe("reference §17 rejected examples", () => {
  const processor = createProcessor({
    appName: () => undefined,
    userAgents: createUserAgentParser(),
    isExcluded: createExcluder([]),
  });

  test.each([
    ["E7", "/qseow-proxy-session/;pro2-win1", "malformed", "qseow-proxy-session needs 8 fields, got 2"],
    [
      "E8",
      "/qseow-proxy/;17;2024-11-20T08:15:40.001+0100;...",
      "unknown_type",
      'unknown type "/qseow-proxy/"',
    ],
    ["E9 (empty payload)", "", "malformed", "empty datagram"],
    ["E9 (CR LF)", "\r\n", "malformed", "empty datagram"],
    [
      "E10",
      "/proxy-user-event/;sense-central;AppAccess;/;Session refreshed",
      "malformed",
      "no action in message",
    ],
  ] as const)("%s", (_name, text, reason, detail) => {
    expect(
      processor.process(encoder.encode(text), "10.0.1.21", Date.parse("2024-11-20T08:46:00.000Z")),
    ).toStrictEqual({
      kind: "rejected",
      reason,
      detail,
      text,
    });
  });

  test("E7 gives the rejected-ring entry of reference §17", () => {
    const bytes = encoder.encode("/qseow-proxy-session/;pro2-win1");
    const result = processor.process(bytes, "10.0.1.21", Date.parse("2024-11-20T08:46:00.000Z"));
    if (result.kind !== "rejected") throw new Error(`not rejected: ${result.kind}`);
    const ring = new RejectedLog({ log: silentLogger });
    ring.add({
      receivedAt: "2024-11-20T08:46:00.000Z",
      reason: result.reason,
      detail: result.detail,
      text: result.text,
      remoteAddress: "10.0.1.21",
      remotePort: 53127,
      bytes: bytes.byteLength,
    });
    expect(ring.list().map((entry) => JSON.stringify(entry))).toStrictEqual([
      '{"receivedAt":"2024-11-20T08:46:00.000Z","reason":"malformed","detail":"qseow-proxy-session needs 8 fields, got 2","remoteAddress":"10.0.1.21","remotePort":53127,"bytes":31,"preview":"/qseow-proxy-session/;pro2-win1"}',
    ]);
  });
});
