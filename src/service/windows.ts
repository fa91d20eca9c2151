import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, win32 } from "node:path";
import type { ServiceAction } from "./args.ts";
import { SERVICE_EXIT, type ServiceDeps } from "./deps.ts";
import { describeFailure } from "./exec.ts";
import { nssmPath, nssmRegistryFile, placeNssm, SERVICE_DESCRIPTION, serviceLogFile } from "./nssm.ts";
import type { InstallSpec } from "./spec.ts";

/** A service state as `sc query` reports it. */
export type WindowsState = "running" | "stopped" | "starting" | "stopping" | "paused" | "not installed";

const STATES: Record<string, WindowsState> = {
  "1": "stopped",
  "2": "starting",
  "3": "stopping",
  "4": "running",
  "5": "starting",
  "6": "stopping",
  "7": "paused",
};

const POLL_MS = 500;

/** Reads the state from `sc query NAME` output (the number after STATE is the same in every language). */
export function parseScQuery(code: number, stdout: string): WindowsState {
  // 1060 = ERROR_SERVICE_DOES_NOT_EXIST; Wine's sc answers 1 with no output.
  if (code !== 0) return "not installed";
  const state = /STATE\s*:\s*(\d+)/.exec(stdout)?.[1];
  return STATES[state ?? ""] ?? "not installed";
}

/**
 * Whether `whoami /groups` shows an elevated token (High or System mandatory level); null when it
 * shows no level at all (Wine), and NSSM decides.
 */
export function parseElevation(code: number, stdout: string): boolean | null {
  if (code !== 0) return null;
  const levels = [...stdout.matchAll(/S-1-16-(\d+)/g)].map((m) => Number(m[1]));
  if (levels.length === 0) return null;
  return levels.some((level) => level >= 12288);
}

/** Quotes one argument for a cmd.exe line (what `--print` shows an administrator). */
function cmdQuote(arg: string): string {
  return /^[A-Za-z0-9_.:\\/=-]+$/.test(arg) ? arg : `"${arg.replaceAll('"', '\\"')}"`;
}

