import type { Config } from "./schema.ts";

/** One New Relic account that user events are sent to (spec §12). */
export interface NewRelicAccount {
  /** Name from `thirdPartyToolsCredentials.newRelic[].accountName`; the destination is `newrelic:<name>`. */
  accountName: string;
  /** Numeric account id, as a string. */
  accountId: string;
  /** Insert API key. */
  insertApiKey: string;
}

/** Which parts of the config are in use. */
export interface ActiveFeatures {
  /** UDP listener runs (`userEvents.enable`). */
  userEvents: boolean;
  /** InfluxDB is written to at all (spec §10.1). */
  influxdb: boolean;
  /** `user_events` points are written (spec §10.2). */
  userEventsToInflux: boolean;
  /** `event_count` points are written (spec §10.5). */
  eventCount: boolean;
  /** `user_events_queue` points are written (spec §10.6). */
  queueMetrics: boolean;
  /** User events are published to MQTT (spec §11). */
  mqtt: boolean;
  /** New Relic accounts user events go to, in `destinationAccount` order, without duplicates (spec §12). */
  newRelic: NewRelicAccount[];
  /** App names are looked up (spec §4.2). */
  appNames: boolean;
  /** Problems that do not stop startup, e.g. an unknown New Relic account name. */
  warnings: string[];
}

/** Works out which features are active (spec §4.2, §10.1, §10.5, §10.6, §11, §12). */
export function activeFeatures(config: Config): ActiveFeatures {
  const bs = config["Butler-SOS"];
  const ue = bs.userEvents;
  const userEvents = ue.enable;
  const influxOn = userEvents && bs.influxdbConfig.enable;
  const userEventsToInflux = influxOn && ue.sendToInfluxdb.enable;
  const eventCount = influxOn && bs.qlikSenseEvents.eventCount.enable && bs.qlikSenseEvents.influxdb.enable;
  const queueMetrics = influxOn && ue.udpServerConfig.queueMetrics.influxdb.enable;
  const warnings: string[] = [];
  const newRelic: NewRelicAccount[] = [];
  if (userEvents && bs.newRelic.enable && ue.sendToNewRelic.enable) {
    const known = bs.thirdPartyToolsCredentials.newRelic;
    ue.sendToNewRelic.destinationAccount.forEach((name, i) => {
      const path = `Butler-SOS.userEvents.sendToNewRelic.destinationAccount[${i}]`;
      if (newRelic.some((a) => a.accountName === name)) {
        warnings.push(`${path}: New Relic account "${name}" is listed twice; sent once`);
        return;
      }
      const account = known.find((a) => a.accountName === name);
      if (account) newRelic.push({ ...account });
      else
        warnings.push(
          `${path}: unknown New Relic account "${name}" (not in thirdPartyToolsCredentials.newRelic); skipped`,
        );
    });
    if (newRelic.length === 0)
      warnings.push("New Relic is enabled but no known account is listed; nothing is sent to New Relic");
  }
  return {
    userEvents,
    influxdb: userEventsToInflux || eventCount || queueMetrics,
    userEventsToInflux,
    eventCount,
    queueMetrics,
    mqtt: userEvents && bs.mqttConfig.enable && ue.sendToMQTT.enable,
    newRelic,
    appNames: userEvents && bs.appNames.enableAppNameExtract,
    warnings,
  };
}

/** `host:port`, with brackets around an IPv6 literal. */
export function hostPort(host: string, port: number): string {
  return host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
}

/** One line naming the enabled features, e.g. `user events on 0.0.0.0:9997; InfluxDB v1 10.0.0.5:8086; …`. */
export function featureSummary(config: Config): string {
  const bs = config["Butler-SOS"];
  const se = config["sense-events"];
  const f = activeFeatures(config);
  const udp = bs.userEvents.udpServerConfig;
  const influx = bs.influxdbConfig;
  const parts = [
    f.userEvents
      ? `user events on ${hostPort(udp.serverHost, udp.portUserActivityEvents)}`
      : "user events off",
    f.influxdb
      ? `InfluxDB v${influx.version} ${se.influxdb.useHttps ? "https://" : ""}${hostPort(influx.host ?? "", influx.port)}`
      : "InfluxDB off",
    f.mqtt ? `MQTT ${hostPort(bs.mqttConfig.brokerHost ?? "", bs.mqttConfig.brokerPort)}` : "MQTT off",
    f.newRelic.length > 0 ? `New Relic ${f.newRelic.map((a) => a.accountName).join(", ")}` : "New Relic off",
    f.appNames ? `app names from ${bs.appNames.hostIP}` : "app names off",
    se.api.enable ? `API ${hostPort(se.api.host, se.api.port)}` : "API off",
  ];
  return parts.join("; ");
}
