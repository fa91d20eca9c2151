import { type IClientOptions, type MqttClient, connect as mqttConnect } from "mqtt";
import type { PostTo } from "../config/mqtt-topics.ts";
import type { Tag } from "../config/tags.ts";
import type { Logger } from "../log.ts";
import type { Destination, SendResult } from "./destination.ts";
import { decodeMqttItem, encodeMqttItem, encodeQos0Publishes, mqttPayload } from "./mqtt-packet.ts";

/** Options for {@link mqttDestination}; PEM values are file paths, already resolved. */
export interface MqttDestinationOptions {
  brokerHost: string;
  brokerPort: number;
  username?: string;
  password?: string;
  tls: { enable: boolean; ca?: string; cert?: string; key?: string; rejectUnauthorized: boolean };
  qos: 0 | 1 | 2;
  retain: boolean;
  /** @default `sense-events_<8 random hex>` */
  clientId?: string;
  /** 3 = MQTT 3.1, 4 = 3.1.1, 5 = MQTT 5. */
  protocolVersion: 3 | 4 | 5;
  /** Topic per event kind (`userEvents.sendToMQTT.postTo`); null = that topic is off. */
  topics: PostTo;
  /** `userEvents.tags`, sent as the payload's `tags` object. */
  tags: Tag[];
  log: Logger;
  /** Injectable mqtt.js `connect` for tests. */
  connect?: typeof mqttConnect;
  /** How long a connect or a batch's acknowledgements may take. @default 10000 */
  timeoutMs?: number;
}

/** Items per batch at QoS 0: one buffer of about 1 MB for typical events. */
const QOS0_BATCH_ITEMS = 2000;
/** Items per batch at QoS 1/2, all in flight at once (each holds an mqtt.js message id). */
const ACKED_BATCH_ITEMS = 1000;

function randomClientId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(4));
  return `sense-events_${Buffer.from(bytes).toString("hex")}`;
}

