import { heapStats } from "bun:jsc";
import { describe, expect, test } from "bun:test";
import { canonicalAction, capUtf16, type Datagram, detach, parseDatagram } from "../../src/ingest/parse.ts";

const encoder = new TextEncoder();
const bytes = (text: string): Uint8Array => encoder.encode(text);

/** Parses a text datagram and returns the accepted datagram, failing the test on a rejection. */
function accept(text: string): Datagram {
  const result = parseDatagram(bytes(text));
  if (!result.ok) throw new Error(`rejected: ${result.detail}`);
  return result.datagram;
}

const BASE: Datagram = {
  source: "qseow-proxy-session",
  host: "pro2-win1",
  action: "Start session",
  userDirectory: "LAB",
  userId: "goran",
  origin: "AppAccess",
  context: "/",
  message: "Start session for user 'LAB\\goran'",
};
const FIELDS = ["host", "action", "userDirectory", "userId", "origin", "context", "message"] as const;

/** Builds a format (a) session datagram with field `index` (1–7) replaced by `value`. */
function withField(index: number, value: string): string {
  const parts = ["/qseow-proxy-session/", ...FIELDS.map((k) => BASE[k])];
  parts[index] = value;
  return parts.join(";");
}

describe("decoding (reference §3.1)", () => {
  test("accepts a well-formed format (a) datagram", () => {
    expect(accept(withField(1, "pro2-win1"))).toStrictEqual(BASE);
  });

  test("turns invalid UTF-8 bytes into U+FFFD", () => {
    const head = bytes("/qseow-proxy-session/;h;Start session;LAB;goran;o;/;abc");
    const datagram = new Uint8Array([...head, 0xff, 0xc3, 0x41]);
    const result = parseDatagram(datagram);
    expect(result.ok && result.datagram.message).toBe("abc\uFFFD\uFFFDA");
  });

  test("drops a leading byte-order mark", () => {
    const datagram = new Uint8Array([0xef, 0xbb, 0xbf, ...bytes(withField(1, "pro2-win1"))]);
    expect(parseDatagram(datagram)).toStrictEqual({ ok: true, datagram: BASE });
  });

  test("keeps spaces around field values", () => {
    expect(accept(withField(1, " pro2-win1 ")).host).toBe(" pro2-win1 ");
  });
});

describe("control characters and (null) (reference §3.1, §18 item 1)", () => {
  test.each(FIELDS.map((key, i) => [key, i + 1] as const))("removes control characters from %s", (key, i) => {
    const dirty = `\u0000a\u0001b\u001f\tc\u007f\r\n`;
    expect(accept(withField(i, dirty))[key]).toBe("abc");
  });

  test.each(FIELDS.map((key, i) => [key, i + 1] as const))(
    "turns a %s of exactly (null) into an empty string",
    (key, i) => {
      expect(accept(withField(i, "(null)"))[key]).toBe("");
    },
  );

  test("turns (null) into an empty string after control characters are removed", () => {
    expect(accept(withField(1, "(nu\u0000ll)\r\n")).host).toBe("");
  });

  test("keeps (null) when it is not the whole field", () => {
    expect(accept(withField(1, " (null)")).host).toBe(" (null)");
  });

  test("removes a trailing CR LF from the message", () => {
    expect(accept(withField(7, "hello\r\n")).message).toBe("hello");
  });

  test("never produces the string undefined for missing fields", () => {
    const d = accept("/qseow-proxy-session/;;;;;;;");
    expect(d).toStrictEqual({
      source: "qseow-proxy-session",
      host: "",
      action: "",
      userDirectory: "",
      userId: "",
      origin: "",
      context: "",
      message: "",
    });
  });
});

