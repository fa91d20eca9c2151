import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import fc from "fast-check";
import { connectAsync, type IClientOptions, connect as mqttConnect } from "mqtt";
import type { Destination } from "../../src/destinations/destination.ts";
import { type MqttDestinationOptions, mqttDestination } from "../../src/destinations/mqtt.ts";
import { decodeMqttItem, encodeMqttItem, encodeQos0Publishes } from "../../src/destinations/mqtt-packet.ts";
import type { DeliverableEvent } from "../../src/events/event.ts";
import { createLogger, silentLogger } from "../../src/log.ts";
import { testDestinationContract } from "../support/destination-contract.ts";
import { e2Deliverable, UA, withEvent } from "../support/events.ts";
import { type MosquittoServer, startMosquitto } from "../support/mosquitto.ts";
import { createTestPki, type TestPki } from "../support/tls.ts";
import { waitFor } from "../support/wait.ts";

const E2 = e2Deliverable();

/** The reference §17 E2 MQTT payload, byte for byte. */
const E2_PAYLOAD = `{"messageType":"qseow-proxy-connection","host":"pro2-win1","command":"Open connection","userDir":"LAB","userId":"goran","origin":"AppAccess","context":"/app/a421f4a2-c311-4ef4-ba41-fe2e6a2b0d69?reloaduri=https://sense.lab/sense/app/a421f4a2-c311-4ef4-ba41-fe2e6a2b0d69","message":"App connection Opened for session 'c8b1a0f2'; UserAgent: '${UA.CHROME}'","tags":{"qs_env":"dev","env2":"a b,c=d"},"appId":"a421f4a2-c311-4ef4-ba41-fe2e6a2b0d69","appName":"Sales analysis","uaBrowserName":"Chrome","uaBrowserMajorVersion":"119","uaOsName":"Windows","uaOsVersion":"10","receivedAt":"2024-11-20T08:15:42.123Z"}`;

const TOPICS = {
  everythingTopic: "qliksense/userevent",
  sessionStartTopic: "qliksense/userevent/session/start",
  sessionStopTopic: "qliksense/userevent/session/stop",
  connectionOpenTopic: "qliksense/userevent/connection/open",
  connectionCloseTopic: "qliksense/userevent/connection/close",
};

interface Received {
  topic: string;
  payload: string;
  qos: number;
  retain: boolean;
}

const opened: { close(): Promise<void> }[] = [];

afterEach(async () => {
  for (const resource of opened.splice(0).reverse()) await resource.close();
});

function destination(broker: MosquittoServer, overrides: Partial<MqttDestinationOptions> = {}): Destination {
  const dest = mqttDestination({
    brokerHost: "127.0.0.1",
    brokerPort: broker.port,
    tls: { enable: false, rejectUnauthorized: true },
    qos: 1,
    retain: false,
    protocolVersion: 4,
    topics: TOPICS,
    tags: [
      { name: "qs_env", value: "dev" },
      { name: "env2", value: "a b,c=d" },
    ],
    log: silentLogger,
    timeoutMs: 3000,
    ...overrides,
  });
  opened.push(dest);
  return dest;
}

/** A real mqtt.js subscriber on `#` that records what arrives. */
async function subscriber(broker: MosquittoServer, options: IClientOptions = {}) {
  const client = await connectAsync(broker.url, { reconnectPeriod: 0, ...options });
  const received: Received[] = [];
  client.on("message", (topic, payload, packet) => {
    received.push({ topic, payload: payload.toString(), qos: packet.qos, retain: packet.retain });
  });
  await client.subscribeAsync("#", { qos: 1 });
  opened.push({ close: () => client.endAsync(true) });
  return {
    received,
    async waitFor(count: number): Promise<Received[]> {
      const deadline = Date.now() + 5000;
      while (received.length < count && Date.now() < deadline) await Bun.sleep(10);
      return received;
    },
  };
}

/** A destination that is never connected: serialize needs no broker. */
function offline(overrides: Partial<MqttDestinationOptions> = {}): Destination {
  return mqttDestination({
    brokerHost: "127.0.0.1",
    brokerPort: 1,
    tls: { enable: false, rejectUnauthorized: true },
    qos: 0,
    retain: false,
    protocolVersion: 4,
    topics: TOPICS,
    tags: [],
    log: silentLogger,
    ...overrides,
  });
}

