import type { Exec } from "./exec.ts";

/** Exit codes of `sense-events service` (reference §21): `status` answers 0, 3 or 4. */
export const SERVICE_EXIT = {
  /** Done; for `status`: installed and running. */
  ok: 0,
  /** The command failed (the service manager or NSSM refused; the name is taken). */
  failed: 1,
  /** `status`: installed but not running (stopped, starting or stopping). */
  stopped: 3,
  /** The service is not installed. */
  notInstalled: 4,
  /** Not run as Administrator (Windows) or root (Linux). */
  notElevated: 77,
  /** The config file is invalid or unreadable. */
  config: 78,
} as const;

/** What the service commands talk to, injectable for tests. */
export type ServiceDeps = {
  exec: Exec;
  out: (line: string) => void;
  err: (line: string) => void;
  /** Directory of systemd unit files. @default "/etc/systemd/system" */
  unitDir: string;
  /** True when running as root (Linux). */
  isRoot: boolean;
  /** The embedded NSSM executable, null when this build has none. */
  nssm: Blob | null;
  /** %SystemRoot%, where sc.exe and whoami.exe live. */
  systemRoot: string;
  /** Waits between polls of the service state. */
  sleep: (ms: number) => Promise<void>;
};
