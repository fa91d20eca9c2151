import type { Config } from "../config/schema.ts";
import {
  type AppNames,
  type AppNamesOptions,
  type AppNamesStats,
  createAppNames,
} from "../ingest/app-names.ts";
import type { Logger } from "../log.ts";
import type { Part } from "./part.ts";

/** The app-id → app-name lookup as a part: rebuilt by a reload only when its own settings change. */
export interface AppNamesPart extends Part<AppNamesStats> {
  /** Name of a lower-cased app id, or undefined when unknown or off. */
  lookup(appId: string): string | undefined;
}

/** The lookup's settings from `Butler-SOS.appNames`, `Butler-SOS.cert` and `sense-events.appNames`. */
function appNamesSettings(config: Config): Omit<AppNamesOptions, "log"> {
  const bs = config["Butler-SOS"];
  const required = config.features.required.appNames;
  return {
    enabled: required !== null,
    hostIP: required?.hostIP ?? "",
    intervalMs: bs.appNames.extractInterval,
    cert: {
      clientCert: required?.clientCert ?? "",
      clientCertKey: required?.clientCertKey ?? "",
      clientCertCA: bs.cert.clientCertCA,
      clientCertPassphrase: bs.cert.clientCertPassphrase,
    },
    verifyServerCert: config["sense-events"].appNames.verifyServerCert,
  };
}

/** Creates the app-name lookup and starts its first fetch (when enabled). */
export function createAppNamesPart(config: Config, log: Logger): AppNamesPart {
  let settings = appNamesSettings(config);
  let names: AppNames = createAppNames({ ...settings, log });
  names.start();
  return {
    name: "appNames",
    lookup: (appId) => names.lookup(appId),
    async apply(next) {
      const wanted = appNamesSettings(next);
      if (Bun.deepEquals(wanted, settings, true)) return { rebuilt: [] };
      names.close();
      settings = wanted;
      names = createAppNames({ ...settings, log });
      names.start();
      return { rebuilt: ["appNames"] };
    },
    stats: () => names.stats(),
    async close() {
      names.close();
    },
  };
}