describe("serialize", () => {
  const dest = offline();
  const topicsOf = (event: DeliverableEvent) =>
    dest.serialize(event).map((item) => decodeMqttItem(item).topic);

  test.each([
    ["Start session", TOPICS.sessionStartTopic],
    ["Stop session", TOPICS.sessionStopTopic],
    ["Open connection", TOPICS.connectionOpenTopic],
    ["Close connection", TOPICS.connectionCloseTopic],
  ])("%s goes to the everything topic and %s", (action, topic) => {
    expect(topicsOf(withEvent(E2, { action }))).toStrictEqual([TOPICS.everythingTopic, topic]);
  });

  test("an unknown command goes to the everything topic only", () => {
    expect(topicsOf(withEvent(E2, { action: "Refresh session" }))).toStrictEqual([TOPICS.everythingTopic]);
  });

  test("a disabled (null) topic is skipped", () => {
    const partial = offline({ topics: { ...TOPICS, everythingTopic: null } });
    expect(partial.serialize(E2).map((item) => decodeMqttItem(item).topic)).toStrictEqual([
      TOPICS.connectionOpenTopic,
    ]);
  });

  test("without appId, UA and tags the payload has tags {} and ends with receivedAt", () => {
    const item =
      dest.serialize(
        withEvent(E2, { action: "Start session", context: "/", appId: null, appName: null, userAgent: null }),
      )[0] ?? "";
    expect(Object.keys(JSON.parse(decodeMqttItem(item).payload))).toStrictEqual([
      "messageType",
      "host",
      "command",
      "userDir",
      "userId",
      "origin",
      "context",
      "message",
      "tags",
      "receivedAt",
    ]);
    expect(JSON.parse(decodeMqttItem(item).payload).tags).toStrictEqual({});
  });

  test("an unknown app name becomes <unknown app name> and unknown UA parts are omitted", () => {
    const ua = {
      raw: "x",
      browserName: "Chrome",
      browserMajorVersion: null,
      osName: "Linux",
      osVersion: null,
    };
    const item = dest.serialize(withEvent(E2, { appName: null, userAgent: ua }))[0] ?? "";
    const payload = JSON.parse(decodeMqttItem(item).payload);
    expect([
      payload.appName,
      payload.uaBrowserName,
      payload.uaOsName,
      Object.keys(payload).slice(9),
    ]).toStrictEqual([
      "<unknown app name>",
      "Chrome",
      "Linux",
      ["appId", "appName", "uaBrowserName", "uaOsName", "receivedAt"],
    ]);
  });

  test("an item splits back into topic and payload even when the topic has a newline", () => {
    expect(decodeMqttItem(encodeMqttItem("a\nb", '{"x":"1\\n2"}'))).toStrictEqual({
      topic: "a\nb",
      payload: '{"x":"1\\n2"}',
    });
  });
});

describe("encodeQos0Publishes", () => {
  const bytes = (text: string) => [...Buffer.from(text)];

  test.each([
    ["MQTT 3.1.1", false, false, [0x30, 7, 0, 3, ...bytes("a/b{}")]],
    ["MQTT 5 (empty properties)", false, true, [0x30, 8, 0, 3, ...bytes("a/b"), 0, ...bytes("{}")]],
    ["retained", true, false, [0x31, 7, 0, 3, ...bytes("a/b{}")]],
  ])("encodes one %s PUBLISH", (_name, retain, v5, expected) => {
    expect([...encodeQos0Publishes([encodeMqttItem("a/b", "{}")], retain, v5)]).toStrictEqual(expected);
  });

  test("counts UTF-8 bytes in the topic length and a two-byte remaining length", () => {
    const payload = "x".repeat(200);
    const packet = encodeQos0Publishes([encodeMqttItem("ä", payload)], false, false);
    // Remaining length 2 + 2 + 200 = 204 = 0xcc: 0x4c with the continuation bit, then 0x01.
    expect([...packet.subarray(0, 6)]).toStrictEqual([0x30, 0xcc, 0x01, 0, 2, 0xc3]);
    expect(packet.length).toBe(3 + 204);
  });

  /** The layout spelled out part by part: fixed header, remaining length, topic length, topic, [0], payload. */
  function reference(items: string[], retain: boolean, v5: boolean): Buffer {
    return Buffer.concat(
      items.map((item) => {
        const { topic, payload } = decodeMqttItem(item);
        const t = Buffer.from(topic);
        const body = Buffer.concat([
          Buffer.from([t.length >> 8, t.length & 0xff]),
          t,
          Buffer.from(v5 ? [0] : []),
          Buffer.from(payload),
        ]);
        const length: number[] = [];
        let n = body.length;
        do {
          length.push((n & 0x7f) | (n > 0x7f ? 0x80 : 0));
          n >>>= 7;
        } while (n > 0);
        return Buffer.concat([Buffer.from([retain ? 0x31 : 0x30, ...length]), body]);
      }),
    );
  }

  test("a batch is byte for byte the packets laid out part by part (any topic, any payload text)", () => {
    const text = fc.oneof(
      fc.string({ maxLength: 300 }),
      fc.string({ unit: "binary", maxLength: 3000 }),
      fc.string({
        unit: fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c)),
        maxLength: 200,
      }),
    );
    fc.assert(
      fc.property(
        fc.array(fc.tuple(text, text), { maxLength: 12 }),
        fc.boolean(),
        fc.boolean(),
        (pairs, retain, v5) => {
          // A payload is JSON text, which never holds a raw newline; a topic may.
          const items = pairs.map(([topic, payload]) => encodeMqttItem(topic, payload.replaceAll("\n", " ")));
          expect([...encodeQos0Publishes(items, retain, v5)]).toStrictEqual([
            ...reference(items, retain, v5),
          ]);
        },
      ),
      { numRuns: 500 },
    );
  });
});

