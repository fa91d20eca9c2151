import { describe, expect, test } from "bun:test";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileSections } from "../../src/config/schema.ts";
import { type ConfigIssue, validateConfig } from "../../src/config/validate.ts";

const BASE = "/etc/sense-events";

/** Validates a config object and returns its errors (empty when it loads). */
function errorsOf(raw: unknown): ConfigIssue[] {
  const result = validateConfig(raw, { baseDir: BASE, file: "test.yaml" });
  return result.ok ? [] : result.errors;
}

/** Validates a config object that must load, and returns the result. */
function load(raw: unknown) {
  const result = validateConfig(raw, { baseDir: BASE, file: "test.yaml" });
  if (!result.ok) throw new Error(`unexpected errors: ${JSON.stringify(result.errors)}`);
  return result;
}

const bs = (section: Record<string, unknown>) => ({ "Butler-SOS": section });
const influx = (config: Record<string, unknown>) => bs({ influxdbConfig: { enable: true, ...config } });

describe("one error per problem, with its YAML path", () => {
  test.each([
    [
      "influx version",
      influx({ host: "db", version: 4, v1Config: { dbName: "x" } }),
      "Butler-SOS.influxdbConfig.version",
      "must be 1, 2 or 3 (got 4)",
    ],
    [
      "influx port",
      influx({ host: "db", port: 70000, version: 1, v1Config: { dbName: "x" } }),
      "Butler-SOS.influxdbConfig.port",
      "must be an integer from 1 to 65535 (got 70000)",
    ],
    [
      "influx host placeholder",
      influx({ host: "<IP or FQDN>", version: 1, v1Config: { dbName: "x" } }),
      "Butler-SOS.influxdbConfig.host",
      'must be an IP address or hostname (got "<IP or FQDN>")',
    ],
    [
      "influx maxBatchSize",
      influx({ host: "db", version: 1, maxBatchSize: 0, v1Config: { dbName: "x" } }),
      "Butler-SOS.influxdbConfig.maxBatchSize",
      "must be an integer from 1 to 10000 (got 0)",
    ],
    [
      "UDP serverHost",
      bs({ userEvents: { udpServerConfig: { serverHost: "<IP or FQDN>" } } }),
      "Butler-SOS.userEvents.udpServerConfig.serverHost",
      'must be an IP address or hostname (got "<IP or FQDN>")',
    ],
    [
      "UDP port",
      bs({ userEvents: { udpServerConfig: { portUserActivityEvents: 0 } } }),
      "Butler-SOS.userEvents.udpServerConfig.portUserActivityEvents",
      "must be an integer from 1 to 65535 (got 0)",
    ],
    [
      "maxMessageSize",
      bs({ userEvents: { udpServerConfig: { maxMessageSize: 65508 } } }),
      "Butler-SOS.userEvents.udpServerConfig.maxMessageSize",
      "must be an integer from 1 to 65507 (got 65508)",
    ],
    [
      "rate limit",
      bs({ userEvents: { udpServerConfig: { rateLimit: { maxMessagesPerMinute: 0 } } } }),
      "Butler-SOS.userEvents.udpServerConfig.rateLimit.maxMessagesPerMinute",
      "must be an integer of at least 1 (got 0)",
    ],
    [
      "excludeUser directory",
      bs({ userEvents: { excludeUser: [{ userId: "x" }] } }),
      "Butler-SOS.userEvents.excludeUser[0].directory",
      "required",
    ],
    [
      "excludeUser not a list",
      bs({ userEvents: { excludeUser: "LAB\\x" } }),
      "Butler-SOS.userEvents.excludeUser",
      'must be a list (got "LAB\\x")',
    ],
    [
      "tag without name",
      bs({ userEvents: { tags: [{ name: "a", value: "1" }, { value: "2" }] } }),
      "Butler-SOS.userEvents.tags[1]",
      "needs a name (or tag)",
    ],
    [
      "enable not boolean",
      bs({ userEvents: { enable: "yes" } }),
      "Butler-SOS.userEvents.enable",
      'must be true or false (got "yes")',
    ],
    [
      "control character",
      bs({ userEvents: { tags: [{ name: "a", value: "x\ty" }] } }),
      "Butler-SOS.userEvents.tags[0].value",
      "must not contain control characters",
    ],
    [
      "events.capacity",
      { "sense-events": { events: { capacity: 99 } } },
      "sense-events.events.capacity",
      "must be an integer from 100 to 1000000 (got 99)",
    ],
    [
      "log.level",
      { "sense-events": { log: { level: "trace" } } },
      "sense-events.log.level",
      'must be "error", "warn", "info", "verbose", "debug" or "silly" (got "trace")',
    ],
    [
      "log.format",
      { "sense-events": { log: { format: "xml" } } },
      "sense-events.log.format",
      'must be "text" or "json" (got "xml")',
    ],
    [
      "v3WriteApi",
      { "sense-events": { influxdb: { v3WriteApi: "v3" } } },
      "sense-events.influxdb.v3WriteApi",
      'must be "v2compat" or "native" (got "v3")',
    ],
    [
      "api port",
      { "sense-events": { api: { port: "9995" } } },
      "sense-events.api.port",
      'must be an integer from 1 to 65535 (got "9995")',
    ],
    [
      "section not a mapping",
      { "sense-events": { api: 5 } },
      "sense-events.api",
      "must be a mapping (got 5)",
    ],
    [
      "queueMetrics frequency",
      {
        "Butler-SOS": {
          influxdbConfig: { enable: true, host: "db", version: 1, v1Config: { dbName: "x" } },
          userEvents: {
            udpServerConfig: { queueMetrics: { influxdb: { enable: true, writeFrequency: 999 } } },
          },
        },
      },
      "Butler-SOS.userEvents.udpServerConfig.queueMetrics.influxdb.writeFrequency",
      "must be an integer from 1000 to 2147483647 (got 999)",
    ],
    [
      "extractInterval",
      bs({ appNames: { enableAppNameExtract: true, hostIP: "sense", extractInterval: 9999 } }),
      "Butler-SOS.appNames.extractInterval",
      "must be an integer from 10000 to 2147483647 (got 9999)",
    ],
    [
      "MQTT qos",
      bs({
        mqttConfig: { enable: true, brokerHost: "mq", qos: 3 },
        userEvents: { sendToMQTT: { enable: true } },
      }),
      "Butler-SOS.mqttConfig.qos",
      "must be 0, 1 or 2 (got 3)",
    ],
    [
      "MQTT protocolVersion",
      bs({
        mqttConfig: { enable: true, brokerHost: "mq", protocolVersion: 6 },
        userEvents: { sendToMQTT: { enable: true } },
      }),
      "Butler-SOS.mqttConfig.protocolVersion",
      "must be 3, 4 or 5 (got 6)",
    ],
    [
      "MQTT enabled topic without name",
      bs({
        mqttConfig: { enable: true, brokerHost: "mq" },
        userEvents: {
          sendToMQTT: { enable: true, postTo: { sessionStartTopic: { enable: true, topic: "" } } },
        },
      }),
      "Butler-SOS.userEvents.sendToMQTT.postTo.sessionStartTopic.topic",
      "required when enable is true",
    ],
    [
      "New Relic url",
      bs({
        newRelic: { enable: true, event: { url: "ftp://nr" } },
        userEvents: { sendToNewRelic: { enable: true } },
      }),
      "Butler-SOS.newRelic.event.url",
      'must be an http(s) URL (got "ftp://nr")',
    ],
    [
      "influx v2 org",
      influx({ host: "db", version: 2, v2Config: { bucket: "b", token: "t" } }),
      "Butler-SOS.influxdbConfig.v2Config.org",
      "required for InfluxDB v2",
    ],
    [
      "influx v3 token",
      influx({ host: "db", version: 3, v3Config: { database: "d" } }),
      "Butler-SOS.influxdbConfig.v3Config.token",
      "required for InfluxDB v3",
    ],
    [
      "influx v1 dbName",
      influx({ host: "db", version: 1 }),
      "Butler-SOS.influxdbConfig.v1Config.dbName",
      "required for InfluxDB v1",
    ],
    [
      "influx host missing",
      influx({ version: 1, v1Config: { dbName: "x" } }),
      "Butler-SOS.influxdbConfig.host",
      "required when InfluxDB is enabled",
    ],
    [
      "MQTT brokerHost missing",
      bs({ mqttConfig: { enable: true }, userEvents: { sendToMQTT: { enable: true } } }),
      "Butler-SOS.mqttConfig.brokerHost",
      "required when MQTT is enabled",
    ],
    [
      "New Relic url missing",
      bs({ newRelic: { enable: true }, userEvents: { sendToNewRelic: { enable: true } } }),
      "Butler-SOS.newRelic.event.url",
      "required when New Relic is enabled",
    ],
    [
      "app names hostIP missing",
      bs({ appNames: { enableAppNameExtract: true } }),
      "Butler-SOS.appNames.hostIP",
      "required when app names are enabled",
    ],
  ])("%s", (_name, raw, path, message) => {
    expect(errorsOf(raw)[0]).toStrictEqual({ path, message });
  });

  test("lists every problem at once, as the 422 reload response does", () => {
    const raw = {
      "Butler-SOS": {
        userEvents: {
          excludeUser: [{ directory: "LAB" }],
          udpServerConfig: { portUserActivityEvents: 99999 },
        },
      },
      "sense-events": { log: { format: "xml" }, events: { capacity: 5 } },
    };
    expect(errorsOf(raw)).toStrictEqual([
      { path: "Butler-SOS.userEvents.excludeUser[0].userId", message: "required" },
      {
        path: "Butler-SOS.userEvents.udpServerConfig.portUserActivityEvents",
        message: "must be an integer from 1 to 65535 (got 99999)",
      },
      { path: "sense-events.events.capacity", message: "must be an integer from 100 to 1000000 (got 5)" },
      { path: "sense-events.log.format", message: 'must be "text" or "json" (got "xml")' },
    ]);
  });

  test("a top level that is not a mapping names the file", () => {
    expect(errorsOf(["a"])).toStrictEqual([{ path: "test.yaml", message: "must be a YAML mapping" }]);
  });
});