/** True for a CONNACK refusal that means bad credentials or no permission (reference §9: blocked). */
function isAuthRefusal(code: number, protocolVersion: 3 | 4 | 5): boolean {
  return protocolVersion === 5 ? code === 0x86 || code === 0x87 : code === 4 || code === 5;
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Creates the MQTT destination (reference §11): one outbox item per publish, mqtt.js without offline queue. */
export function mqttDestination(options: MqttDestinationOptions): Destination {
  const { log, topics, protocolVersion } = options;
  const connect = options.connect ?? mqttConnect;
  const timeoutMs = options.timeoutMs ?? 10_000;
  const clientId = options.clientId || randomClientId();
  const broker = `${options.brokerHost}:${options.brokerPort}`;
  const tags: Record<string, string> = {};
  for (const { name, value } of options.tags) tags[name] = value;
  const actionTopics = new Map<string, string | null>([
    ["Start session", topics.sessionStartTopic],
    ["Stop session", topics.sessionStopTopic],
    ["Open connection", topics.connectionOpenTopic],
    ["Close connection", topics.connectionCloseTopic],
  ]);

  let client: MqttClient | null = null;
  /** Resolves when the current client's connection closes (or was never made). */
  let closed: Promise<SendResult> = Promise.resolve({ kind: "retry", error: "[mqtt] not connected" });
  let connecting: Promise<SendResult | null> | null = null;
  let wasConnected = false;
  let downSince: number | null = null;
  let shuttingDown = false;
  /** QoS 1/2 publishes the broker accepts unacknowledged (MQTT 5 CONNACK Receive Maximum; unlimited before 5). */
  let receiveMaximum = Number.POSITIVE_INFINITY;

  function markDown(reason: string): void {
    if (shuttingDown) {
      log.debug(`[mqtt] connection to ${broker} ended while shutting down: ${reason}`);
      return;
    }
    if (downSince !== null) {
      log.debug(`[mqtt] still cannot reach ${broker}: ${reason}`);
      return;
    }
    downSince = Date.now();
    if (wasConnected) log.warn(`[mqtt] disconnected from ${broker}: ${reason}`);
    else log.warn(`[mqtt] cannot connect to ${broker}: ${reason}`);
  }

  function markUp(): void {
    if (downSince !== null && wasConnected) {
      log.info(`[mqtt] reconnected to ${broker} after ${((Date.now() - downSince) / 1000).toFixed(1)} s`);
    } else {
      log.info(`[mqtt] connected to ${broker} as ${clientId}`);
    }
    wasConnected = true;
    downSince = null;
  }

  async function readPem(path: string | undefined): Promise<string | undefined> {
    return path ? await Bun.file(path).text() : undefined;
  }

  // Reconnecting is driven by send(), which the outbox calls on its reference §9 backoff; mqtt.js never
  // reconnects or queues by itself, so nothing is buffered outside the outbox.
  async function openClient(): Promise<SendResult | null> {
    const { tls } = options;
    let pem: { ca?: string; cert?: string; key?: string } = {};
    try {
      if (tls.enable)
        pem = { ca: await readPem(tls.ca), cert: await readPem(tls.cert), key: await readPem(tls.key) };
    } catch (error) {
      const reason = `cannot read TLS file: ${describe(error)}`;
      markDown(reason);
      return { kind: "retry", error: `[mqtt] ${reason}` };
    }
    const clientOptions: IClientOptions = {
      host: options.brokerHost,
      port: options.brokerPort,
      protocol: tls.enable ? "mqtts" : "mqtt",
      protocolVersion,
      // MQTT 3.1 announces itself as "MQIsdp"; 3.1.1 and 5 as "MQTT".
      protocolId: protocolVersion === 3 ? "MQIsdp" : "MQTT",
      clientId,
      keepalive: 60,
      reconnectPeriod: 0,
      connectTimeout: timeoutMs,
      queueQoSZero: false,
      clean: true,
      ...(options.username === undefined ? {} : { username: options.username }),
      ...(options.password === undefined ? {} : { password: options.password }),
      ...(tls.enable ? { ...pem, rejectUnauthorized: tls.rejectUnauthorized } : {}),
    };
    const current = connect(clientOptions);
    client = current;
    let lastError: string | null = null;
    let settle: (result: SendResult | null) => void = () => {};
    const outcome = new Promise<SendResult | null>((resolve) => {
      settle = resolve;
    });
    closed = new Promise<SendResult>((resolveClosed) => {
      current.on("connect", (connack) => {
        receiveMaximum = connack.properties?.receiveMaximum ?? Number.POSITIVE_INFINITY;
        markUp();
        settle(null);
      });
      current.on("error", (error) => {
        const code = (error as { code?: unknown }).code;
        if (typeof code === "number" && !current.connected) {
          // A CONNACK refusal: auth problems block, the rest retry (reference §9).
          const kind = isAuthRefusal(code, protocolVersion) ? "blocked" : "retry";
          lastError = `connection refused (code ${code})`;
          settle({ kind, error: `[mqtt] ${lastError}` });
        } else {
          lastError = describe(error);
        }
      });
      current.on("disconnect", (packet) => {
        lastError = `broker sent DISCONNECT (reason ${packet.reasonCode ?? 0})`;
      });
      current.on("close", () => {
        if (client === current) client = null;
        const reason = lastError ?? "connection closed";
        markDown(reason);
        settle({ kind: "retry", error: `[mqtt] ${reason}` });
        resolveClosed({ kind: "retry", error: `[mqtt] connection lost: ${reason}` });
        current.end(true);
      });
    });
    const timer = setTimeout(() => settle({ kind: "retry", error: "[mqtt] connect timeout" }), timeoutMs);
    const result = await outcome;
    clearTimeout(timer);
    if (result !== null && client === current) {
      client = null;
      current.end(true);
    }
    return result;
  }

  function ensureConnected(): Promise<SendResult | null> {
    if (client?.connected) return Promise.resolve(null);
    connecting ??= openClient().finally(() => {
      connecting = null;
    });
    return connecting;
  }

  /**
   * QoS 1/2: publishes through mqtt.js (message ids, acknowledgements) in order, at most Receive Maximum
   * unacknowledged (mosquitto refuses QoS 2 beyond it with "Quota exceeded"), and settles once all are acknowledged.
   */
  function publishAcked(current: MqttClient, items: string[]): Promise<SendResult> {
    return new Promise((resolve) => {
      let next = 0;
      let left = items.length;
      let retry: SendResult | null = null;
      let rejected: SendResult | null = null;
      const opts = { qos: options.qos, retain: options.retain };
      const publishNext = (): void => {
        const { topic, payload } = decodeMqttItem(items[next++] as string);
        current.publish(topic, payload, opts, (error) => {
          if (error) {
            const code = (error as { code?: unknown }).code;
            // A PUBACK/PUBREC reason code >= 0x80 means the broker refused this message (reference §9).
            if (typeof code === "number" && code >= 0x80) {
              rejected ??= {
                kind: "rejected",
                error: `[mqtt] publish to ${topic} refused: ${error.message}`,
              };
            } else {
              retry ??= { kind: "retry", error: `[mqtt] publish to ${topic} failed: ${error.message}` };
            }
          }
          if (--left === 0) resolve(retry ?? rejected ?? { kind: "ok" });
          else if (next >= items.length) return;
          // mqtt.js would keep later publishes in its own store: leave them to the outbox instead.
          else if (current.connected) publishNext();
          else resolve(retry ?? { kind: "retry", error: "[mqtt] connection lost during a batch" });
        });
      };
      const window = Math.min(items.length, receiveMaximum);
      for (let i = 0; i < window; i++) publishNext();
    });
  }

  /** QoS 0: the whole batch as one buffer of PUBLISH packets in one socket write; ok once written (reference §9). */
  function publishWritten(current: MqttClient, items: string[]): Promise<SendResult> {
    const packets = encodeQos0Publishes(items, options.retain, protocolVersion === 5);
    return new Promise((resolve) => {
      const done = (error?: Error | null) =>
        resolve(error ? { kind: "retry", error: `[mqtt] publish failed: ${error.message}` } : { kind: "ok" });
      try {
        current.stream.write(packets, done);
      } catch (error) {
        done(error as Error);
      }
    });
  }

  return {
    name: "mqtt",
    // One write (QoS 0) or one round of acknowledgements (QoS 1/2) per batch, so batches are large.
    maxBatchItems: options.qos === 0 ? QOS0_BATCH_ITEMS : ACKED_BATCH_ITEMS,
    maxBatchBytes: Number.POSITIVE_INFINITY,
    flushIntervalMs: 0,

    serialize(deliverable) {
      const payload = JSON.stringify(mqttPayload(deliverable, tags));
      const items: string[] = [];
      if (topics.everythingTopic !== null) items.push(encodeMqttItem(topics.everythingTopic, payload));
      // Unknown commands have no action topic (reference §3.5).
      const actionTopic = actionTopics.get(deliverable.event.action);
      if (actionTopic) items.push(encodeMqttItem(actionTopic, payload));
      return items;
    },

    async send(items) {
      const failure = await ensureConnected();
      if (failure) return failure;
      const current = client;
      if (!current?.connected) return { kind: "retry", error: "[mqtt] not connected" };
      // Either way the batch goes out in order and is settled as a whole.
      const published = options.qos === 0 ? publishWritten(current, items) : publishAcked(current, items);
      let timer: ReturnType<typeof setTimeout> | undefined;
      const timeout = new Promise<SendResult>((resolve) => {
        timer = setTimeout(
          () => resolve({ kind: "retry", error: "[mqtt] acknowledgement timeout" }),
          timeoutMs,
        );
      });
      const result = await Promise.race([published, closed, timeout]);
      clearTimeout(timer);
      return result;
    },

    retire() {
      // A replacement with the same clientId takes the session over: the broker then drops this client.
      shuttingDown = true;
    },

    async close() {
      shuttingDown = true;
      const current = client;
      client = null;
      if (!current) return;
      // A graceful end waits for unacknowledged publishes; give up on them after the timeout.
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          current.stream?.destroy();
          resolve();
        }, timeoutMs);
        current.end(false, {}, () => {
          clearTimeout(timer);
          resolve();
        });
      });
    },
  };
}
