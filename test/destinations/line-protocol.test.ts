import { describe, expect, test } from "bun:test";
import {
  createUserEventSerializer,
  escapeMeasurement,
  escapeTag,
  formatPoint,
  type InfluxVersion,
  quoteString,
  type StaticTag,
} from "../../src/destinations/line-protocol.ts";
import type { DeliverableEvent } from "../../src/events/event.ts";
import { deliverable, e2Deliverable, e5Event, e6Event, withEvent } from "../support/events.ts";

const E2 = e2Deliverable();
const E5 = deliverable(e5Event());
const E6 = deliverable(e6Event());

const E2_TAGS: StaticTag[] = [
  { name: "qs_env", value: "dev" },
  { tag: "env2", value: "a b,c=d" },
];

const line = (version: InfluxVersion, d: DeliverableEvent, tags: StaticTag[] = [], uaTagPrefix = "qs_") =>
  createUserEventSerializer({ version, uaTagPrefix, tags })(d);

const E2_TAGSET =
  "user_events,appId=a421f4a2-c311-4ef4-ba41-fe2e6a2b0d69,appName=Sales\\ analysis,env2=a\\ b\\,c\\=d,event_action=Open\\ connection,host=pro2-win1,origin=AppAccess,qs_env=dev,qs_uaBrowserMajorVersion=119,qs_uaBrowserName=Chrome,qs_uaOsName=Windows,qs_uaOsVersion=10,userDirectory=LAB,userFull=LAB\\goran,userId=goran";