describe("a section that is not a mapping is an error, even in an unused feature (issue 9)", () => {
  test.each([
    ["sense-events: []", { "sense-events": [] }, "sense-events", "must be a mapping (got Array)"],
    ["Butler-SOS: []", { "Butler-SOS": [] }, "Butler-SOS", "must be a mapping (got Array)"],
    [
      "sense-events.api: []",
      { "sense-events": { api: [] } },
      "sense-events.api",
      "must be a mapping (got Array)",
    ],
    ["an unused mqttConfig: 7", bs({ mqttConfig: 7 }), "Butler-SOS.mqttConfig", "must be a mapping (got 7)"],
    [
      "an unused influxdbConfig: []",
      bs({ influxdbConfig: [] }),
      "Butler-SOS.influxdbConfig",
      "must be a mapping (got Array)",
    ],
    [
      "userEvents.sendToMQTT: true",
      bs({ userEvents: { sendToMQTT: true } }),
      "Butler-SOS.userEvents.sendToMQTT",
      "must be a mapping (got true)",
    ],
  ])("%s", (_name, raw, path, message) => {
    expect(errorsOf(raw)).toStrictEqual([{ path, message }]);
  });
});

describe("only features that are used are validated", () => {
  test("with user events disabled only sense-events is checked, and a warning says so", () => {
    const result = load(
      bs({
        userEvents: { enable: false, udpServerConfig: { serverHost: "<IP or FQDN>" }, excludeUser: "bad" },
        influxdbConfig: { enable: true, host: "<IP or FQDN>", version: 9 },
        appNames: { enableAppNameExtract: true, hostIP: "<IP or FQDN>" },
        mqttConfig: { enable: true, brokerHost: "<IP of MQTT broker/server>" },
      }),
    );
    expect(result.warnings).toStrictEqual([
      "user events are disabled (Butler-SOS.userEvents.enable is false): no UDP listener, no destinations",
    ]);
  });

  test("with user events disabled a bad sense-events value is still an error", () => {
    expect(
      errorsOf({ "Butler-SOS": { userEvents: { enable: false } }, "sense-events": { api: { port: 0 } } }),
    ).toStrictEqual([
      { path: "sense-events.api.port", message: "must be an integer from 1 to 65535 (got 0)" },
    ]);
  });

  test.each([
    ["InfluxDB disabled", bs({ influxdbConfig: { enable: false, host: "<host>", port: "x", version: 7 } })],
    [
      "InfluxDB enabled but nothing writes to it",
      bs({
        influxdbConfig: { enable: true, host: "<host>" },
        userEvents: { sendToInfluxdb: { enable: false } },
      }),
    ],
    [
      "MQTT broker configured but sendToMQTT off",
      bs({ mqttConfig: { enable: true, brokerHost: "<IP>", qos: 9 } }),
    ],
    [
      "sendToMQTT on but mqttConfig off",
      bs({ userEvents: { sendToMQTT: { enable: true, postTo: { everythingTopic: { enable: true } } } } }),
    ],
    [
      "New Relic off",
      bs({
        newRelic: { enable: true, event: { url: "nope" } },
        thirdPartyToolsCredentials: { newRelic: [{ accountName: 1 }] },
      }),
    ],
    [
      "event counts without InfluxDB",
      bs({
        qlikSenseEvents: { influxdb: { enable: true, writeFrequency: 5 }, eventCount: { enable: true } },
      }),
    ],
    [
      "app names off",
      bs({ appNames: { enableAppNameExtract: false, hostIP: "<IP or FQDN>" }, cert: { clientCert: 5 } }),
    ],
    [
      "Butler-SOS.logLevel when sense-events.log.level is set",
      { "Butler-SOS": { logLevel: "loud" }, "sense-events": { log: { level: "debug" } } },
    ],
  ])("%s: not validated", (_name, raw) => {
    expect(errorsOf(raw)).toStrictEqual([]);
  });

  test("an unused feature keeps its valid values in the output", () => {
    const { config } = load(bs({ mqttConfig: { enable: true, brokerHost: "broker.lab", brokerPort: "x" } }));
    expect(config["Butler-SOS"].mqttConfig.brokerHost).toBe("broker.lab");
  });
});

