import { hostPort } from "../net.ts";
import { getAt, type RawPath } from "./raw.ts";
import type { Config, FileConfig } from "./schema.ts";
import type { ConfigIssue } from "./validate.ts";

/** Which features the file turns on, read once from the raw YAML before validation (reference §14.1). */
export interface FeatureGates {
  userEvents: boolean;
  /** `influxdbConfig.enable` with user events on (whether anything is written is decided below). */
  influxOn: boolean;
  userEventsToInflux: boolean;
  eventCount: boolean;
  queueMetrics: boolean;
  influxdb: boolean;
  mqtt: boolean;
  newRelic: boolean;
  appNames: boolean;
}

/** One New Relic account that user events are sent to (reference §12). */
export interface NewRelicAccount {
  /** Name from `thirdPartyToolsCredentials.newRelic[].accountName`; the destination is `newrelic:<name>`. */
  accountName: string;
  /** Numeric account id, as a string. */
  accountId: string;
  /** Insert API key. */
  insertApiKey: string;
}

/** The values an active feature cannot do without, present and non-empty (checked by validation). */
export interface RequiredSettings {
  /** InfluxDB server and per-version names, when InfluxDB is written to. */
  influxdb: {
    host: string;
    version: 1 | 2 | 3;
    /** v1 database, v2 bucket or v3 database. */
    dbName: string;
    /** v2 organisation ("" for v1 and v3). */
    org: string;
    /** v2/v3 token ("" for v1). */
    token: string;
  } | null;
  /** MQTT broker, when user events go to MQTT. */
  mqtt: { brokerHost: string } | null;
  /** New Relic Event API base URL, when New Relic is on. */
  newRelic: { url: string } | null;
  /** QRS host and client certificate, when app names are looked up. */
  appNames: { hostIP: string; clientCert: string; clientCertKey: string } | null;
}

/** Which parts of the config are in use; computed once by validation and kept in {@link Config}. */
export interface ActiveFeatures {
  /** UDP listener runs (`userEvents.enable`). */
  userEvents: boolean;
  /** InfluxDB is written to at all (reference §10.1). */
  influxdb: boolean;
  /** `user_events` points are written (reference §10.2). */
  userEventsToInflux: boolean;
  /** `event_count` points are written (reference §10.5). */
  eventCount: boolean;
  /** `user_events_queue` points are written (reference §10.6). */
  queueMetrics: boolean;
  /** User events are published to MQTT (reference §11). */
  mqtt: boolean;
  /** New Relic accounts user events go to, in `destinationAccount` order, without duplicates (reference §12). */
  newRelic: NewRelicAccount[];
  /** App names are looked up (reference §4.2). */
  appNames: boolean;
  /** Problems that do not stop startup, e.g. an unknown New Relic account name. */
  warnings: string[];
  /** The required values of the active features, typed as present. */
  required: RequiredSettings;
}

const BS = "Butler-SOS";

/** The gate value at `path`: its default when absent, otherwise anything but `false` counts as on. */
function gate(raw: unknown, path: RawPath, fallback: boolean): boolean {
  const value = getAt(raw, path);
  return value === undefined ? fallback : value !== false;
}

/** Works out from the raw file which features are on (reference §4.2, §10.1, §10.5, §10.6, §11, §12). */
export function featureGates(raw: unknown): FeatureGates {
  const userEvents = gate(raw, [BS, "userEvents", "enable"], true);
  const influxOn = userEvents && gate(raw, [BS, "influxdbConfig", "enable"], false);
  const eventCount =
    influxOn &&
    gate(raw, [BS, "qlikSenseEvents", "eventCount", "enable"], false) &&
    gate(raw, [BS, "qlikSenseEvents", "influxdb", "enable"], false);
  const queueMetrics =
    influxOn && gate(raw, [BS, "userEvents", "udpServerConfig", "queueMetrics", "influxdb", "enable"], false);
  const userEventsToInflux = influxOn && gate(raw, [BS, "userEvents", "sendToInfluxdb", "enable"], true);
  const on = (section: string, send: string) =>
    userEvents &&
    gate(raw, [BS, section, "enable"], false) &&
    gate(raw, [BS, "userEvents", send, "enable"], false);
  return {
    userEvents,
    influxOn,
    userEventsToInflux,
    eventCount,
    queueMetrics,
    influxdb: userEventsToInflux || eventCount || queueMetrics,
    mqtt: on("mqttConfig", "sendToMQTT"),
    newRelic: on("newRelic", "sendToNewRelic"),
    appNames: userEvents && gate(raw, [BS, "appNames", "enableAppNameExtract"], false),
  };
}

/**
 * The active features of a validated file: the gates, the New Relic accounts (unknown and repeated
 * names are warnings) and the required values, each missing one an issue naming its YAML path.
 */
