import { accessSync, constants, statSync } from "node:fs";
import { isIP } from "node:net";
import { resolve } from "node:path";
import { activeFeatures } from "./features.ts";
import type { Config } from "./schema.ts";
import type { ConfigIssue } from "./validate.ts";

/** A copy of `section` with the given path keys resolved against `baseDir`; absent or empty paths stay. */
function resolveKeys<T extends object>(section: T, keys: readonly (keyof T)[], baseDir: string): T {
  const out = { ...section };
  for (const key of keys) {
    const value = out[key];
    if (typeof value === "string" && value !== "") out[key] = resolve(baseDir, value) as T[keyof T];
  }
  return out;
}

/** Returns a copy with the outbox, certificate and MQTT TLS paths resolved against `baseDir`. */
export function resolvePaths(config: Config, baseDir: string): Config {
  const bs = config["Butler-SOS"];
  const se = config["sense-events"];
  return {
    ...config,
    "Butler-SOS": {
      ...bs,
      cert: resolveKeys(bs.cert, ["clientCert", "clientCertKey", "clientCertCA"], baseDir),
      mqttConfig: { ...bs.mqttConfig, tls: resolveKeys(bs.mqttConfig.tls, ["ca", "cert", "key"], baseDir) },
    },
    "sense-events": {
      ...se,
      outbox: resolveKeys(se.outbox, ["path"], baseDir),
      history: resolveKeys(se.history, ["path"], baseDir),
      ...(se.api.tls ? { api: { ...se.api, tls: resolveKeys(se.api.tls, ["cert", "key"], baseDir) } } : {}),
    },
  };
}

/** True for `localhost`, 127.0.0.0/8 and ::1 (spec §13). */
export function isLoopback(host: string): boolean {
  const h = host.toLowerCase().replace(/\.$/, "");
  if (h === "localhost") return true;
  if (isIP(h) === 4) return h.startsWith("127.");
  if (isIP(h) !== 6) return false;
  const canonical = new URL(`http://[${h}]/`).hostname;
  return canonical === "[::1]" || canonical.startsWith("[::ffff:7f");
}

/** A problem when the file at `path` is not a readable regular file. */
function unreadable(path: string): string | undefined {
  try {
    accessSync(path, constants.R_OK);
    if (!statSync(path).isFile()) return `not a file: ${path}`;
    return undefined;
  } catch (error) {
    return `cannot read ${path} (${(error as NodeJS.ErrnoException).code ?? String(error)})`;
  }
}

/**
 * The rules that depend on which features are active (spec §14.1, §14.2, §13): required values,
 * readable certificate files and the API token rule. Expects {@link resolvePaths} to have run.
 */
export function checkActive(config: Config): ConfigIssue[] {
  const errors: ConfigIssue[] = [];
  const bs = config["Butler-SOS"];
  const api = config["sense-events"].api;
  const f = activeFeatures(config);
  const required = (path: string, value: unknown, why: string) => {
    if (value === undefined || value === "") errors.push({ path, message: `required ${why}` });
  };
  const readable = (path: string, file: string | undefined, why: string) => {
    if (!file) return required(path, file, why);
    const problem = unreadable(file);
    if (problem) errors.push({ path, message: problem });
  };

  if (f.influxdb) {
    const influx = bs.influxdbConfig;
    const p = "Butler-SOS.influxdbConfig";
    required(`${p}.host`, influx.host, "when InfluxDB is enabled");
    required(`${p}.version`, influx.version, "when InfluxDB is enabled");
    const why = `for InfluxDB v${influx.version}`;
    if (influx.version === 1) required(`${p}.v1Config.dbName`, influx.v1Config.dbName, why);
    if (influx.version === 2) {
      required(`${p}.v2Config.org`, influx.v2Config.org, why);
      required(`${p}.v2Config.bucket`, influx.v2Config.bucket, why);
      required(`${p}.v2Config.token`, influx.v2Config.token, why);
    }
    if (influx.version === 3) {
      required(`${p}.v3Config.database`, influx.v3Config.database, why);
      required(`${p}.v3Config.token`, influx.v3Config.token, why);
    }
  }
  if (f.mqtt) {
    const mqtt = bs.mqttConfig;
    required("Butler-SOS.mqttConfig.brokerHost", mqtt.brokerHost, "when MQTT is enabled");
    if (mqtt.tls.enable)
      for (const key of ["ca", "cert", "key"] as const)
        if (mqtt.tls[key]) readable(`Butler-SOS.mqttConfig.tls.${key}`, mqtt.tls[key], "");
  }
  if (bs.userEvents.enable && bs.newRelic.enable && bs.userEvents.sendToNewRelic.enable)
    required("Butler-SOS.newRelic.event.url", bs.newRelic.event.url, "when New Relic is enabled");
  if (f.appNames) {
    const why = "when app names are enabled";
    required("Butler-SOS.appNames.hostIP", bs.appNames.hostIP, why);
    readable("Butler-SOS.cert.clientCert", bs.cert.clientCert, why);
    readable("Butler-SOS.cert.clientCertKey", bs.cert.clientCertKey, why);
    if (config["sense-events"].appNames.verifyServerCert)
      readable(
        "Butler-SOS.cert.clientCertCA",
        bs.cert.clientCertCA,
        "when sense-events.appNames.verifyServerCert is true",
      );
  }
  if (api.enable && (api.tls?.cert || api.tls?.key)) {
    // Reference §20: both files or neither.
    readable("sense-events.api.tls.cert", api.tls?.cert, "with sense-events.api.tls.key");
    readable("sense-events.api.tls.key", api.tls?.key, "with sense-events.api.tls.cert");
  }
  if (api.enable && !isLoopback(api.host) && !api.token)
    errors.push({
      path: "sense-events.api.token",
      message: "required when api.host is not a loopback address",
    });
  return errors;
}