describe("field caps (reference §3.1, §18 item 2)", () => {
  const caps = [
    ["host", 100, 1],
    ["action", 100, 2],
    ["userDirectory", 100, 3],
    ["userId", 100, 4],
    ["origin", 200, 5],
    ["context", 500, 6],
    ["message", 1000, 7],
  ] as const;

  test.each(caps)("cuts %s at %i units", (key, cap, i) => {
    expect(accept(withField(i, "x".repeat(cap + 50)))[key]).toBe("x".repeat(cap));
  });

  test.each(caps)("keeps %s of exactly %i units", (key, cap, i) => {
    expect(accept(withField(i, "y".repeat(cap)))[key]).toBe("y".repeat(cap));
  });

  test.each(caps)("never splits a surrogate pair at the %s cap of %i", (key, cap, i) => {
    expect(accept(withField(i, `${"x".repeat(cap - 1)}😀tail`))[key]).toBe("x".repeat(cap - 1));
  });

  test("applies the cap after removing control characters", () => {
    expect(accept(withField(1, `${"\u0001".repeat(50)}${"h".repeat(120)}`)).host).toBe("h".repeat(100));
  });

  test("caps the type field to 100 units in the unknown-type detail", () => {
    const result = parseDatagram(bytes(`${"t".repeat(150)};x`));
    expect(result).toStrictEqual({
      ok: false,
      reason: "unknown_type",
      detail: `unknown type "${"t".repeat(100)}"`,
      text: `${"t".repeat(150)};x`,
    });
  });

  test("capUtf16 keeps a whole surrogate pair that ends exactly at the cap", () => {
    expect(capUtf16("ab😀c", 4)).toBe("ab😀");
  });
});

describe("type (reference §3.2, §18 item 3)", () => {
  test.each([
    ["/QSEOW-PROXY-SESSION/", "qseow-proxy-session"],
    ["qseow-proxy-session", "qseow-proxy-session"],
    ["/qseow-proxy-connection", "qseow-proxy-connection"],
    ["Qseow-Proxy-Connection/", "qseow-proxy-connection"],
    ["/qseow-proxy-session/\u0000", "qseow-proxy-session"],
  ] as const)("accepts %p as %s", (type, source) => {
    expect(accept(`${type};h;Start session;LAB;goran;o;/;m`).source).toBe(source);
  });

  test.each(["/Proxy-User-Event/", "proxy-user-event"])("accepts %p as proxy-user-event", (type) => {
    expect(accept(`${type};h;AppAccess;/;Start session for user 'LAB\\a'`).source).toBe("proxy-user-event");
  });

  test.each([
    ["//qseow-proxy-session/"],
    [" /qseow-proxy-session/"],
    ["/qseow-proxy-session//"],
    ["/qseow-proxy/"],
    ["/"],
    [""],
    ["/qseow-proxy-sessions/"],
    ["qseow_proxy_session"],
  ])("rejects %p as unknown_type", (type) => {
    const text = `${type};h;Start session;LAB;goran;o;/;m`;
    expect(parseDatagram(bytes(text))).toStrictEqual({
      ok: false,
      reason: "unknown_type",
      detail: `unknown type "${type}"`,
      text,
    });
  });

  test("rejects a datagram without any ; whose text is not a type as unknown_type", () => {
    expect(parseDatagram(bytes("hello world"))).toStrictEqual({
      ok: false,
      reason: "unknown_type",
      detail: 'unknown type "hello world"',
      text: "hello world",
    });
  });
});

describe("empty datagrams (reference §3.1, §18 item 4)", () => {
  test.each([
    ["no bytes", ""],
    ["CR LF", "\r\n"],
    ["spaces and tabs", "  \t "],
    ["control characters only", "\u0000\u0001\u007f"],
    ["a byte-order mark and a no-break space", "\uFEFF\u00a0\n"],
  ])("rejects %s as malformed", (_name, text) => {
    const result = parseDatagram(bytes(text));
    expect(result.ok === false && [result.reason, result.detail]).toStrictEqual([
      "malformed",
      "empty datagram",
    ]);
  });
});

