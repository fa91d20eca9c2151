import type { Config } from "../config/schema.ts";

/** What `service install` sets up, taken from the command line, the config file and this executable. */
export type InstallSpec = {
  /** Service or unit name. */
  name: string;
  /** Absolute path of the config file the service runs with. */
  configFile: string;
  /** The executable (and, when run from source, the script) that the service starts. */
  executable: string;
  /** Arguments before `run -c FILE`: the script path when not a compiled executable, else none. */
  script: string | null;
  /** UDP port of the user events listener, for the firewall hint. */
  udpPort: number;
  /** Resolved `outbox.path`, "" when the spool is off. */
  spoolPath: string;
  /** How long the service manager waits for a graceful stop: longer than the outbox flush. */
  stopGraceMs: number;
};

/** Extra time on top of `outbox.shutdownTimeoutMs` for closing UDP, the API and the spool. */
export const STOP_MARGIN_MS = 10_000;

/** The command that runs this program: the compiled executable, or bun plus the entry script. */
export function selfCommand(): { executable: string; script: string | null } {
  // Compiled executables run their entry from bun's embedded file system.
  const compiled = Bun.main.startsWith("/$bunfs/") || /^[A-Z]:[\\/]~BUN[\\/]/i.test(Bun.main);
  return { executable: process.execPath, script: compiled ? null : Bun.main };
}

/** Builds the install spec from a validated config. */
export function installSpec(
  name: string,
  configFile: string,
  config: Config,
  self: { executable: string; script: string | null },
): InstallSpec {
  const se = config["sense-events"];
  return {
    name,
    configFile,
    ...self,
    udpPort: config["Butler-SOS"].userEvents.udpServerConfig.portUserActivityEvents,
    spoolPath: se.outbox.path,
    stopGraceMs: se.outbox.shutdownTimeoutMs + STOP_MARGIN_MS,
  };
}
