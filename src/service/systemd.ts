import { existsSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join, posix } from "node:path";
import { VERSION } from "../version.ts";
import type { ServiceAction } from "./args.ts";
import { SERVICE_EXIT, type ServiceDeps } from "./deps.ts";
import { describeFailure } from "./exec.ts";
import type { InstallSpec } from "./spec.ts";

/** Quotes one ExecStart word for systemd: `%` and `$` doubled, spaces and quotes inside double quotes. */
export function systemdQuote(word: string): string {
  const escaped = word.replaceAll("%", "%%").replaceAll("$", "$$$$");
  return /^[^\s"'\\;]+$/.test(escaped)
    ? escaped
    : `"${escaped.replaceAll("\\", "\\\\").replaceAll('"', '\\"')}"`;
}

/** The state directory systemd creates for the unit (`StateDirectory=NAME`), writable by the service. */
export function stateDirectory(name: string): string {
  return `/var/lib/${name}`;
}

/**
 * The systemd unit: a dynamic unprivileged user, `/var/lib/NAME` for the spool and history, restart on
 * failure, reload by SIGHUP, and sandboxing that keeps UDP and HTTP working.
 */
export function systemdUnit(spec: InstallSpec): string {
  const exec = [spec.executable, ...(spec.script ? [spec.script] : []), "run", "-c", spec.configFile];
  return `# Written by "sense-events service install" (sense-events ${VERSION}).
[Unit]
Description=sense-events: Qlik Sense user events receiver (${spec.name})
Wants=network-online.target
After=network-online.target

[Service]
Type=exec
ExecStart=${exec.map(systemdQuote).join(" ")}
ExecReload=/bin/kill -s HUP $MAINPID
Restart=on-failure
RestartSec=5s
# SIGTERM flushes the outbox for up to outbox.shutdownTimeoutMs before exiting.
KillMode=mixed
TimeoutStopSec=${Math.ceil(spec.stopGraceMs / 1000)}s
# An unprivileged user made at start; it can write only below StateDirectory (/var/lib/${spec.name}).
DynamicUser=yes
StateDirectory=${spec.name}
StateDirectoryMode=0750
WorkingDirectory=/var/lib/${spec.name}
UMask=0027
# Ports below 1024 stay possible; every other capability is dropped.
CapabilityBoundingSet=CAP_NET_BIND_SERVICE
AmbientCapabilities=CAP_NET_BIND_SERVICE
NoNewPrivileges=yes
ProtectSystem=strict
ProtectHome=read-only
PrivateTmp=yes
PrivateDevices=yes
ProtectKernelTunables=yes
ProtectKernelModules=yes
ProtectKernelLogs=yes
ProtectControlGroups=yes
ProtectClock=yes
ProtectHostname=yes
RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX AF_NETLINK
RestrictNamespaces=yes
RestrictRealtime=yes
RestrictSUIDSGID=yes
LockPersonality=yes
SystemCallArchitectures=native
# Not MemoryDenyWriteExecute: the JavaScript JIT needs writable executable memory.

[Install]
WantedBy=multi-user.target
`;
}

/** Warnings about a config the sandboxed service could not use: a spool outside its state directory, an unreadable file. */
export function unitWarnings(spec: InstallSpec): string[] {
  const warnings: string[] = [];
  const state = stateDirectory(spec.name);
  if (spec.spoolPath !== "" && !spec.spoolPath.startsWith(`${state}/`)) {
    warnings.push(
      `outbox.path is ${spec.spoolPath}, but the service can only write below ${state}: ` +
        `set it to ${posix.join(state, posix.basename(spec.spoolPath))}`,
    );
  }
  const mode = statSync(spec.configFile, { throwIfNoEntry: false })?.mode ?? 0o644;
  if ((mode & 0o004) === 0) {
    warnings.push(
      `${spec.configFile} is not readable by other users, and the service runs as a dynamic user: chmod o+r it`,
    );
  }
  return warnings;
}

/** The state from `systemctl show NAME -p LoadState -p ActiveState`. */
export function parseSystemctlShow(stdout: string): "running" | "stopped" | "not installed" {
  const load = /^LoadState=(.*)$/m.exec(stdout)?.[1];
  if (load === undefined || load === "not-found") return "not installed";
  return /^ActiveState=(active|reloading)$/m.test(stdout) ? "running" : "stopped";
}

/** Runs one `sense-events service` action on Linux with systemd; returns the exit code. */
export async function systemdService(
  action: ServiceAction,
  name: string,
  spec: InstallSpec | null,
  print: boolean,
  deps: ServiceDeps,
): Promise<number> {
  // Always the full unit name: a bare "multi-user.target" would make systemctl act on that target.
  const unitName = `${name}.service`;
  const unitFile = join(deps.unitDir, unitName);
  const root = (): boolean => {
    if (deps.isRoot) return true;
    deps.err(`sense-events: service ${action} needs root: run it with sudo`);
    return false;
  };
  const systemctl = async (...args: string[]): Promise<boolean> => {
    const cmd = ["systemctl", ...args];
    const result = await deps.exec(cmd);
    if (result.code === 0) return true;
    deps.err(`sense-events: ${describeFailure(cmd, result)}`);
    return false;
  };
  const installed = () => existsSync(unitFile);

  switch (action) {
    case "install": {
      if (spec === null) throw new Error("[service] install needs a config");
      const unit = systemdUnit(spec);
      const warnings = unitWarnings(spec);
      if (print) {
        deps.out(unit.trimEnd());
        for (const warning of warnings) deps.err(`sense-events: warning: ${warning}`);
        return SERVICE_EXIT.ok;
      }
      if (!root()) return SERVICE_EXIT.notElevated;
      // A vendor unit of that name (in /usr/lib/systemd/system) would be silently overridden by ours.
      const known = await deps.exec(["systemctl", "show", unitName, "-p", "LoadState", "-p", "ActiveState"]);
      if (installed() || (known.code === 0 && parseSystemctlShow(known.stdout) !== "not installed")) {
        deps.err(
          `sense-events: ${unitName} already exists; choose another --name, or remove it first ` +
            `with "sense-events service uninstall --name ${name}"`,
        );
        return SERVICE_EXIT.failed;
      }
      writeFileSync(unitFile, unit, { mode: 0o644 });
      for (const warning of warnings) deps.err(`sense-events: warning: ${warning}`);
      deps.out(`Wrote ${unitFile}. Next:`);
      deps.out("  systemctl daemon-reload");
      deps.out(`  systemctl enable --now ${unitName}`);
      deps.out(`  systemctl status ${unitName}`);
      deps.out(`  journalctl -u ${unitName} -f`);
      return SERVICE_EXIT.ok;
    }
    case "uninstall": {
      if (!root()) return SERVICE_EXIT.notElevated;
      if (!installed()) {
        deps.err(`sense-events: ${unitFile} does not exist: service "${name}" is not installed`);
        return SERVICE_EXIT.notInstalled;
      }
      if (!(await systemctl("disable", "--now", unitName))) return SERVICE_EXIT.failed;
      rmSync(unitFile);
      if (!(await systemctl("daemon-reload"))) return SERVICE_EXIT.failed;
      deps.out(`Removed ${unitFile} (the spool in ${stateDirectory(name)} is kept)`);
      return SERVICE_EXIT.ok;
    }
    case "start":
    case "stop": {
      if (!installed()) {
        deps.err(`sense-events: service "${name}" is not installed`);
        return SERVICE_EXIT.notInstalled;
      }
      return (await systemctl(action, unitName)) ? SERVICE_EXIT.ok : SERVICE_EXIT.failed;
    }
    case "status": {
      const result = await deps.exec(["systemctl", "show", unitName, "-p", "LoadState", "-p", "ActiveState"]);
      const state =
        result.code === 0 ? parseSystemctlShow(result.stdout) : installed() ? "stopped" : "not installed";
      deps.out(`${name}: ${state}`);
      if (state === "running") return SERVICE_EXIT.ok;
      return state === "not installed" ? SERVICE_EXIT.notInstalled : SERVICE_EXIT.stopped;
    }
  }
}