/** Runs one `sense-events service` action on Windows through NSSM and sc.exe; returns the exit code. */
export async function windowsService(
  action: ServiceAction,
  name: string,
  spec: InstallSpec | null,
  print: boolean,
  deps: ServiceDeps,
): Promise<number> {
  const system32 = win32.join(deps.systemRoot, "System32");
  const sc = win32.join(system32, "sc.exe");
  const state = async (): Promise<WindowsState> => {
    const result = await deps.exec([sc, "query", name]);
    return parseScQuery(result.code, result.stdout);
  };
  const elevated = async (): Promise<boolean> => {
    const result = await deps.exec([win32.join(system32, "whoami.exe"), "/groups"]);
    if (parseElevation(result.code, result.stdout) !== false) return true;
    deps.err(
      `sense-events: service ${action} needs an elevated prompt: right-click Command Prompt or PowerShell, ` +
        `"Run as administrator", and run it again`,
    );
    return false;
  };
  const run = async (cmd: string[]): Promise<boolean> => {
    const result = await deps.exec(cmd);
    if (result.code === 0) return true;
    deps.err(`sense-events: ${describeFailure(cmd, result)}`);
    return false;
  };

  /** `sc start|stop`, then waits for the service manager to report the end state. */
  const control = async (verb: "start" | "stop"): Promise<number> => {
    const target: WindowsState = verb === "start" ? "running" : "stopped";
    const pending: WindowsState = verb === "start" ? "starting" : "stopping";
    let current = await state();
    if (current === "not installed") {
      deps.err(`sense-events: service "${name}" is not installed`);
      return SERVICE_EXIT.notInstalled;
    }
    if (current !== target && !(await run([sc, verb, name]))) return SERVICE_EXIT.failed;
    // Stopping waits for the outbox flush (NSSM's Ctrl-C grace); a start is quick unless it fails.
    const deadline = Date.now() + (verb === "start" ? 60_000 : 180_000);
    for (current = await state(); current === pending && Date.now() < deadline; current = await state()) {
      await deps.sleep(POLL_MS);
    }
    deps.out(`${name}: ${current}`);
    if (current === target) return SERVICE_EXIT.ok;
    deps.err(
      `sense-events: service "${name}" did not ${verb} (${current}); see its log in the logs folder beside the config`,
    );
    return SERVICE_EXIT.failed;
  };

  switch (action) {
    case "install": {
      if (spec === null) throw new Error("[service] install needs a config");
      const path = nssmPath(spec);
      const regFile = join(tmpdir(), `${name}-nssm-${process.pid}.reg`);
      const registry = nssmRegistryFile(spec);
      const commands = [
        [path, "install", name, spec.executable],
        [win32.join(system32, "reg.exe"), "import", regFile],
        [path, "set", name, "Description", SERVICE_DESCRIPTION],
      ];
      if (print) {
        for (const cmd of commands) deps.out(cmd.map(cmdQuote).join(" "));
        deps.out(`; ${regFile}:`);
        deps.out(registry.trimEnd());
        return SERVICE_EXIT.ok;
      }
      if (!(await elevated())) return SERVICE_EXIT.notElevated;
      if ((await state()) !== "not installed") {
        deps.err(
          `sense-events: a service named "${name}" already exists; choose another --name, or remove it first ` +
            `with "sense-events service uninstall --name ${name}"`,
        );
        return SERVICE_EXIT.failed;
      }
      if (deps.nssm === null) {
        deps.err(
          "sense-events: this build has no embedded NSSM: install with the released sense-events-windows-x64.exe",
        );
        return SERVICE_EXIT.failed;
      }
      const log = serviceLogFile(spec);
      try {
        await placeNssm(path, deps.nssm);
        mkdirSync(win32.dirname(log), { recursive: true });
        // reg import reads UTF-16LE with a byte order mark.
        writeFileSync(regFile, Buffer.from(`\uFEFF${registry}`, "utf16le"));
      } catch (error) {
        deps.err(`sense-events: ${(error as Error).message}`);
        return SERVICE_EXIT.failed;
      }
      try {
        for (const cmd of commands) {
          if (await run(cmd)) continue;
          // Leave nothing half-configured behind.
          await deps.exec([path, "remove", name, "confirm"]);
          return SERVICE_EXIT.failed;
        }
      } finally {
        rmSync(regFile, { force: true });
      }
      deps.out(`Installed service "${name}" (automatic start, restarted when it exits):`);
      deps.out(`  runs  ${spec.executable} run -c "${spec.configFile}"`);
      deps.out(`  logs  ${log} (rotated at 10 MB)`);
      deps.out("Next:");
      deps.out(`  ${cmdQuote(spec.executable)} service start --name ${name}`);
      deps.out(
        `  netsh advfirewall firewall add rule name="sense-events UDP ${spec.udpPort}" dir=in action=allow protocol=UDP localport=${spec.udpPort}`,
      );
      return SERVICE_EXIT.ok;
    }
    case "uninstall": {
      if (!(await elevated())) return SERVICE_EXIT.notElevated;
      const current = await state();
      if (current === "not installed") {
        deps.err(`sense-events: service "${name}" is not installed`);
        return SERVICE_EXIT.notInstalled;
      }
      if (current !== "stopped" && (await control("stop")) !== SERVICE_EXIT.ok) return SERVICE_EXIT.failed;
      if (!(await run([sc, "delete", name]))) return SERVICE_EXIT.failed;
      deps.out(`Removed service "${name}"`);
      return SERVICE_EXIT.ok;
    }
    case "start":
    case "stop":
      return control(action);
    case "status": {
      const current = await state();
      deps.out(`${name}: ${current}`);
      if (current === "running") return SERVICE_EXIT.ok;
      return current === "not installed" ? SERVICE_EXIT.notInstalled : SERVICE_EXIT.stopped;
    }
  }
}