describe("user_events lines (reference §10.4, §17)", () => {
  test.each([
    [
      "E2",
      1,
      E2,
      E2_TAGS,
      `${E2_TAGSET} appId="a421f4a2-c311-4ef4-ba41-fe2e6a2b0d69",appName="Sales analysis",userFull="LAB\\\\goran",userId="goran" 1732090542123000000`,
    ],
    [
      "E2",
      2,
      E2,
      E2_TAGS,
      `${E2_TAGSET} appId_field="a421f4a2-c311-4ef4-ba41-fe2e6a2b0d69",appName_field="Sales analysis",userFull="LAB\\\\goran",userId="goran" 1732090542123000000`,
    ],
    [
      "E2",
      3,
      E2,
      E2_TAGS,
      `${E2_TAGSET} appId_field="a421f4a2-c311-4ef4-ba41-fe2e6a2b0d69",appName_field="Sales analysis",userFull_field="LAB\\\\goran",userId_field="goran" 1732090542123000000`,
    ],
    [
      "E5",
      1,
      E5,
      [],
      'user_events,appId=0e3a9c7d-5b1f-4c2a-8d6e-7f9a1b2c3d4e,appName=<unknown\\ app\\ name>,event_action=Open\\ connection,host=pro2-win2,origin=AppAccess,qs_uaBrowserMajorVersion=17,qs_uaBrowserName=Mobile\\ Safari,qs_uaOsName=iOS,qs_uaOsVersion=17.1.2,userDirectory=LAB,userFull=LAB\\Erik.Svensson,userId=Erik.Svensson appId="0e3a9c7d-5b1f-4c2a-8d6e-7f9a1b2c3d4e",appName="<unknown app name>",userFull="LAB\\\\Erik.Svensson",userId="Erik.Svensson" 1732090710000000000',
    ],
    [
      "E5",
      2,
      E5,
      [],
      'user_events,appId=0e3a9c7d-5b1f-4c2a-8d6e-7f9a1b2c3d4e,appName=<unknown\\ app\\ name>,event_action=Open\\ connection,host=pro2-win2,origin=AppAccess,qs_uaBrowserMajorVersion=17,qs_uaBrowserName=Mobile\\ Safari,qs_uaOsName=iOS,qs_uaOsVersion=17.1.2,userDirectory=LAB,userFull=LAB\\Erik.Svensson,userId=Erik.Svensson appId_field="0e3a9c7d-5b1f-4c2a-8d6e-7f9a1b2c3d4e",appName_field="<unknown app name>",userFull="LAB\\\\Erik.Svensson",userId="Erik.Svensson" 1732090710000000000',
    ],
    [
      "E5",
      3,
      E5,
      [],
      'user_events,appId=0e3a9c7d-5b1f-4c2a-8d6e-7f9a1b2c3d4e,appName=unknown\\ app\\ name,event_action=Open\\ connection,host=pro2-win2,origin=AppAccess,qs_uaBrowserMajorVersion=17,qs_uaBrowserName=Mobile\\ Safari,qs_uaOsName=iOS,qs_uaOsVersion=17.1.2,userDirectory=LAB,userFull=LAB\\Erik.Svensson,userId=Erik.Svensson appId_field="0e3a9c7d-5b1f-4c2a-8d6e-7f9a1b2c3d4e",appName_field="<unknown app name>",userFull_field="LAB\\\\Erik.Svensson",userId_field="Erik.Svensson" 1732090710000000000',
    ],
    [
      "E6",
      2,
      E6,
      [{ name: "qs_env", value: "dev" }],
      'user_events,event_action=Stop\\ session,host=pro2-win1,qs_env=dev,userDirectory=LAB,userFull=LAB\\goran,userId=goran userFull="LAB\\\\goran",userId="goran" 1732092300010000000',
    ],
  ] as [string, InfluxVersion, DeliverableEvent, StaticTag[], string][])(
    "%s v%i line is exact",
    (_name, version, d, tags, expected) => {
      expect(line(version, d, tags)).toBe(expected);
    },
  );

  test("an empty user omits userDirectory, userId and userFull tags but still writes the event", () => {
    const d = deliverable({ ...E6.event, userDirectory: "", userId: "" });
    expect(line(1, d)).toBe(
      'user_events,event_action=Stop\\ session,host=pro2-win1 userFull="",userId="" 1732092300010000000',
    );
  });

  test('uaTagPrefix "" gives Butler SOS 15 tag names', () => {
    expect(line(1, E2, [], "")).toContain(
      ",uaBrowserMajorVersion=119,uaBrowserName=Chrome,uaOsName=Windows,uaOsVersion=10,userDirectory=LAB,",
    );
  });

  test.each([
    ["name", { name: "host", value: "override" }],
    ["tag", { tag: "host", value: "override" }],
  ])("a static tag in {%s} form replaces the built-in tag", (_form, tag) => {
    expect(line(1, E6, [tag])).toBe(
      'user_events,event_action=Stop\\ session,host=override,userDirectory=LAB,userFull=LAB\\goran,userId=goran userFull="LAB\\\\goran",userId="goran" 1732092300010000000',
    );
  });

  test("a static tag with an empty value is ignored and does not replace the built-in", () => {
    expect(line(1, E6, [{ name: "host", value: "" }])).toBe(line(1, E6));
  });

  test("v3 removes <, > and \\ from every tag except userFull, including static tags", () => {
    const d = deliverable({ ...E6.event, host: "<a\\b>", userDirectory: "D\\x" });
    expect(line(3, d, [{ name: "t<x>", value: "v\\<w>" }])).toBe(
      'user_events,event_action=Stop\\ session,host=ab,tx=vw,userDirectory=Dx,userFull=D\\x\\goran,userId=goran userFull_field="D\\\\x\\\\goran",userId_field="goran" 1732092300010000000',
    );
  });

  test("v1 and v2 keep < and > in tags", () => {
    const d = deliverable({ ...E6.event, host: "<h>" });
    expect(line(2, d)).toContain(",host=<h>,");
  });

  test("a tag that is only removable characters is omitted", () => {
    const d = deliverable({ ...E6.event, host: "\\" });
    expect(line(1, d)).toBe(
      'user_events,event_action=Stop\\ session,userDirectory=LAB,userFull=LAB\\goran,userId=goran userFull="LAB\\\\goran",userId="goran" 1732092300010000000',
    );
  });

  test("tags are sorted by UTF-8 bytes, not UTF-16 units", () => {
    // U+FF5E sorts before U+1F600 in UTF-8 but after it in UTF-16.
    const out = line(1, E6, [
      { name: "z\u{1F600}", value: "1" },
      { name: "z\uFF5E", value: "2" },
    ]);
    expect(out).toContain(",z\uFF5E=2,z\u{1F600}=1 ");
  });
});

// reference §22: with uaTagPrefix unset, each user-agent value goes under both names.
const BOTH_TAGSET =
  "user_events,appId=a421f4a2-c311-4ef4-ba41-fe2e6a2b0d69,appName=Sales\\ analysis,env2=a\\ b\\,c\\=d,event_action=Open\\ connection,host=pro2-win1,origin=AppAccess,qs_env=dev,qs_uaBrowserMajorVersion=119,qs_uaBrowserName=Chrome,qs_uaOsName=Windows,qs_uaOsVersion=10,uaBrowserMajorVersion=119,uaBrowserName=Chrome,uaOsName=Windows,uaOsVersion=10,userDirectory=LAB,userFull=LAB\\goran,userId=goran";

