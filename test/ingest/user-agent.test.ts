import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { createUserAgentParser } from "../../src/ingest/user-agent.ts";

/**
 * The raw UA of reference §4.3, written plainly as the oracle the cached parser is compared with:
 * the text after the first `UserAgent:` up to any second one, trimmed, with every `'` removed.
 */
function rawUserAgent(message: string): string {
  const marker = "UserAgent:";
  const at = message.indexOf(marker);
  if (at === -1) return "";
  const rest = message.slice(at + marker.length);
  const next = rest.indexOf(marker);
  return (next === -1 ? rest : rest.slice(0, next)).trim().replaceAll("'", "");
}

const CHROME =
  "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/119.0.0.0 Safari/537.36";
const EDGE = `${CHROME} Edg/119.0.2151.72`;
const SAFARI =
  "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Safari/605.1.15";
const IPHONE =
  "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1.2 Mobile/15E148 Safari/604.1";
const FIREFOX = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:120.0) Gecko/20100101 Firefox/120.0";
const IE11 = "Mozilla/5.0 (Windows NT 10.0; WOW64; Trident/7.0; rv:11.0) like Gecko";
const CHROME_LINUX =
  "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/119.0.0.0 Safari/537.36";

describe("values (reference §4.3, §18 item 17)", () => {
  test.each([
    ["UA-CHROME", CHROME, "Chrome", "119", "Windows", "10"],
    ["UA-EDGE", EDGE, "Edge", "119", "Windows", "10"],
    ["UA-SAFARI", SAFARI, "Safari", "17", "Mac OS", "10.15.7"],
    ["UA-IPHONE", IPHONE, "Mobile Safari", "17", "iOS", "17.1.2"],
    ["Firefox 120", FIREFOX, "Firefox", "120", "Windows", "10"],
    ["IE 11", IE11, "IE", "11", "Windows", "10"],
    ["Chrome on Linux", CHROME_LINUX, "Chrome", "119", "Linux", null],
    ["Mozilla/5.0", "Mozilla/5.0", null, null, null, null],
    ["curl", "curl/8.4.0", null, null, null, null],
  ])("parses %s", (_id, raw, browserName, browserMajorVersion, osName, osVersion) => {
    const parser = createUserAgentParser();
    expect(parser.parse(`x UserAgent: '${raw}'`)).toStrictEqual({
      raw,
      browserName,
      browserMajorVersion,
      osName,
      osVersion,
    });
  });
});

describe("raw UA (reference §4.3, §18 item 16)", () => {
  test.each([
    ["takes the text after UserAgent:", "a UserAgent: curl/8.4.0", "curl/8.4.0"],
    ["trims it and removes every quote", "a UserAgent:   'cu'rl/8' \t", "curl/8"],
    ["stops at a second UserAgent:", "UserAgent: 'curl/8.4.0' UserAgent: other", "curl/8.4.0"],
    ["is empty without UserAgent:", "Start session for user 'LAB\\goran'", ""],
    ["matches UserAgent: case-sensitively", "useragent: curl/8.4.0", ""],
    ["is empty when only quotes follow", "a UserAgent: ''", ""],
    ["is empty when nothing follows", "a UserAgent:   ", ""],
  ])("%s", (_name, message, raw) => {
    expect(createUserAgentParser().parse(message)?.raw ?? "").toBe(raw);
  });

  test("gives no user agent for an empty raw UA", () => {
    const parser = createUserAgentParser();
    expect(parser.parse("a UserAgent: ''")).toBeNull();
  });
});

describe("cache (reference §4.3, §18 item 18)", () => {
  test("counts a repeated UA string as a hit and returns the same values", () => {
    const parser = createUserAgentParser();
    const first = parser.parse(`one UserAgent: '${CHROME}'`);
    const second = parser.parse(`two UserAgent: ${CHROME}`);
    expect(second).toStrictEqual(first);
    expect(parser.stats()).toStrictEqual({ size: 1, hits: 1, misses: 1 });
  });

  test("does not count messages without a UA", () => {
    const parser = createUserAgentParser();
    parser.parse("Start session");
    expect(parser.stats()).toStrictEqual({ size: 0, hits: 0, misses: 0 });
  });

  test("evicts the least recently used entry at capacity", () => {
    const parser = createUserAgentParser(2);
    parser.parse("UserAgent: a");
    parser.parse("UserAgent: b");
    parser.parse("UserAgent: a");
    parser.parse("UserAgent: c");
    parser.parse("UserAgent: a");
    parser.parse("UserAgent: b");
    // a hit twice; b was evicted by c, so its second parse is a miss.
    expect(parser.stats()).toStrictEqual({ size: 2, hits: 2, misses: 4 });
  });
});

describe("repeated messages (segment table on the hot path)", () => {
  test.each([
    ["the same UA again", [`a UserAgent: '${CHROME}'`, `b UserAgent: '${CHROME}'`]],
    [
      "a same-length UA in between",
      ["UserAgent: curl/8.4.0", "UserAgent: curl/8.4.1", "UserAgent: curl/8.4.0"],
    ],
    [
      "quoted and unquoted spellings",
      [`UserAgent: ${SAFARI}`, `UserAgent: '${SAFARI}'`, `UserAgent: ${SAFARI}`],
    ],
    [
      "a UA that only starts like the last",
      ["UserAgent: curl/8", "UserAgent: curl/8 x", "UserAgent: curl/8"],
    ],
    [
      "a second marker after a known UA",
      ["UserAgent: curl/8", "UserAgent: curl/8UserAgent: x", "UserAgent:  "],
    ],
  ])("%s gives the raw UA of each message", (_name, messages) => {
    const parser = createUserAgentParser();
    const raws = messages.map((m) => parser.parse(m)?.raw ?? "");
    expect(raws).toStrictEqual(messages.map((m) => rawUserAgent(m)));
  });

  test("counts hits and misses the same when messages repeat", () => {
    const parser = createUserAgentParser(2);
    for (const ua of ["a", "b", "a", "a", "c", "b", "a"]) parser.parse(`x UserAgent: ${ua}`);
    // a, b miss; a, a hit; c misses and evicts b; b misses and evicts a; a misses.
    expect(parser.stats()).toStrictEqual({ size: 2, hits: 2, misses: 5 });
  });
});

describe("dependency (reference §4.3, §18 item 17)", () => {
  const root = join(import.meta.dir, "..", "..");

  test("resolves ua-parser-js 1.x", () => {
    const pkg = JSON.parse(readFileSync(join(root, "node_modules/ua-parser-js/package.json"), "utf8"));
    expect(pkg.version).toStartWith("1.");
  });

  test("has no ua-parser-js 2.x anywhere in package-lock.json", () => {
    const lock = JSON.parse(readFileSync(join(root, "package-lock.json"), "utf8")) as {
      packages: Record<string, { version?: string }>;
    };
    const versions = Object.entries(lock.packages)
      .filter(([path]) => path.endsWith("node_modules/ua-parser-js"))
      .map(([, entry]) => entry.version);
    expect(versions.length).toBeGreaterThan(0);
    expect(versions.filter((v) => !v?.startsWith("1."))).toStrictEqual([]);
  });
});