describe("normalisation", () => {
  test("null lists become empty lists", () => {
    const { config } = load(
      bs({
        userEvents: {
          excludeUser: null,
          tags: null,
          udpServerConfig: { allowedSources: null },
          sendToNewRelic: { destinationAccount: null },
        },
        thirdPartyToolsCredentials: { newRelic: null },
        newRelic: { event: { header: null, attribute: { static: null } } },
      }),
    );
    const b = config["Butler-SOS"];
    expect([
      b.userEvents.excludeUser,
      b.userEvents.tags,
      b.userEvents.udpServerConfig.allowedSources,
      b.userEvents.sendToNewRelic.destinationAccount,
      b.thirdPartyToolsCredentials.newRelic,
      b.newRelic.event.header,
      b.newRelic.event.attribute.static,
    ]).toStrictEqual([[], [], [], [], [], [], []]);
  });

  test("tag lists accept name and tag forms, stringify scalars, drop empty values and prefer name", () => {
    const { config } = load(
      bs({
        userEvents: {
          tags: [
            { name: "a", value: "1" },
            { tag: "b", value: 2 },
            { name: "c", tag: "ignored", value: true },
            { name: "d" },
            { name: "e", value: "" },
            { tag: "f", value: null },
          ],
        },
      }),
    );
    expect(config["Butler-SOS"].userEvents.tags).toStrictEqual([
      { name: "a", value: "1" },
      { name: "b", value: "2" },
      { name: "c", value: "true" },
    ]);
  });

  test.each([
    [
      "no postTo: all five default topics",
      undefined,
      {
        everythingTopic: "qliksense/userevent",
        sessionStartTopic: "qliksense/userevent/session/start",
        sessionStopTopic: "qliksense/userevent/session/stop",
        connectionOpenTopic: "qliksense/userevent/connection/open",
        connectionCloseTopic: "qliksense/userevent/connection/close",
      },
    ],
    [
      "a topic missing from postTo is off",
      { everythingTopic: { enable: true, topic: "all" }, sessionStopTopic: { enable: false, topic: "stop" } },
      {
        everythingTopic: "all",
        sessionStartTopic: null,
        sessionStopTopic: null,
        connectionOpenTopic: null,
        connectionCloseTopic: null,
      },
    ],
  ])("sendToMQTT.postTo: %s", (_name, postTo, expected) => {
    const { config } = load(
      bs({
        userEvents: { sendToMQTT: { enable: true, postTo } },
        mqttConfig: { enable: true, brokerHost: "::1" },
      }),
    );
    expect(config["Butler-SOS"].userEvents.sendToMQTT.postTo).toStrictEqual(expected);
  });

  test("relative outbox, certificate and MQTT TLS paths resolve against the config directory", () => {
    const { config } = load({
      "Butler-SOS": {
        cert: { clientCert: "certs/client.pem", clientCertKey: "/abs/key.pem" },
        mqttConfig: { tls: { ca: "ca.pem" } },
      },
      "sense-events": { outbox: { path: "data/spool.sqlite" } },
    });
    expect([
      config["Butler-SOS"].cert.clientCert,
      config["Butler-SOS"].cert.clientCertKey,
      config["Butler-SOS"].mqttConfig.tls.ca,
      config["sense-events"].outbox.path,
    ]).toStrictEqual([
      "/etc/sense-events/certs/client.pem",
      "/abs/key.pem",
      "/etc/sense-events/ca.pem",
      "/etc/sense-events/data/spool.sqlite",
    ]);
  });

  test('an empty outbox path stays "" (spool disabled)', () => {
    expect(load({ "sense-events": { outbox: { path: "" } } }).config["sense-events"].outbox.path).toBe("");
  });

  test.each([
    [{ "Butler-SOS": { logLevel: "debug" } }, "debug"],
    [{ "Butler-SOS": { logLevel: "debug" }, "sense-events": { log: { level: "warn" } } }, "warn"],
    [{}, "info"],
  ])("log level falls back to Butler-SOS.logLevel, then info (%#)", (raw, level) => {
    expect(load(raw).config["sense-events"].log.level).toBe(level as never);
  });

  test("warns about unknown sense-events keys and ignores unknown Butler-SOS keys", () => {
    const result = load({
      "Butler-SOS": { heartbeat: { enable: true } },
      "sense-events": { apii: {}, api: { hots: "x" } },
      other: 1,
    });
    expect(result.warnings).toStrictEqual([
      "sense-events.apii: unknown key (ignored)",
      "sense-events.api.hots: unknown key (ignored)",
    ]);
  });

  test("unknown top-level and Butler-SOS keys are left out of the config", () => {
    const { config } = load({ "Butler-SOS": { heartbeat: { enable: true } }, other: 1 });
    expect([Object.keys(fileSections(config)), "heartbeat" in config["Butler-SOS"]]).toStrictEqual([
      ["Butler-SOS", "sense-events"],
      false,
    ]);
  });
});