const unsetPrefix = (version: InfluxVersion, d: DeliverableEvent, tags: StaticTag[] = []) =>
  createUserEventSerializer({ version, tags })(d);

describe("user-agent tag name sets (reference §22)", () => {
  test.each([
    [
      1,
      `${BOTH_TAGSET} appId="a421f4a2-c311-4ef4-ba41-fe2e6a2b0d69",appName="Sales analysis",userFull="LAB\\\\goran",userId="goran" 1732090542123000000`,
    ],
    [
      2,
      `${BOTH_TAGSET} appId_field="a421f4a2-c311-4ef4-ba41-fe2e6a2b0d69",appName_field="Sales analysis",userFull="LAB\\\\goran",userId="goran" 1732090542123000000`,
    ],
    [
      3,
      `${BOTH_TAGSET} appId_field="a421f4a2-c311-4ef4-ba41-fe2e6a2b0d69",appName_field="Sales analysis",userFull_field="LAB\\\\goran",userId_field="goran" 1732090542123000000`,
    ],
  ] as [InfluxVersion, string][])(
    "unset uaTagPrefix writes both sets: E2 v%i line is exact",
    (version, expected) => {
      expect(unsetPrefix(version, E2, E2_TAGS)).toBe(expected);
    },
  );

  test("unset uaTagPrefix writes both sets for E5 (Mobile Safari on iOS) in v1", () => {
    expect(unsetPrefix(1, E5)).toBe(
      'user_events,appId=0e3a9c7d-5b1f-4c2a-8d6e-7f9a1b2c3d4e,appName=<unknown\\ app\\ name>,event_action=Open\\ connection,host=pro2-win2,origin=AppAccess,qs_uaBrowserMajorVersion=17,qs_uaBrowserName=Mobile\\ Safari,qs_uaOsName=iOS,qs_uaOsVersion=17.1.2,uaBrowserMajorVersion=17,uaBrowserName=Mobile\\ Safari,uaOsName=iOS,uaOsVersion=17.1.2,userDirectory=LAB,userFull=LAB\\Erik.Svensson,userId=Erik.Svensson appId="0e3a9c7d-5b1f-4c2a-8d6e-7f9a1b2c3d4e",appName="<unknown app name>",userFull="LAB\\\\Erik.Svensson",userId="Erik.Svensson" 1732090710000000000',
    );
  });

  test("an event without a user agent gets no tag of either set", () => {
    expect(unsetPrefix(2, E6)).toBe(line(2, E6));
  });

  test.each([
    ["", "qs_"],
    ["qs_", ""],
  ])('explicit uaTagPrefix "%s" writes only that set', (prefix, absent) => {
    const out = line(1, E2, [], prefix);
    expect([
      out.includes(`,${prefix}uaBrowserName=Chrome,`),
      out.includes(`,${absent}uaBrowserName=`),
    ]).toStrictEqual([true, false]);
  });

  test("a static tag replaces only the name it matches, not its twin in the other set", () => {
    expect(unsetPrefix(1, E2, [{ name: "uaOsName", value: "Win" }])).toContain(
      ",qs_uaOsName=Windows,qs_uaOsVersion=10,uaBrowserMajorVersion=119,uaBrowserName=Chrome,uaOsName=Win,uaOsVersion=10,",
    );
  });
});