describe("against a real mosquitto", () => {
  let broker: MosquittoServer;
  beforeAll(async () => {
    broker = await startMosquitto();
  });
  afterAll(() => broker.close());

  test("publishes E2's reference §17 payload to the everything topic and the connection open topic", async () => {
    const sub = await subscriber(broker);
    const dest = destination(broker);
    expect(await dest.send(dest.serialize(E2))).toStrictEqual({ kind: "ok" });
    expect(await sub.waitFor(2)).toStrictEqual([
      { topic: TOPICS.everythingTopic, payload: E2_PAYLOAD, qos: 1, retain: false },
      { topic: TOPICS.connectionOpenTopic, payload: E2_PAYLOAD, qos: 1, retain: false },
    ]);
  });

  test("publishes a batch in order", async () => {
    const sub = await subscriber(broker);
    const dest = destination(broker, { qos: 2 });
    const items = [1, 2, 3, 4, 5].map((n) => encodeMqttItem("order/test", `{"n":${n}}`));
    expect(await dest.send(items)).toStrictEqual({ kind: "ok" });
    expect((await sub.waitFor(5)).map((r) => r.payload)).toStrictEqual(
      items.map((item) => decodeMqttItem(item).payload),
    );
  });

  test.each([3, 4, 5] as const)("works with protocolVersion %d", async (protocolVersion) => {
    const sub = await subscriber(broker);
    const dest = destination(broker, { protocolVersion });
    expect(await dest.send([encodeMqttItem(`version/${protocolVersion}`, "{}")])).toStrictEqual({
      kind: "ok",
    });
    expect((await sub.waitFor(1)).map((r) => r.topic)).toStrictEqual([`version/${protocolVersion}`]);
  });

  test.each([3, 4, 5] as const)(
    "QoS 0 batches arrive complete and in order with protocolVersion %d",
    async (protocolVersion) => {
      const sub = await subscriber(broker);
      const dest = destination(broker, { qos: 0, protocolVersion });
      // Multi-byte characters and a payload whose remaining length needs three bytes.
      const items = [
        encodeMqttItem(`qos0/${protocolVersion}/ä`, '{"n":"€1"}'),
        encodeMqttItem(`qos0/${protocolVersion}`, '{"n":2}'),
        encodeMqttItem(`qos0/${protocolVersion}`, JSON.stringify({ big: "y".repeat(20_000) })),
        ...[4, 5, 6].map((n) => encodeMqttItem(`qos0/${protocolVersion}`, `{"n":${n}}`)),
      ];
      expect(await dest.send(items)).toStrictEqual({ kind: "ok" });
      expect(await sub.waitFor(items.length)).toStrictEqual(
        items.map((item) => ({ ...decodeMqttItem(item), qos: 0, retain: false })),
      );
    },
  );

  test("a QoS 2 batch beyond mosquitto's Receive Maximum (20) is not refused with Quota exceeded (MQTT 5)", async () => {
    const sub = await subscriber(broker);
    const dest = destination(broker, { qos: 2, protocolVersion: 5 });
    const items = Array.from({ length: 50 }, (_, n) => encodeMqttItem("quota/test", `{"n":${n}}`));
    expect(await dest.send(items)).toStrictEqual({ kind: "ok" });
    expect((await sub.waitFor(items.length)).map((r) => r.payload)).toStrictEqual(
      items.map((item) => decodeMqttItem(item).payload),
    );
  });

  test("a retained message reaches a subscriber that connects later", async () => {
    const dest = destination(broker, { retain: true, qos: 0 });
    expect(await dest.send([encodeMqttItem("retained/test", E2_PAYLOAD)])).toStrictEqual({ kind: "ok" });
    const late = await subscriber(broker);
    expect((await late.waitFor(1)).filter((r) => r.topic === "retained/test")).toStrictEqual([
      { topic: "retained/test", payload: E2_PAYLOAD, qos: 0, retain: true },
    ]);
  });

  test("connects with keepalive 60, no reconnect, no QoS 0 queue and a sense-events_<hex> clientId", async () => {
    const seen: IClientOptions[] = [];
    const dest = destination(broker, {
      connect: ((options: IClientOptions) => {
        seen.push(options);
        return mqttConnect(options);
      }) as typeof mqttConnect,
    });
    await dest.send([encodeMqttItem("options/test", "{}")]);
    const options = seen[0] ?? {};
    expect([
      options.keepalive,
      options.reconnectPeriod,
      options.queueQoSZero,
      options.protocolVersion,
    ]).toStrictEqual([60, 0, false, 4]);
    expect(options.clientId).toMatch(/^sense-events_[0-9a-f]{8}$/);
  });

  test("uses a configured clientId", async () => {
    const lines: string[] = [];
    const log = createLogger({ level: "info", write: (line) => lines.push(line) });
    const dest = destination(broker, { clientId: "my-client", log });
    await dest.send([encodeMqttItem("client/test", "{}")]);
    // A second client with the same id takes over the session, so the broker disconnects the first:
    // that only happens when the destination really connected as "my-client".
    const twin = mqttConnect({
      host: "127.0.0.1",
      port: broker.port,
      clientId: "my-client",
      reconnectPeriod: 0,
    });
    opened.push({ close: () => twin.endAsync(true) });
    await new Promise<void>((resolve) => twin.once("connect", () => resolve()));
    await waitFor("the first client's disconnect", () =>
      lines.some((l) => l.includes("[mqtt] disconnected")),
    );
    expect(lines.filter((l) => l.includes("[mqtt] disconnected")).length).toBe(1);
  });

  test("a retired destination taken over by its replacement (same clientId) logs no disconnect warning", async () => {
    const lines: string[] = [];
    const log = createLogger({ level: "debug", write: (line) => lines.push(line) });
    const old = destination(broker, { clientId: "fixed-id", log });
    expect(await old.send([encodeMqttItem("client/test", "{}")])).toStrictEqual({ kind: "ok" });
    old.retire?.();
    const replacement = destination(broker, { clientId: "fixed-id", qos: 0, log: silentLogger });
    expect(await replacement.send([encodeMqttItem("client/test", "{}")])).toStrictEqual({ kind: "ok" });
    // The broker drops the old client when the replacement connects; wait for its socket to close.
    await waitFor("the old client's connection to end", () =>
      lines.some((l) => l.includes("ended while shutting down") || l.includes("[mqtt] disconnected")),
    );
    expect(lines.filter((l) => l.includes("warn"))).toStrictEqual([]);
  });
});