describe("API token rule", () => {
  const message = {
    path: "sense-events.api.token",
    message: "required when api.host is not a loopback address",
  };
  test.each([
    ["0.0.0.0", undefined, [message]],
    ["10.0.0.5", "", [message]],
    ["::", undefined, [message]],
    ["sense-events.lab", undefined, [message]],
    ["0.0.0.0", "secret", []],
    ["127.0.0.1", undefined, []],
    ["127.1.2.3", undefined, []],
    ["::1", undefined, []],
    ["localhost", undefined, []],
  ])("host %s, token %p", (host, token, expected) => {
    expect(errorsOf({ "sense-events": { api: { host, token } } })).toStrictEqual(expected);
  });

  test("is not checked when the API is disabled", () => {
    expect(errorsOf({ "sense-events": { api: { enable: false, host: "0.0.0.0" } } })).toStrictEqual([]);
  });
});

describe("certificate files for app names", () => {
  const dir = mkdtempSync(join(tmpdir(), "sense-events-certs-"));
  writeFileSync(join(dir, "client.pem"), "cert");
  writeFileSync(join(dir, "client_key.pem"), "key");
  const appNames = (cert: Record<string, unknown>, verifyServerCert = false) =>
    validateConfig(
      {
        "Butler-SOS": { appNames: { enableAppNameExtract: true, hostIP: "10.0.0.9" }, cert },
        "sense-events": { appNames: { verifyServerCert } },
      },
      { baseDir: dir },
    );

  test("readable client certificate and key load, and the CA is not needed without verifyServerCert", () => {
    expect(
      appNames({ clientCert: "client.pem", clientCertKey: "client_key.pem", clientCertCA: "missing.pem" }).ok,
    ).toBe(true);
  });

  test("an unreadable key is an error naming the file", () => {
    expect(appNames({ clientCert: "client.pem", clientCertKey: "nope.pem" })).toStrictEqual({
      ok: false,
      errors: [
        { path: "Butler-SOS.cert.clientCertKey", message: `cannot read ${join(dir, "nope.pem")} (ENOENT)` },
      ],
    });
  });

  test("verifyServerCert needs a readable CA", () => {
    expect(appNames({ clientCert: "client.pem", clientCertKey: "client_key.pem" }, true)).toStrictEqual({
      ok: false,
      errors: [
        {
          path: "Butler-SOS.cert.clientCertCA",
          message: "required when sense-events.appNames.verifyServerCert is true",
        },
      ],
    });
  });
});