describe("userTags (reference §22)", () => {
  test.each([
    [
      1,
      'user_events,event_action=Stop\\ session,host=pro2-win1,qs_env=dev,userDirectory=LAB userFull="LAB\\\\goran",userId="goran" 1732092300010000000',
    ],
    [
      3,
      'user_events,event_action=Stop\\ session,host=pro2-win1,qs_env=dev,userDirectory=LAB userFull_field="LAB\\\\goran",userId_field="goran" 1732092300010000000',
    ],
  ] as [InfluxVersion, string][])(
    "userTags false writes userFull and userId as fields only: E6 v%i",
    (version, expected) => {
      const serialize = createUserEventSerializer({
        version,
        tags: [{ name: "qs_env", value: "dev" }],
        userTags: false,
      });
      expect(serialize(E6)).toBe(expected);
    },
  );

  test("userTags false keeps the user-agent tags of both sets and the app tags", () => {
    const out = createUserEventSerializer({ version: 1, tags: [], userTags: false })(E2);
    expect(out).toBe(
      'user_events,appId=a421f4a2-c311-4ef4-ba41-fe2e6a2b0d69,appName=Sales\\ analysis,event_action=Open\\ connection,host=pro2-win1,origin=AppAccess,qs_uaBrowserMajorVersion=119,qs_uaBrowserName=Chrome,qs_uaOsName=Windows,qs_uaOsVersion=10,uaBrowserMajorVersion=119,uaBrowserName=Chrome,uaOsName=Windows,uaOsVersion=10,userDirectory=LAB appId="a421f4a2-c311-4ef4-ba41-fe2e6a2b0d69",appName="Sales analysis",userFull="LAB\\\\goran",userId="goran" 1732090542123000000',
    );
  });

  test("userTags true (the default) is the Butler SOS schema with the user tags", () => {
    expect(createUserEventSerializer({ version: 2, uaTagPrefix: "qs_", tags: [], userTags: true })(E6)).toBe(
      line(2, E6),
    );
  });
});

describe("escapeTag (reference §10.3)", () => {
  test.each([
    ["plain", "plain"],
    ["a b,c=d", "a\\ b\\,c\\=d"],
    ["LAB\\goran", "LAB\\goran"],
    ["trailing\\", "trailing"],
    ["two\\\\", "two"],
    ["x\\ y", "x\\ y"],
    ["x\\\\,y", "x\\,y"],
    ["x\\=y", "x\\=y"],
    ["\\", ""],
    ["", ""],
    ["<k>", "<k>"],
  ])("%p becomes %p", (input, expected) => {
    expect(escapeTag(input)).toBe(expected);
  });

  test.each([
    ["<unknown app name>", "unknown\\ app\\ name"],
    ["a\\ b", "a\\ b"],
    ["<>\\", ""],
  ])("with v3 stripping %p becomes %p", (input, expected) => {
    expect(escapeTag(input, true)).toBe(expected);
  });
});

describe("other escapes", () => {
  test.each([
    ['say "hi"', '"say \\"hi\\""'],
    ["C:\\dir\\", '"C:\\\\dir\\\\"'],
    ["", '""'],
  ])("string field %p is written as %p", (input, expected) => {
    expect(quoteString(input)).toBe(expected);
  });

  test("measurement names escape comma and space but not =", () => {
    expect(escapeMeasurement("a b,c=d")).toBe("a\\ b\\,c=d");
  });
});

describe("formatPoint", () => {
  const point = {
    measurement: "m",
    tags: { b: "2", a: "1", empty: "" },
    fields: { n: { int: 5 }, f: { float: 1.5 }, s: { str: "x" } },
    timeNs: "1000000",
  };

  test.each([
    [1, 'm,a=1,b=2 f=1.5,n=5,s="x" 1000000'],
    [2, 'm,a=1,b=2 f=1.5,n=5i,s="x" 1000000'],
    [3, 'm,a=1,b=2 f=1.5,n=5i,s="x" 1000000'],
  ] as [InfluxVersion, string][])(
    "v%i writes sorted tags and fields with its number form",
    (version, expected) => {
      expect(formatPoint(point, version)).toBe(expected);
    },
  );
});

describe("one serializer over many events", () => {
  test("writes each event's own tags when values repeat, change and exceed the remembered ones", () => {
    const serializer = createUserEventSerializer({ version: 1, uaTagPrefix: "qs_", tags: E2_TAGS });
    // 600 hosts (more than a slot remembers), each seen twice, some needing escapes; and one long app name.
    const events = Array.from({ length: 1200 }, (_, i) =>
      withEvent(E2, {
        host: `node ${i % 600}`,
        action: i % 2 === 0 ? "Open connection" : "Close connection",
        appName: i % 7 === 0 ? `App,${"x".repeat(300)}=${i}` : "Sales analysis",
      }),
    );
    for (const d of events) {
      const fresh = createUserEventSerializer({ version: 1, uaTagPrefix: "qs_", tags: E2_TAGS })(d);
      expect(serializer(d)).toBe(fresh);
    }
    expect(serializer(events[0] as DeliverableEvent)).toContain(
      ",event_action=Open\\ connection,host=node\\ 0,",
    );
  });
});