describe("authentication", () => {
  let broker: MosquittoServer;
  beforeAll(async () => {
    broker = await startMosquitto({ users: [{ username: "sense", password: "s3cret" }] });
  });
  afterAll(() => broker.close());

  test("publishes with the right username and password", async () => {
    const sub = await subscriber(broker, { username: "sense", password: "s3cret" });
    const dest = destination(broker, { username: "sense", password: "s3cret" });
    expect(await dest.send([encodeMqttItem("auth/test", "{}")])).toStrictEqual({ kind: "ok" });
    expect((await sub.waitFor(1)).map((r) => r.topic)).toStrictEqual(["auth/test"]);
  });

  test.each([3, 4, 5] as const)(
    "a wrong password is blocked with protocolVersion %d",
    async (protocolVersion) => {
      const dest = destination(broker, { username: "sense", password: "wrong", protocolVersion });
      expect((await dest.send([encodeMqttItem("auth/test", "{}")])).kind).toBe("blocked");
    },
  );
});

describe("authorisation", () => {
  let broker: MosquittoServer;
  beforeAll(async () => {
    broker = await startMosquitto({
      users: [{ username: "sense", password: "s3cret" }],
      acl: "user sense\ntopic write allowed/#",
    });
  });
  afterAll(() => broker.close());

  test("a PUBACK with a reason code >= 0x80 (MQTT 5, QoS 1) is rejected", async () => {
    const dest = destination(broker, { username: "sense", password: "s3cret", protocolVersion: 5 });
    expect(await dest.send([encodeMqttItem("allowed/x", "{}")])).toStrictEqual({ kind: "ok" });
    expect((await dest.send([encodeMqttItem("denied/x", "{}")])).kind).toBe("rejected");
  });
});