describe("timer settings fit a JavaScript timer (reference §14.2, §14.3)", () => {
  // A delay above 2^31-1 ms is set to 1 ms by the runtime: writeFrequency 3e9 wrote ~1000 points a second.
  const influxOn = {
    influxdbConfig: { enable: true, host: "db", version: 1, v1Config: { dbName: "x" } },
    qlikSenseEvents: {
      influxdb: { enable: true, writeFrequency: 3_000_000_000 },
      eventCount: { enable: true },
    },
  };
  test("writeFrequency above 2147483647 is refused with its path", () => {
    expect(errorsOf(bs({ userEvents: { sendToInfluxdb: { enable: true } }, ...influxOn }))).toStrictEqual([
      {
        path: "Butler-SOS.qlikSenseEvents.influxdb.writeFrequency",
        message: "must be an integer from 1000 to 2147483647 (got 3000000000)",
      },
    ]);
  });
});

describe("receiveBufferBytes fits SO_RCVBUF (reference §8.2, §14.3)", () => {
  test("a value above 2147483647 is a config error, not a bind failure at start", () => {
    expect(errorsOf({ "sense-events": { udp: { receiveBufferBytes: 5_000_000_000 } } })).toStrictEqual([
      {
        path: "sense-events.udp.receiveBufferBytes",
        message: "must be an integer from 1 to 2147483647 (got 5000000000)",
      },
    ]);
  });
});