describe("field counts (reference §3.3, §3.4, §18 items 5–6)", () => {
  test.each([1, 2, 3, 4, 5, 6, 7])("rejects a session datagram with %i fields", (n) => {
    const text = ["/qseow-proxy-session/", "a", "b", "c", "d", "e", "f"].slice(0, n).join(";");
    expect(parseDatagram(bytes(text))).toStrictEqual({
      ok: false,
      reason: "malformed",
      detail: `qseow-proxy-session needs 8 fields, got ${n}`,
      text,
    });
  });

  test("names the connection source in the field-count detail", () => {
    const result = parseDatagram(bytes("/QSEOW-PROXY-CONNECTION/;h;c"));
    expect(result.ok === false && result.detail).toBe("qseow-proxy-connection needs 8 fields, got 3");
  });

  test.each([1, 2, 3, 4])("rejects a proxy-user-event datagram with %i fields", (n) => {
    const text = ["/proxy-user-event/", "h", "AppAccess", "/"].slice(0, n).join(";");
    expect(parseDatagram(bytes(text))).toStrictEqual({
      ok: false,
      reason: "malformed",
      detail: `proxy-user-event needs 5 fields, got ${n}`,
      text,
    });
  });

  test("keeps every ; after the 7th separator in a format (a) message", () => {
    expect(accept(withField(7, "a;b;;c;")).message).toBe("a;b;;c;");
  });

  test("keeps every ; after the 4th separator in a format (b) message", () => {
    const d = accept("/proxy-user-event/;h;AppAccess;/;Start session; for user 'LAB\\a'; x;");
    expect(d.message).toBe("Start session; for user 'LAB\\a'; x;");
  });

  test("returns the decoded, uncleaned text with a rejection", () => {
    const result = parseDatagram(bytes("/qseow-proxy-session/;h\u0001\r\n"));
    expect(result.ok === false && result.text).toBe("/qseow-proxy-session/;h\u0001\r\n");
  });
});

describe("format (b) (reference §3.4, §18 items 7–8)", () => {
  test("takes the origin from the subsystem and action and user from the message", () => {
    expect(
      accept("/proxy-user-event/;sense-central;Proxy;/hub/;Closing connection LAB\\goran"),
    ).toStrictEqual({
      source: "proxy-user-event",
      host: "sense-central",
      action: "Close connection",
      userDirectory: "LAB",
      userId: "goran",
      origin: "Proxy",
      context: "/hub/",
      message: "Closing connection LAB\\goran",
    });
  });

  test("reads host and origin the same when format (b) datagrams repeat them", () => {
    const origins = ["Proxy", "Pro\u0001xy", "Proxy", "(null)", "Proxy"];
    const read = origins.map((origin) => {
      const d = accept(`/proxy-user-event/;sense-central;${origin};/hub/;Closing connection LAB\\goran`);
      return [d.host, d.origin];
    });
    expect(read).toStrictEqual(origins.map((_, i) => ["sense-central", i === 3 ? "" : "Proxy"]));
  });

  test("rejects a message without an action as malformed", () => {
    const text = "/proxy-user-event/;sense-central;AppAccess;/;Session refreshed";
    expect(parseDatagram(bytes(text))).toStrictEqual({
      ok: false,
      reason: "malformed",
      detail: "no action in message",
      text,
    });
  });

  test("accepts a message without a user with an empty user", () => {
    const d = accept("/proxy-user-event/;h;AppAccess;/;Stop session");
    expect([d.action, d.userDirectory, d.userId]).toStrictEqual(["Stop session", "", ""]);
  });

  test("caps a format (b) user id to 100 units", () => {
    const d = accept(`/proxy-user-event/;h;AppAccess;/;Stop session for user 'LAB\\${"u".repeat(150)}'`);
    expect(d.userId).toBe("u".repeat(100));
  });
});

describe("canonicalAction (reference §3.5, §18 item 9)", () => {
  test.each([
    ["Start session", "Start session"],
    ["start SESSION", "Start session"],
    ["  stop session ", "Stop session"],
    ["OPEN CONNECTION", "Open connection"],
    ["close connection", "Close connection"],
    ["  Refresh session  ", "Refresh session"],
    ["", ""],
  ])("turns %p into %p", (command, action) => {
    expect(canonicalAction(command)).toBe(action);
  });

  test("canonicalises the format (a) command field", () => {
    expect(accept(withField(2, " oPeN cOnNeCtIoN ")).action).toBe("Open connection");
  });
});

