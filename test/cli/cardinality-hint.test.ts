import { afterAll, expect, test } from "bun:test";
import { checkConfig } from "../../src/cli/check-config.ts";
import { tempDir } from "../support/process.ts";

const dir = tempDir("sense-events-cardinality-");
afterAll(() => dir.cleanup());

const HINT =
  'hint: sense-events.influxdb.userTags is true (Butler SOS\'s schema), so every distinct user is a value of the InfluxDB tags userFull and userId; InfluxDB 1.x refuses every write that would give a tag more than max-values-per-tag values (default 100,000 per database). Either raise it in influxdb.conf ([data] max-values-per-tag = 0 turns the limit off), or set sense-events.influxdb.userTags: false to write user ids as fields only (count(distinct("userFull")) in dashboards keeps working)';

/** A config writing user events to InfluxDB `version`, with `sense-events.influxdb` extras. */
function config(version: number, influxdb: object = {}, sendToInfluxdb = true): object {
  return {
    "Butler-SOS": {
      userEvents: { enable: true, sendToInfluxdb: { enable: sendToInfluxdb } },
      influxdbConfig: {
        enable: true,
        host: "127.0.0.1",
        version,
        v1Config: { dbName: "senseops" },
        v2Config: { org: "o", bucket: "b", token: "t" },
        v3Config: { database: "d", token: "t" },
      },
    },
    "sense-events": { influxdb },
  };
}

async function run(content: object) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await checkConfig(dir.write(`c${Math.random().toString(36).slice(2)}.yaml`, content), {
    out: (l) => out.push(l),
    err: (l) => err.push(l),
  });
  return { code, err };
}

test("check-config explains max-values-per-tag when user ids are InfluxDB 1.x tags (reference §22)", async () => {
  expect(await run(config(1))).toStrictEqual({ code: 0, err: [HINT] });
});

test.each([
  ["userTags is false", config(1, { userTags: false })],
  ["InfluxDB is v2, which has no max-values-per-tag", config(2)],
  ["InfluxDB is v3", config(3)],
  ["user events are not written to InfluxDB", config(1, {}, false)],
])("check-config gives no cardinality hint when %s", async (_name, content) => {
  expect(await run(content)).toStrictEqual({ code: 0, err: [] });
});
