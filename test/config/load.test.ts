import { afterAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import {
  defaultConfig,
  formatConfigIssue,
  loadConfigFile,
  loadConfigFileOffThread,
  MAX_CONFIG_BYTES,
  parseConfigText,
} from "../../src/config/load.ts";
import { fileSections } from "../../src/config/schema.ts";
import { LOCAL_FIXTURES, localFixture, sharedFixture } from "../support/fixtures.ts";
import { tempDir } from "../support/process.ts";

describe("real-world files load unchanged (reference §18 item 63)", () => {
  test("Butler SOS 15's own template loads with no errors and warns that user events are disabled", async () => {
    const result = await loadConfigFile(sharedFixture("butler-sos-15-production_template.yaml"));
    expect(result.ok && result.warnings).toStrictEqual([
      "user events are disabled (Butler-SOS.userEvents.enable is false): no UDP listener, no destinations",
    ]);
  });

  test("the product-documentation example loads and its {tag, value} entry becomes env=PROD", async () => {
    const result = await loadConfigFile(sharedFixture("product-doc-userevents.yaml"));
    if (!result.ok) throw new Error(JSON.stringify(result.errors));
    const ue = result.config["Butler-SOS"].userEvents;
    expect([result.warnings, ue.tags, ue.excludeUser, ue.udpServerConfig.serverHost]).toStrictEqual([
      [],
      [{ name: "env", value: "PROD" }],
      [{ directory: "LAB", userId: "testuser1" }],
      "192.168.1.100",
    ]);
  });

  test("the full fixture sets every key sense-events reads", async () => {
    const loaded = await loadConfigFile(localFixture("butler-sos-full.yaml"));
    const result = loaded.ok ? { ...loaded, config: fileSections(loaded.config) } : loaded;
    expect(result as unknown).toStrictEqual({
      ok: true,
      warnings: [],
      file: localFixture("butler-sos-full.yaml"),
      config: fullConfig(LOCAL_FIXTURES),
    });
  });
});

describe("errors", () => {
  test("a YAML syntax error is one issue at file:line:col", () => {
    const result = parseConfigText("Butler-SOS:\n  userEvents:\n    enable: true\n   tags: []\n", {
      file: "bad.yaml",
    });
    expect(result).toStrictEqual({
      ok: false,
      errors: [{ path: "bad.yaml:4:1", message: "All mapping items must start at the same column" }],
    });
  });

  test("a duplicate key is a syntax error", () => {
    const result = parseConfigText("sense-events: {}\nsense-events: {}\n", { file: "dup.yaml" });
    expect(result).toStrictEqual({
      ok: false,
      errors: [{ path: "dup.yaml:2:1", message: "Map keys must be unique" }],
    });
  });

  test("the formatted line is config error: <file>:<line>:<col>: <message>", () => {
    const result = parseConfigText("a: [1,\n", { file: "c.yaml" });
    expect(result.ok ? [] : result.errors.map(formatConfigIssue)).toStrictEqual([
      "config error: c.yaml:2:1: Flow sequence in block collection must be sufficiently indented and end with a ]",
    ]);
  });

  test("a validation error is formatted as config error: <path>: <problem>", () => {
    expect(
      formatConfigIssue({ path: "Butler-SOS.influxdbConfig.version", message: "must be 1, 2 or 3 (got 4)" }),
    ).toBe("config error: Butler-SOS.influxdbConfig.version: must be 1, 2 or 3 (got 4)");
  });

  test("an unreadable file is an error", async () => {
    expect(await loadConfigFile("/nonexistent/sense-events.yaml")).toStrictEqual({
      ok: false,
      errors: [{ path: "/nonexistent/sense-events.yaml", message: "cannot read file (ENOENT)" }],
    });
  });

  test("an unresolved alias is an error naming the file", () => {
    const result = parseConfigText("a: *nope\n", { file: "alias.yaml" });
    expect(result.ok ? [] : result.errors.map((e) => e.path)).toStrictEqual(["alias.yaml"]);
  });
});

describe("defaults", () => {
  test("an empty file gives the embedded default with relative paths beside the file", () => {
    const result = parseConfigText("", { file: "/srv/se/empty.yaml" });
    expect(result.ok && result.config["sense-events"].outbox.path).toBe("/srv/se/sense-events-outbox.sqlite");
  });

  test("the embedded default listens on UDP 0.0.0.0:9997 and the API on 127.0.0.1:9995 with no destinations (reference §18 item 66)", () => {
    const c = defaultConfig();
    const bs = c["Butler-SOS"];
    expect({
      udp: [
        bs.userEvents.enable,
        bs.userEvents.udpServerConfig.serverHost,
        bs.userEvents.udpServerConfig.portUserActivityEvents,
      ],
      api: [c["sense-events"].api.enable, c["sense-events"].api.host, c["sense-events"].api.port],
      destinations: [bs.influxdbConfig.enable, bs.mqttConfig.enable, bs.newRelic.enable],
      outbox: c["sense-events"].outbox.path,
    }).toStrictEqual({
      udp: [true, "0.0.0.0", 9997],
      api: [true, "127.0.0.1", 9995],
      destinations: [false, false, false],
      outbox: join(process.cwd(), "sense-events-outbox.sqlite"),
    });
  });

  test("every documented default is applied", () => {
    const c = defaultConfig();
    expect(fileSections(c) as unknown).toStrictEqual(defaults(process.cwd()));
  });
});

/** The embedded default config, with the outbox beside `dir`. */
function defaults(dir: string) {
  return {
    "Butler-SOS": {
      userEvents: {
        enable: true,
        excludeUser: [],
        udpServerConfig: {
          serverHost: "0.0.0.0",
          portUserActivityEvents: 9997,
          maxMessageSize: 65507,
          rateLimit: { enable: false, maxMessagesPerMinute: 600 },
          enableSourceValidation: false,
          allowedSources: [],
          queueMetrics: {
            influxdb: {
              enable: false,
              writeFrequency: 20000,
              measurementName: "user_events_queue",
              tags: [],
            },
          },
        },
        tags: [],
        sendToMQTT: {
          enable: false,
          postTo: {
            everythingTopic: "qliksense/userevent",
            sessionStartTopic: "qliksense/userevent/session/start",
            sessionStopTopic: "qliksense/userevent/session/stop",
            connectionOpenTopic: "qliksense/userevent/connection/open",
            connectionCloseTopic: "qliksense/userevent/connection/close",
          },
        },
        sendToInfluxdb: { enable: true },
        sendToNewRelic: { enable: false, destinationAccount: [], scramble: true },
      },
      influxdbConfig: {
        enable: false,
        port: 8086,
        maxBatchSize: 1000,
        v1Config: { auth: { enable: false }, retentionPolicy: {} },
        v2Config: {},
        v3Config: { writeTimeout: 10000 },
      },
      mqttConfig: {
        enable: false,
        brokerPort: 1883,
        tls: { enable: false, rejectUnauthorized: true },
        qos: 0,
        retain: false,
        protocolVersion: 4,
      },
      newRelic: { enable: false, event: { header: [], attribute: { static: [] } } },
      thirdPartyToolsCredentials: { newRelic: [] },
      qlikSenseEvents: {
        influxdb: { enable: false, writeFrequency: 20000 },
        eventCount: { enable: false, influxdb: { measurementName: "event_count", tags: [] } },
      },
      appNames: { enableAppNameExtract: false, extractInterval: 60000 },
      cert: {},
    },
    "sense-events": senseEvents(dir, { format: "text", level: "info" }),
  };
}

/** What test/fixtures/butler-sos-full.yaml loads as, with paths beside `dir`. */
function fullConfig(dir: string) {
  const tag = { name: "qs_env", value: "dev" };
  return {
    "Butler-SOS": {
      userEvents: {
        enable: true,
        excludeUser: [
          { directory: "LAB", userId: "testuser1" },
          { directory: "LAB", userId: "testuser2" },
        ],
        udpServerConfig: {
          serverHost: "127.0.0.1",
          portUserActivityEvents: 9997,
          maxMessageSize: 65507,
          rateLimit: { enable: true, maxMessagesPerMinute: 6000 },
          enableSourceValidation: true,
          allowedSources: ["127.0.0.1", "::1", "10.0.0.0/8", "localhost"],
          queueMetrics: {
            influxdb: {
              enable: true,
              writeFrequency: 20000,
              measurementName: "user_events_queue",
              tags: [tag],
            },
          },
        },
        tags: [tag, { name: "env2", value: "a b,c=d" }],
        sendToMQTT: {
          enable: true,
          postTo: {
            everythingTopic: "qliksense/userevent",
            sessionStartTopic: "qliksense/userevent/session/start",
            sessionStopTopic: "qliksense/userevent/session/stop",
            connectionOpenTopic: "qliksense/userevent/connection/open",
            connectionCloseTopic: null,
          },
        },
        sendToInfluxdb: { enable: true },
        sendToNewRelic: { enable: true, destinationAccount: ["First NR account"], scramble: true },
      },
      influxdbConfig: {
        enable: true,
        host: "127.0.0.1",
        port: 8086,
        version: 2,
        maxBatchSize: 1000,
        v1Config: {
          dbName: "senseops",
          auth: { enable: false, username: "influx-user", password: "influx-password" },
          retentionPolicy: { name: "10d", duration: "10d" },
        },
        v2Config: {
          org: "myorg",
          bucket: "mybucket",
          token: "influx-v2-token",
          retentionDuration: "10d",
          description: "sense-events user events",
        },
        v3Config: {
          database: "mydatabase",
          token: "influx-v3-token",
          writeTimeout: 10000,
          retentionDuration: "10d",
          description: "sense-events user events",
          queryTimeout: 60000,
        },
      },
      mqttConfig: {
        enable: true,
        brokerHost: "127.0.0.1",
        brokerPort: 1883,
        baseTopic: "butler-sos/",
        username: "mqtt-user",
        password: "mqtt-password",
        tls: {
          enable: false,
          ca: join(dir, "certs/mqtt-ca.pem"),
          cert: join(dir, "certs/mqtt-client.pem"),
          key: join(dir, "certs/mqtt-client-key.pem"),
          rejectUnauthorized: true,
        },
        qos: 1,
        retain: false,
        clientId: "sense-events_full",
        protocolVersion: 5,
      },
      newRelic: {
        enable: true,
        event: {
          url: "http://127.0.0.1:9080",
          header: [{ name: "X-My-Header", value: "header-secret" }],
          attribute: { static: [{ name: "service", value: "qlik-sense" }] },
        },
      },
      thirdPartyToolsCredentials: {
        newRelic: [
          { accountName: "First NR account", insertApiKey: "nr-insert-key-1", accountId: "1234567" },
        ],
      },
      qlikSenseEvents: {
        influxdb: { enable: true, writeFrequency: 20000 },
        eventCount: { enable: true, influxdb: { measurementName: "event_count", tags: [tag] } },
      },
      appNames: { enableAppNameExtract: false, extractInterval: 60000, hostIP: "127.0.0.1" },
      cert: {
        clientCert: join(dir, "certs/client.pem"),
        clientCertKey: join(dir, "certs/client_key.pem"),
        clientCertCA: join(dir, "certs/root.pem"),
        clientCertPassphrase: "cert-passphrase",
      },
      logLevel: "verbose",
    },
    "sense-events": {
      ...senseEvents(dir, { level: "info", format: "json" }, "api-token"),
      influxdb: {
        uaTagPrefix: "qs_",
        userTags: true,
        flushIntervalMs: 1000,
        useHttps: false,
        v3WriteApi: "v2compat",
      },
    },
  };
}

/** The expected `sense-events` section: defaults with the outbox beside `dir`, the given log settings and API token. */
function senseEvents(dir: string, log: { level: string; format: string }, token?: string) {
  return {
    api: { enable: true, host: "127.0.0.1", port: 9995, ...(token === undefined ? {} : { token }) },
    events: { capacity: 10000 },
    sessions: { idleTimeoutMinutes: 30, maxActive: 100_000 },
    udp: { receiveBufferBytes: 8388608 },
    outbox: {
      path: join(dir, "sense-events-outbox.sqlite"),
      memoryItems: 10000,
      maxBytes: 268435456,
      shutdownTimeoutMs: 5000,
    },
    log,
    // uaTagPrefix has no default: unset writes both user-agent tag sets (reference §22).
    influxdb: { userTags: true, flushIntervalMs: 1000, useHttps: false, v3WriteApi: "v2compat" },
    newRelic: { flushIntervalMs: 1000 },
    appNames: { verifyServerCert: false },
    history: {
      enable: true,
      path: join(dir, "sense-events-history.sqlite"),
      retentionDays: 90,
      maxBytes: 1073741824,
    },
    hosts: { silentAfterMinutes: 0 },
  };
}

describe("hostile files (issue 9)", () => {
  const dir = tempDir("sense-events-load-");
  afterAll(() => dir.cleanup());

  /** A top-level mapping of `n` keys (ignored by validation), followed by `tail`. */
  const manyKeys = (n: number, tail = "") => {
    const lines = ["sense-events: {}", "extra:"];
    for (let i = 0; i < n; i++) lines.push(`  key${i}: value${i}`);
    return `${lines.join("\n")}\n${tail}`;
  };

  test("a file over 4 MiB is refused before it is parsed", async () => {
    const file = dir.write("big.yaml", `# ${"x".repeat(MAX_CONFIG_BYTES)}\n`);
    expect(await loadConfigFile(file)).toStrictEqual({
      ok: false,
      errors: [
        {
          path: file,
          message: `file too large: ${MAX_CONFIG_BYTES + 3} bytes, the limit is 4194304 (4 MiB)`,
        },
      ],
    });
  });

  test("a file one byte over 4 MiB names its exact size (regression: it said 'over bytes')", async () => {
    const file = dir.write("over.yaml", `${"#".repeat(MAX_CONFIG_BYTES)}\n`);
    expect(await loadConfigFile(file)).toStrictEqual({
      ok: false,
      errors: [
        {
          path: file,
          message: `file too large: ${MAX_CONFIG_BYTES + 1} bytes, the limit is 4194304 (4 MiB)`,
        },
      ],
    });
  });

  test("a file of exactly 4 MiB is read", async () => {
    const file = dir.write("edge.yaml", `${"#".repeat(MAX_CONFIG_BYTES - 1)}\n`);
    expect((await loadConfigFile(file)).ok).toBe(true);
  });

  test("-c /dev/zero is refused at once instead of growing without bound (regression)", async () => {
    expect(await loadConfigFile("/dev/zero")).toStrictEqual({
      ok: false,
      errors: [{ path: "/dev/zero", message: "cannot read file: not a regular file (a character device)" }],
    });
  });

  test("a FIFO is refused at once instead of hanging (regression)", async () => {
    const fifo = join(dir.path, "fifo.yaml");
    expect(Bun.spawnSync(["mkfifo", fifo]).exitCode).toBe(0);
    expect(await loadConfigFile(fifo)).toStrictEqual({
      ok: false,
      errors: [{ path: fifo, message: "cannot read file: not a regular file (a FIFO)" }],
    });
  });

  test("a directory is refused", async () => {
    expect(await loadConfigFile(dir.path)).toStrictEqual({
      ok: false,
      errors: [{ path: dir.path, message: "cannot read file: not a regular file (a directory)" }],
    });
  });

  // Parse times of 40,000 keys before and after are in docs/benchmarks.md ("Config parsing").
  test("a mapping of 5,000 distinct keys loads", () => {
    expect(parseConfigText(manyKeys(5_000), { file: "keys.yaml" }).ok).toBe(true);
  });

  test("a duplicate key after 5,000 others is found at its line and column", () => {
    const result = parseConfigText(manyKeys(5_000, "  key0: again\n"), { file: "keys.yaml" });
    expect(result).toStrictEqual({
      ok: false,
      errors: [{ path: "keys.yaml:5003:3", message: "Map keys must be unique" }],
    });
  });

  test.each([
    ["a nested block mapping", "a:\n  b: 1\n  c: 2\n  b: 3\n", "d.yaml:4:3"],
    ["a flow mapping", "a: {b: 1, b: 2}\n", "d.yaml:1:11"],
    ["a mapping in a list", "a:\n  - x: 1\n    x: 2\n", "d.yaml:3:5"],
    [
      "keys that differ in type only (1 and '1' are different)",
      "a:\n  1: x\n  '1': y\n  1: z\n",
      "d.yaml:4:3",
    ],
  ])("a duplicate key in %s is an error", (_, text, path) => {
    expect(parseConfigText(text, { file: "d.yaml" })).toStrictEqual({
      ok: false,
      errors: [{ path, message: "Map keys must be unique" }],
    });
  });

  test("the same key in different mappings is fine", () => {
    expect(parseConfigText("a:\n  x: 1\nb:\n  x: 1\n", { file: "d.yaml" }).ok).toBe(true);
  });

  test("loading on a worker thread gives the same result as on the main thread", async () => {
    const file = localFixture("butler-sos-full.yaml");
    expect(await loadConfigFileOffThread(file)).toStrictEqual(await loadConfigFile(file));
    expect(await loadConfigFileOffThread("/dev/zero")).toStrictEqual(await loadConfigFile("/dev/zero"));
  });

  test.each([" secret", "secret ", "\u00a0secret", "   "])(
    "api.token %j with surrounding whitespace is a config error (regression: it locked everyone out)",
    (token) => {
      const result = parseConfigText(`sense-events:\n  api:\n    token: ${JSON.stringify(token)}\n`, {
        file: "t.yaml",
      });
      expect(result.ok ? [] : result.errors.map(formatConfigIssue)).toStrictEqual([
        "config error: sense-events.api.token: must not start or end with whitespace (a presented token is trimmed)",
      ]);
    },
  );
});
