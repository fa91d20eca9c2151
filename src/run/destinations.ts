import type { ActiveFeatures } from "../config/features.ts";
import type { Config } from "../config/schema.ts";
import type { Destination } from "../destinations/destination.ts";
import { influxDestination } from "../destinations/influxdb.ts";
import { mqttDestination } from "../destinations/mqtt.ts";
import { newRelicDestination } from "../destinations/newrelic.ts";
import type { Logger } from "../log.ts";

/** The destinations of a validated config, in a fixed order: InfluxDB, MQTT, New Relic accounts. */
export interface BuiltDestinations {
  /** Every destination the outbox delivers to (InfluxDB also for metrics-only configs). */
  all: Destination[];
  /** The subset that receives user events (InfluxDB only with `sendToInfluxdb.enable`). */
  forEvents: Destination[];
  /** The InfluxDB destination, for event counts and ingest metrics; null when InfluxDB is off. */
  influx: Destination | null;
}

/** Builds one destination per active feature of spec §10.1, §11 and §12 from the config. */
export function buildDestinations(config: Config, features: ActiveFeatures, log: Logger): BuiltDestinations {
  const bs = config["Butler-SOS"];
  const se = config["sense-events"];
  const tags = bs.userEvents.tags;
  const all: Destination[] = [];
  const forEvents: Destination[] = [];
  let influx: Destination | null = null;

  if (features.influxdb) {
    const ic = bs.influxdbConfig;
    const version = ic.version ?? 1;
    influx = influxDestination({
      version,
      // Validation guarantees host and the per-version keys when InfluxDB is active.
      host: ic.host ?? "",
      port: ic.port,
      useHttps: se.influxdb.useHttps,
      maxBatchSize: ic.maxBatchSize,
      flushIntervalMs: se.influxdb.flushIntervalMs,
      v1: {
        dbName: ic.v1Config.dbName ?? "",
        auth: {
          enable: ic.v1Config.auth.enable,
          username: ic.v1Config.auth.username ?? "",
          password: ic.v1Config.auth.password ?? "",
        },
        retentionPolicy: {
          name: ic.v1Config.retentionPolicy.name ?? "",
          duration: ic.v1Config.retentionPolicy.duration ?? "",
        },
      },
      v2: {
        org: ic.v2Config.org ?? "",
        bucket: ic.v2Config.bucket ?? "",
        token: ic.v2Config.token ?? "",
        retentionDuration: ic.v2Config.retentionDuration ?? "",
        description: ic.v2Config.description ?? "",
      },
      v3: {
        database: ic.v3Config.database ?? "",
        token: ic.v3Config.token ?? "",
        writeTimeout: ic.v3Config.writeTimeout,
        v3WriteApi: se.influxdb.v3WriteApi,
      },
      uaTagPrefix: se.influxdb.uaTagPrefix,
      userTags: se.influxdb.userTags,
      tags,
      log,
    });
    all.push(influx);
    if (features.userEventsToInflux) forEvents.push(influx);
  }

  if (features.mqtt) {
    const mc = bs.mqttConfig;
    const mqtt = mqttDestination({
      brokerHost: mc.brokerHost ?? "",
      brokerPort: mc.brokerPort,
      username: mc.username,
      password: mc.password,
      tls: mc.tls,
      qos: mc.qos,
      retain: mc.retain,
      clientId: mc.clientId,
      protocolVersion: mc.protocolVersion,
      topics: bs.userEvents.sendToMQTT.postTo,
      tags,
      log,
    });
    all.push(mqtt);
    forEvents.push(mqtt);
  }

  for (const account of features.newRelic) {
    const nr = newRelicDestination({
      ...account,
      url: bs.newRelic.event.url ?? "",
      headers: bs.newRelic.event.header,
      staticAttributes: bs.newRelic.event.attribute.static,
      tags,
      scramble: bs.userEvents.sendToNewRelic.scramble,
      flushIntervalMs: se.newRelic.flushIntervalMs,
      log,
    });
    all.push(nr);
    forEvents.push(nr);
  }
  return { all, forEvents, influx };
}
