import { accessSync, constants, statSync } from "node:fs";
import { isIP } from "node:net";
import { resolve } from "node:path";
import { errorCode } from "../net.ts";
import type { ActiveFeatures } from "./features.ts";
import type { FileConfig } from "./schema.ts";
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
export function resolvePaths(config: FileConfig, baseDir: string): FileConfig {
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

/** True for `localhost`, 127.0.0.0/8, `::1` and IPv4-mapped loopback addresses (reference §13). */
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
    return `cannot read ${path} (${errorCode(error)})`;
  }
}

/**
 * The rules that depend on which features are active and read the disk or the API address (reference
 * §14.1, §14.2, §13): readable certificate files and the API token rule. Required values are checked by
 * {@link activateFeatures}. Expects {@link resolvePaths} to have run.
 */
export function checkActive(config: FileConfig, features: ActiveFeatures): ConfigIssue[] {
  const errors: ConfigIssue[] = [];
  const bs = config["Butler-SOS"];
  const api = config["sense-events"].api;
  const readable = (path: string, file: string | undefined, why: string) => {
    if (!file) {
      errors.push({ path, message: `required ${why}` });
      return;
    }
    const problem = unreadable(file);
    if (problem) errors.push({ path, message: problem });
  };
  if (features.mqtt) {
    const mqtt = bs.mqttConfig;
    if (mqtt.tls.enable)
      for (const key of ["ca", "cert", "key"] as const)
        if (mqtt.tls[key]) readable(`Butler-SOS.mqttConfig.tls.${key}`, mqtt.tls[key], "");
  }
  if (features.appNames) {
    // A missing certificate is already reported as required.
    if (bs.cert.clientCert) readable("Butler-SOS.cert.clientCert", bs.cert.clientCert, "");
    if (bs.cert.clientCertKey) readable("Butler-SOS.cert.clientCertKey", bs.cert.clientCertKey, "");
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
