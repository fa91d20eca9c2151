import type { ReloadOutcome } from "../api/app.ts";
import { diffConfig, restartRequiredPaths } from "../config/diff.ts";
import { loadConfigFileOffThread } from "../config/load.ts";
import { isLoopback } from "../config/rules.ts";
import { type Config, fileSections } from "../config/schema.ts";
import type { Logger } from "../log.ts";

/** Collaborators of {@link createReloader}. */
export interface ReloaderOptions {
  /** The config file, or null when running on the embedded default. */
  configFile: string | null;
  log: Logger;
  /** The config in force. */
  current: () => Config;
  /**
   * Puts a new config in force; returns what was rebuilt (`udp` when UDP was rebound). Throws,
   * leaving the old config in force, when the new UDP address cannot be bound.
   */
  apply: (next: Config) => Promise<string[]>;
}

/** Keeps the settings that only a restart changes (RESTART_PATHS: API, outbox, history file, logger). */
function keepRestartOnly(next: Config, current: Config): Config {
  const se = next["sense-events"];
  const cur = current["sense-events"];
  return {
    ...next,
    "sense-events": {
      ...se,
      api: { ...se.api, enable: cur.api.enable, host: cur.api.host, port: cur.api.port },
      outbox: {
        ...se.outbox,
        path: cur.outbox.path,
        memoryItems: cur.outbox.memoryItems,
        maxBytes: cur.outbox.maxBytes,
      },
      history: { ...se.history, enable: cur.history.enable, path: cur.history.path },
      log: cur.log,
    },
  };
}

/** Creates the reload of reference §14.4, shared by SIGHUP and `POST /api/config/reload`. */
export function createReloader(options: ReloaderOptions) {
  const { configFile, log } = options;
  let running = false;

  async function reloadOnce(file: string): Promise<ReloadOutcome> {
    const loaded = await loadConfigFileOffThread(file);
    if (!loaded.ok) {
      for (const e of loaded.errors) log.error(`[config] reload refused: ${e.path}: ${e.message}`);
      return { status: 422, body: { reloaded: false, errors: loaded.errors } };
    }
    if (loaded.empty) {
      // Usually a file caught mid-write: applying it would drop every destination, the token and the allow-list.
      const error = { path: file, message: "the file is empty; the running config is kept" };
      log.error(`[config] reload refused: ${error.path}: ${error.message}`);
      return { status: 422, body: { reloaded: false, errors: [error] } };
    }
    const current = options.current();
    const changed = diffConfig(fileSections(current), fileSections(loaded.config));
    const restartRequired = restartRequiredPaths(changed);
    for (const warning of loaded.warnings) log.warn(`[config] ${warning}`);
    const next = keepRestartOnly(loaded.config, current);
    const api = next["sense-events"].api;
    if (api.enable && !isLoopback(api.host) && !api.token) {
      // The file may move the API to loopback, but that waits for a restart: the open address keeps its token.
      const error = {
        path: "sense-events.api.token",
        message: `required while the API listens on ${api.host}`,
      };
      log.error(`[config] reload refused: ${error.path}: ${error.message}`);
      return { status: 422, body: { reloaded: false, errors: [error] } };
    }
    let rebuilt: string[];
    try {
      rebuilt = await options.apply(next);
    } catch (error) {
      const message = (error as Error).message;
      log.error(`[config] reload refused: ${message}`);
      return {
        status: 422,
        body: { reloaded: false, errors: [{ path: "Butler-SOS.userEvents.udpServerConfig", message }] },
      };
    }
    log.info(
      `[config] reloaded ${file}: changed ${changed.join(", ") || "nothing"}; rebuilt ${rebuilt.join(", ") || "nothing"}`,
    );
    if (restartRequired.length > 0) log.warn(`[config] restart required for ${restartRequired.join(", ")}`);
    const udpRebound = rebuilt.includes("udp");
    return { status: 200, body: { reloaded: true, changed, udpRebound, restartRequired } };
  }

  return {
    /** Re-reads and applies the config file; 409 without a file or while another reload runs. */
    async reload(): Promise<ReloadOutcome> {
      if (configFile === null) {
        return { status: 409, body: { error: "no config file: running on the embedded default" } };
      }
      if (running) return { status: 409, body: { error: "a reload is already running" } };
      running = true;
      try {
        return await reloadOnce(configFile);
      } finally {
        running = false;
      }
    },
  };
}