export function activateFeatures(
  config: FileConfig,
  gates: FeatureGates,
): { features: ActiveFeatures; errors: ConfigIssue[] } {
  const bs = config[BS];
  const ue = bs.userEvents;
  const errors: ConfigIssue[] = [];
  const need = <T>(path: string, value: T | undefined, why: string): T | undefined => {
    if (value === undefined || value === "") errors.push({ path, message: `required ${why}` });
    return value;
  };
  const warnings: string[] = [];
  const newRelic: NewRelicAccount[] = [];
  if (gates.newRelic) {
    const known = bs.thirdPartyToolsCredentials.newRelic;
    ue.sendToNewRelic.destinationAccount.forEach((name, i) => {
      const path = `${BS}.userEvents.sendToNewRelic.destinationAccount[${i}]`;
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

  const required: RequiredSettings = { influxdb: null, mqtt: null, newRelic: null, appNames: null };
  if (gates.influxdb) {
    const ic = bs.influxdbConfig;
    const p = `${BS}.influxdbConfig`;
    const host = need(`${p}.host`, ic.host, "when InfluxDB is enabled");
    const version = need(`${p}.version`, ic.version, "when InfluxDB is enabled");
    const why = `for InfluxDB v${ic.version}`;
    let names: { dbName?: string; org?: string; token?: string } = {};
    if (version === 1)
      names = { dbName: need(`${p}.v1Config.dbName`, ic.v1Config.dbName, why), org: "", token: "" };
    if (version === 2)
      names = {
        org: need(`${p}.v2Config.org`, ic.v2Config.org, why),
        dbName: need(`${p}.v2Config.bucket`, ic.v2Config.bucket, why),
        token: need(`${p}.v2Config.token`, ic.v2Config.token, why),
      };
    if (version === 3)
      names = {
        dbName: need(`${p}.v3Config.database`, ic.v3Config.database, why),
        org: "",
        token: need(`${p}.v3Config.token`, ic.v3Config.token, why),
      };
    const { dbName, org, token } = names;
    if (host && version && dbName && org !== undefined && token !== undefined)
      required.influxdb = { host, version, dbName, org, token };
  }
  if (gates.mqtt) {
    const brokerHost = need(`${BS}.mqttConfig.brokerHost`, bs.mqttConfig.brokerHost, "when MQTT is enabled");
    if (brokerHost) required.mqtt = { brokerHost };
  }
  if (gates.newRelic) {
    const url = need(`${BS}.newRelic.event.url`, bs.newRelic.event.url, "when New Relic is enabled");
    if (url) required.newRelic = { url };
  }
  if (gates.appNames) {
    const why = "when app names are enabled";
    const hostIP = need(`${BS}.appNames.hostIP`, bs.appNames.hostIP, why);
    const clientCert = need(`${BS}.cert.clientCert`, bs.cert.clientCert, why);
    const clientCertKey = need(`${BS}.cert.clientCertKey`, bs.cert.clientCertKey, why);
    if (hostIP && clientCert && clientCertKey) required.appNames = { hostIP, clientCert, clientCertKey };
  }
  const features: ActiveFeatures = {
    userEvents: gates.userEvents,
    influxdb: gates.influxdb,
    userEventsToInflux: gates.userEventsToInflux,
    eventCount: gates.eventCount,
    queueMetrics: gates.queueMetrics,
    mqtt: gates.mqtt,
    newRelic,
    appNames: gates.appNames,
    warnings,
    required,
  };
  return { features, errors };
}

/** One line naming the enabled features, e.g. `user events on 0.0.0.0:9997; InfluxDB v1 10.0.0.5:8086; …`. */
export function featureSummary(config: Config): string {
  const bs = config["Butler-SOS"];
  const se = config["sense-events"];
  const f = config.features;
  const udp = bs.userEvents.udpServerConfig;
  const influx = f.required.influxdb;
  const parts = [
    f.userEvents
      ? `user events on ${hostPort(udp.serverHost, udp.portUserActivityEvents)}`
      : "user events off",
    influx
      ? `InfluxDB v${influx.version} ${se.influxdb.useHttps ? "https://" : ""}${hostPort(influx.host, bs.influxdbConfig.port)}`
      : "InfluxDB off",
    f.required.mqtt ? `MQTT ${hostPort(f.required.mqtt.brokerHost, bs.mqttConfig.brokerPort)}` : "MQTT off",
    f.newRelic.length > 0 ? `New Relic ${f.newRelic.map((a) => a.accountName).join(", ")}` : "New Relic off",
    f.required.appNames ? `app names from ${f.required.appNames.hostIP}` : "app names off",
    se.api.enable ? `API ${hostPort(se.api.host, se.api.port)}` : "API off",
  ];
  return parts.join("; ");
}
