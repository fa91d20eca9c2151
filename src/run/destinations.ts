import type { Config } from "../config/schema.ts";
import type { Destination } from "../destinations/destination.ts";
import { type InfluxDestinationOptions, influxDestination } from "../destinations/influxdb.ts";
import { type MqttDestinationOptions, mqttDestination } from "../destinations/mqtt.ts";
import { type NewRelicDestinationOptions, newRelicDestination } from "../destinations/newrelic.ts";
import type { Logger } from "../log.ts";

/** Options of a destination without its logger: plain data, compared between configs on reload. */
type Settings<T> = Omit<T, "log">;

/** One destination a config asks for, with the settings it is built from (not yet built). */
export type DestinationPlan = {
  /** The destination and outbox lane name. */
  name: string;
  /** True when user events go to it (InfluxDB may be there for event counts and ingest metrics only). */
  forEvents: boolean;
} & (
  | { kind: "influxdb"; settings: Settings<InfluxDestinationOptions> }
  | { kind: "mqtt"; settings: Settings<MqttDestinationOptions> }
  | { kind: "newrelic"; settings: Settings<NewRelicDestinationOptions> }
);

/** Builds the destination of a plan. */
export function buildDestination(plan: DestinationPlan, log: Logger): Destination {
  switch (plan.kind) {
    case "influxdb":
      return influxDestination({ ...plan.settings, log });
    case "mqtt":
      return mqttDestination({ ...plan.settings, log });
    case "newrelic":
      return newRelicDestination({ ...plan.settings, log });
  }
}

/** True when two plans build the same destination, so a reload may keep the running one. */
export function samePlan(a: DestinationPlan, b: DestinationPlan): boolean {
  return a.name === b.name && a.kind === b.kind && Bun.deepEquals(a.settings, b.settings, true);
}

/**
 * The destinations of a validated config in a fixed order — InfluxDB, MQTT, New Relic accounts —
 * one per active feature of reference §10.1, §11 and §12.
 */
export function planDestinations(config: Config): DestinationPlan[] {
  const features = config.features;
  const bs = config["Butler-SOS"];
  const se = config["sense-events"];
  const tags = bs.userEvents.tags;
  const plans: DestinationPlan[] = [];

  const required = features.required;
  if (required.influxdb) {
    const ic = bs.influxdbConfig;
    const { host, version, dbName, org, token } = required.influxdb;
    plans.push({
      name: "influxdb",
      kind: "influxdb",
      forEvents: features.userEventsToInflux,
      settings: {
        version,
        host,
        port: ic.port,
        useHttps: se.influxdb.useHttps,
        maxBatchSize: ic.maxBatchSize,
        flushIntervalMs: se.influxdb.flushIntervalMs,
        // Only the section of the configured version: the others are not read.
        v1:
          version === 1
            ? {
                dbName,
                auth: {
                  enable: ic.v1Config.auth.enable,
                  username: ic.v1Config.auth.username ?? "",
                  password: ic.v1Config.auth.password ?? "",
                },
                retentionPolicy: {
                  name: ic.v1Config.retentionPolicy.name ?? "",
                  duration: ic.v1Config.retentionPolicy.duration ?? "",
                },
              }
            : undefined,
        v2:
          version === 2
            ? {
                org,
                bucket: dbName,
                token,
                retentionDuration: ic.v2Config.retentionDuration ?? "",
                description: ic.v2Config.description ?? "",
              }
            : undefined,
        v3:
          version === 3
            ? {
                database: dbName,
                token,
                writeTimeout: ic.v3Config.writeTimeout,
                v3WriteApi: se.influxdb.v3WriteApi,
              }
            : undefined,
        uaTagPrefix: se.influxdb.uaTagPrefix,
        userTags: se.influxdb.userTags,
        tags,
      },
    });
  }

  if (required.mqtt) {
    const mc = bs.mqttConfig;
    plans.push({
      name: "mqtt",
      kind: "mqtt",
      forEvents: true,
      settings: {
        brokerHost: required.mqtt.brokerHost,
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
      },
    });
  }

  const newRelic = required.newRelic;
  if (newRelic !== null)
    for (const account of features.newRelic) {
      plans.push({
        name: `newrelic:${account.accountName}`,
        kind: "newrelic",
        forEvents: true,
        settings: {
          ...account,
          url: newRelic.url,
          headers: bs.newRelic.event.header,
          staticAttributes: bs.newRelic.event.attribute.static,
          tags,
          scramble: bs.userEvents.sendToNewRelic.scramble,
          flushIntervalMs: se.newRelic.flushIntervalMs,
        },
      });
    }
  return plans;
}