describe("repeated field values (shared strings on the hot path)", () => {
  const USER_FIELDS = [
    [1, "host", 100],
    [3, "userDirectory", 100],
    [4, "userId", 100],
    [5, "origin", 200],
  ] as const;
  const long = "x".repeat(250);
  type Row = [number, (typeof USER_FIELDS)[number][1], string[], string[]];

  test.each(
    USER_FIELDS.flatMap(([index, key, cap]): Row[] => [
      [index, key, ["abc", "a\u0001bc", "abc", "(null)", "abc"], ["abc", "abc", "abc", "", "abc"]],
      [index, key, ["a\u0001bc", "abc", "a\tbc", "abc"], ["abc", "abc", "abc", "abc"]],
      [index, key, ["(null)", "(null)", "(nul)", "(null)"], ["", "", "(nul)", ""]],
      [index, key, ["ab", "ba", "ab", "bb", "ab"], ["ab", "ba", "ab", "bb", "ab"]],
      [index, key, [long, long, `${long}y`, long], new Array(4).fill("x".repeat(cap))],
    ]),
  )("field %p (%s) reads %p in a row as %p", (index, key, values, expected) => {
    expect(values.map((v) => accept(withField(index, v))[key])).toStrictEqual(expected);
  });

  test.each([
    ["Open connection", "Open connection"],
    ["open connection", "Open connection"],
    ["Open\u0001 connection", "Open connection"],
    ["Start sessionX", "Start sessionX"],
    ["Stop sessio", "Stop sessio"],
  ])("reads the command %p as action %p", (command, action) => {
    expect(accept(withField(2, command)).action).toBe(action);
  });
});

describe("stored fields do not keep the datagram alive (issue 9: 20,000 65 KB datagrams → 700–1,000 MB)", () => {
  /** Heap bytes in use after a full collection, including string buffers outside the JS heap. */
  const heapBytes = (): number => {
    Bun.gc(true);
    const s = heapStats();
    return s.heapSize + s.extraMemorySize;
  };

  test.each([
    [
      "format (a)",
      (pad: string, i: number) =>
        `/qseow-proxy-session/;host${i};Start session;ACME;user${i};AppAccess;/app/;${pad}`,
    ],
    [
      "format (b)",
      (pad: string, i: number) =>
        `/proxy-user-event/;host${i};Proxy;/app/;Start session for user 'ACME\\user${i}' ${pad}`,
    ],
  ])("%s: 2,000 parsed 60 KB datagrams hold their fields only", (_, make) => {
    const pad = "x".repeat(60_000);
    const kept: unknown[] = [];
    const before = heapBytes();
    for (let i = 0; i < 2000; i++) {
      const result = parseDatagram(new TextEncoder().encode(make(pad, i)));
      if (!result.ok) throw new Error(result.detail);
      kept.push(result.datagram);
    }
    const grown = heapBytes() - before;
    // Sharing the datagram would hold 2,000 × 60 KB = 120 MB; the fields are about 1 KB each.
    expect(grown).toBeLessThan(2000 * 4096);
    expect(kept).toHaveLength(2000);
  });

  test("detach() returns an equal string that no longer shares the parent", () => {
    const parent = `${"y".repeat(100_000)}tail-of-the-parent`;
    const kept: string[] = [];
    const before = heapBytes();
    for (let i = 0; i < 500; i++) kept.push(detach(`${parent}${i}`.slice(100_000)));
    expect(heapBytes() - before).toBeLessThan(500 * 1024);
    expect(kept[7]).toBe("tail-of-the-parent7");
  });
});

test("a field of exactly cap + 1 units is capped when the datagram has a control character elsewhere (found by fuzzing)", () => {
  const host = "h".repeat(101);
  const d = accept(`/qseow-proxy-session/;${host};Start session;D;U;O;C;message\r\n`);
  expect(d.host).toBe("h".repeat(100));
});
