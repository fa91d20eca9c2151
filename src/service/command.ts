import { resolve } from "node:path";
import { formatConfigIssue, loadConfigFile } from "../config/load.ts";
import type { ServiceArgs } from "./args.ts";
import { SERVICE_EXIT, type ServiceDeps } from "./deps.ts";
import { exec } from "./exec.ts";
import { embeddedNssm } from "./nssm.ts";
import { type InstallSpec, installSpec, selfCommand } from "./spec.ts";
import { systemdService } from "./systemd.ts";
import { windowsService } from "./windows.ts";

/** The real collaborators of the service commands. */
export function defaultServiceDeps(): ServiceDeps {
  return {
    exec,
    out: (line) => process.stdout.write(`${line}\n`),
    err: (line) => process.stderr.write(`${line}\n`),
    unitDir: "/etc/systemd/system",
    isRoot: process.getuid?.() === 0,
    nssm: embeddedNssm(),
    systemRoot: process.env.SystemRoot ?? "C:\\Windows",
    sleep: (ms) => Bun.sleep(ms),
  };
}

/**
 * `sense-events service install|uninstall|start|stop|status` (reference §21): a Windows service
 * through NSSM, a systemd unit on Linux. Returns the exit code.
 */
export async function runServiceCommand(
  args: ServiceArgs,
  deps: ServiceDeps = defaultServiceDeps(),
  platform: NodeJS.Platform = process.platform,
): Promise<number> {
  let spec: InstallSpec | null = null;
  if (args.action === "install" && args.configFile !== undefined) {
    // The service must not be the first to find out the config is broken.
    const configFile = resolve(args.configFile);
    const loaded = await loadConfigFile(configFile);
    if (!loaded.ok) {
      for (const issue of loaded.errors) deps.err(formatConfigIssue(issue));
      return SERVICE_EXIT.config;
    }
    spec = installSpec(args.name, configFile, loaded.config, selfCommand());
  }
  if (platform === "win32") return windowsService(args.action, args.name, spec, args.print, deps);
  if (platform === "linux") return systemdService(args.action, args.name, spec, args.print, deps);
  deps.err(`sense-events: service is supported on Windows and Linux (systemd), not ${platform}`);
  return SERVICE_EXIT.failed;
}
