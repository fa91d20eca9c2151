import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { checkConfig } from "../../src/cli/check-config.ts";
import { localFixture, sharedFixture } from "../support/fixtures.ts";

const dir = mkdtempSync(join(tmpdir(), "sense-events-check-config-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const TEMPLATE = sharedFixture("butler-sos-15-production_template.yaml");
const FULL = localFixture("butler-sos-full.yaml");

/** Resolves only `known.lab`. */
const resolveHost = async (host: string) => {
  if (host === "known.lab") return ["10.0.0.7"];
  if (host === "localhost") return ["127.0.0.1"];
  throw Object.assign(new Error("not found"), { code: "ENOTFOUND" });
};

/** Runs check-config on `text` (or on the file `path`) and captures its output. */
async function run(text: string | { path: string }) {
  let path: string;
  if (typeof text === "string") {
    path = join(dir, `c${Math.random().toString(36).slice(2)}.yaml`);
    writeFileSync(path, text);
  } else path = text.path;
  const out: string[] = [];
  const err: string[] = [];
  const code = await checkConfig(path, { out: (l) => out.push(l), err: (l) => err.push(l), resolveHost });
  return { code, out, err };
}

const allowList = (entries: string) =>
  `Butler-SOS:\n  userEvents:\n    udpServerConfig:\n      enableSourceValidation: true\n      allowedSources: ${entries}\n`;

describe("check-config (reference §18 item 67)", () => {
  test("sense-events: [] is one config error naming the path, exit 78 (issue 9)", async () => {
    expect(await run("sense-events: []\n")).toStrictEqual({
      code: 78,
      out: [],
      err: ["config error: sense-events: must be a mapping (got Array)"],
    });
  });

  test("Butler SOS 15's template exits 0 with a warning that user events are disabled", async () => {
    expect(await run({ path: TEMPLATE })).toStrictEqual({
      code: 0,
      out: ["user events off; InfluxDB off; MQTT off; New Relic off; app names off; API 127.0.0.1:9995"],
      err: [
        "warning: user events are disabled (Butler-SOS.userEvents.enable is false): no UDP listener, no destinations",
      ],
    });
  });

  test("the full fixture exits 0 and summarises every destination", async () => {
    expect(await run({ path: FULL })).toStrictEqual({
      code: 0,
      out: [
        "user events on 127.0.0.1:9997; InfluxDB v2 127.0.0.1:8086; MQTT 127.0.0.1:1883; New Relic First NR account; app names off; API 127.0.0.1:9995",
      ],
      err: [],
    });
  });

  test("prints one config error line per problem and exits 78 (reference §18 item 65)", async () => {
    const result = await run(
      "Butler-SOS:\n  influxdbConfig:\n    enable: true\n    host: db\n    version: 4\n  userEvents:\n    excludeUser:\n      - userId: x\n",
    );
    expect(result).toStrictEqual({
      code: 78,
      out: [],
      err: [
        "config error: Butler-SOS.userEvents.excludeUser[0].directory: required",
        "config error: Butler-SOS.influxdbConfig.version: must be 1, 2 or 3 (got 4)",
      ],
    });
  });

  test("a YAML syntax error names file, line and column and exits 78", async () => {
    const path = join(dir, "syntax.yaml");
    writeFileSync(path, "sense-events:\n  api: {port: 1\n");
    const result = await run({ path });
    expect([
      result.code,
      result.err.length,
      result.err[0]?.startsWith(`config error: ${path}:3:1: `),
    ]).toStrictEqual([78, 1, true]);
  });

  test("a missing file exits 78", async () => {
    expect(await run({ path: join(dir, "missing.yaml") })).toStrictEqual({
      code: 78,
      out: [],
      err: [`config error: ${join(dir, "missing.yaml")}: cannot read file (ENOENT)`],
    });
  });

  test("a non-loopback API without a token exits 78", async () => {
    const result = await run("sense-events:\n  api:\n    host: 0.0.0.0\n");
    expect([result.code, result.err]).toStrictEqual([
      78,
      ["config error: sense-events.api.token: required when api.host is not a loopback address"],
    ]);
  });

  test.each([
    ["an empty allow-list", "[]", []],
    [
      "an allow-list of unresolvable hostnames",
      "[gone.lab]",
      [
        'Butler-SOS.userEvents.udpServerConfig.allowedSources[0]: cannot resolve "gone.lab" (ENOTFOUND); ignored',
      ],
    ],
  ])("warns that %s fails closed and still exits 0", async (_name, entries, problems) => {
    const result = await run(allowList(entries));
    expect([result.code, result.err]).toStrictEqual([
      0,
      [
        ...problems.map((p) => `warning: ${p}`),
        "warning: Butler-SOS.userEvents.udpServerConfig.allowedSources: no usable entry, so the allow-list fails closed and every datagram will be dropped",
      ],
    ]);
  });

  test("an allow-list with a usable entry gives no fail-closed warning", async () => {
    const result = await run(allowList("[known.lab, 10.0.0.0/8]"));
    expect([result.code, result.err]).toStrictEqual([0, []]);
  });
});

test("the default resolver resolves localhost through the system resolver", async () => {
  const path = join(dir, "system-resolver.yaml");
  writeFileSync(path, allowList("[localhost]"));
  const err: string[] = [];
  const code = await checkConfig(path, { out: () => {}, err: (l) => err.push(l) });
  expect([code, err]).toStrictEqual([0, []]);
});
