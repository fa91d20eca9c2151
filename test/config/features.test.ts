import { describe, expect, test } from "bun:test";
import { featureSummary } from "../../src/config/features.ts";
import { defaultConfig } from "../../src/config/load.ts";
import { validateConfig } from "../../src/config/validate.ts";

/** Loads a config object that must be valid. */
function load(raw: unknown) {
  const result = validateConfig(raw, { baseDir: "/cfg" });
  if (!result.ok) throw new Error(JSON.stringify(result.errors));
  return result.config;
}

const influx = { enable: true, host: "10.0.0.5", version: 1, v1Config: { dbName: "senseops" } };
const counts = { influxdb: { enable: true }, eventCount: { enable: true } };
const queue = { udpServerConfig: { queueMetrics: { influxdb: { enable: true } } } };

describe("config.features", () => {
  test("the embedded default has user events and nothing else", () => {
    expect(defaultConfig().features).toStrictEqual({
      userEvents: true,
      influxdb: false,
      userEventsToInflux: false,
      eventCount: false,
      queueMetrics: false,
      mqtt: false,
      newRelic: [],
      appNames: false,
      warnings: [],
      required: { influxdb: null, mqtt: null, newRelic: null, appNames: null },
    });
  });

  test.each([
    ["user events to InfluxDB by default", { influxdbConfig: influx }, [true, true, false, false]],
    [
      "event counts only",
      { influxdbConfig: influx, qlikSenseEvents: counts, userEvents: { sendToInfluxdb: { enable: false } } },
      [true, false, true, false],
    ],
    [
      "ingest metrics only",
      { influxdbConfig: influx, userEvents: { ...queue, sendToInfluxdb: { enable: false } } },
      [true, false, false, true],
    ],
    [
      "nothing writes",
      { influxdbConfig: influx, userEvents: { sendToInfluxdb: { enable: false } } },
      [false, false, false, false],
    ],
    [
      "event counts need qlikSenseEvents.influxdb.enable",
      { influxdbConfig: influx, qlikSenseEvents: { eventCount: { enable: true } } },
      [true, true, false, false],
    ],
    [
      "user events disabled",
      { influxdbConfig: influx, qlikSenseEvents: counts, userEvents: { ...queue, enable: false } },
      [false, false, false, false],
    ],
  ])("InfluxDB (reference §10.1, §10.5, §10.6): %s", (_name, bs, expected) => {
    const f = load({ "Butler-SOS": bs }).features;
    expect([f.influxdb, f.userEventsToInflux, f.eventCount, f.queueMetrics]).toStrictEqual(expected);
  });

  test.each([
    [true, true, true],
    [true, false, false],
    [false, true, false],
  ])("MQTT needs mqttConfig.enable (%p) and sendToMQTT.enable (%p)", (config, send, expected) => {
    const c = load({
      "Butler-SOS": {
        mqttConfig: { enable: config, brokerHost: "mq" },
        userEvents: { sendToMQTT: { enable: send } },
      },
    });
    expect(c.features.mqtt).toBe(expected);
  });

  test("New Relic accounts are looked up by name, a numeric id is a string, unknown and repeated names are warned about", () => {
    const c = load({
      "Butler-SOS": {
        newRelic: { enable: true, event: { url: "https://insights-collector.eu01.nr-data.net" } },
        thirdPartyToolsCredentials: { newRelic: [{ accountName: "EU", insertApiKey: "k1", accountId: 123 }] },
        userEvents: { sendToNewRelic: { enable: true, destinationAccount: ["EU", "Gone", "EU"] } },
      },
    });
    const f = c.features;
    expect([f.newRelic, f.warnings]).toStrictEqual([
      [{ accountName: "EU", insertApiKey: "k1", accountId: "123" }],
      [
        'Butler-SOS.userEvents.sendToNewRelic.destinationAccount[1]: unknown New Relic account "Gone" (not in thirdPartyToolsCredentials.newRelic); skipped',
        'Butler-SOS.userEvents.sendToNewRelic.destinationAccount[2]: New Relic account "EU" is listed twice; sent once',
      ],
    ]);
  });
});

describe("featureSummary", () => {
  test("the embedded default", () => {
    expect(featureSummary(defaultConfig())).toBe(
      "user events on 0.0.0.0:9997; InfluxDB off; MQTT off; New Relic off; app names off; API 127.0.0.1:9995",
    );
  });

  test("with InfluxDB and MQTT on an IPv6 listener", () => {
    const c = load({
      "Butler-SOS": {
        influxdbConfig: influx,
        mqttConfig: { enable: true, brokerHost: "mq.lab" },
        userEvents: { udpServerConfig: { serverHost: "::" }, sendToMQTT: { enable: true } },
      },
      "sense-events": { api: { enable: false } },
    });
    expect(featureSummary(c)).toBe(
      "user events on [::]:9997; InfluxDB v1 10.0.0.5:8086; MQTT mq.lab:1883; New Relic off; app names off; API off",
    );
  });
});