describe("broker outage", () => {
  test("returns retry while the broker is down and publishes again after it restarts, logging each change once", async () => {
    const broker = await startMosquitto();
    opened.push(broker);
    const lines: string[] = [];
    const log = createLogger({ level: "info", write: (line) => lines.push(line.replace(/^\S+ /, "")) });
    const dest = destination(broker, { log, clientId: "outage" });
    expect(await dest.send([encodeMqttItem("outage/test", '{"n":1}')])).toStrictEqual({ kind: "ok" });
    await broker.stop();
    expect((await dest.send([encodeMqttItem("outage/test", '{"n":2}')])).kind).toBe("retry");
    expect((await dest.send([encodeMqttItem("outage/test", '{"n":2}')])).kind).toBe("retry");
    await broker.start();
    const sub = await subscriber(broker);
    expect(await dest.send([encodeMqttItem("outage/test", '{"n":2}')])).toStrictEqual({ kind: "ok" });
    expect((await sub.waitFor(1)).map((r) => r.payload)).toStrictEqual(['{"n":2}']);
    expect(lines.map((line) => line.replace(/after [\d.]+ s/, "after N s"))).toStrictEqual([
      `info: [mqtt] connected to 127.0.0.1:${broker.port} as outage`,
      `warn: [mqtt] disconnected from 127.0.0.1:${broker.port}: connection closed`,
      `info: [mqtt] reconnected to 127.0.0.1:${broker.port} after N s`,
    ]);
  });
});

describe("TLS", () => {
  let pki: TestPki;
  let broker: MosquittoServer;
  beforeAll(async () => {
    pki = await createTestPki();
    broker = await startMosquitto({
      tls: { ca: pki.caCert, cert: pki.serverCert, key: pki.serverKey, requireCertificate: true },
    });
  });
  afterAll(async () => {
    await broker.close();
    await pki.remove();
  });

  test("publishes over mqtts with a verified server and a client certificate", async () => {
    const dest = destination(broker, {
      tls: {
        enable: true,
        ca: pki.caCert,
        cert: pki.clientCert,
        key: pki.clientKey,
        rejectUnauthorized: true,
      },
    });
    expect(await dest.send([encodeMqttItem("tls/test", "{}")])).toStrictEqual({ kind: "ok" });
  });

  test("retries when the server certificate is not trusted", async () => {
    const dest = destination(broker, {
      tls: { enable: true, cert: pki.clientCert, key: pki.clientKey, rejectUnauthorized: true },
    });
    expect((await dest.send([encodeMqttItem("tls/test", "{}")])).kind).toBe("retry");
  });
});

testDestinationContract("mqtt", async () => {
  const broker = await startMosquitto();
  const sub = await connectAsync(broker.url, { reconnectPeriod: 0 });
  const items: string[] = [];
  sub.on("message", (topic, payload) => items.push(encodeMqttItem(topic, payload.toString())));
  await sub.subscribeAsync("#", { qos: 1 });
  return {
    destination: destination(broker),
    // Every item is one publish: the subscriber on `#` sees the same topic and payload again.
    received: async () => [...items],
    stopReceiver: () => broker.stop(),
    cleanup: async () => {
      await sub.endAsync(true);
      await broker.close();
    },
  };
});
