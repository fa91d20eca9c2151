/** Makes sure the real InfluxDB 1.x and mosquitto binaries the tests start are installed. */
import { existsSync } from "node:fs";

const BINARIES = { influxdb: "/usr/bin/influxd", mosquitto: "/usr/sbin/mosquitto" } as const;

/**
 * Installs the Debian packages `influxdb` and `mosquitto` when missing and running as root
 * (`apt-get update` once, then one `apt-get install`); throws a clear error when not root.
 */
export async function ensureTestServices(log: (line: string) => void = () => {}): Promise<void> {
  const missing = Object.entries(BINARIES)
    .filter(([, bin]) => !existsSync(bin))
    .map(([pkg]) => pkg);
  if (missing.length === 0) return;
  if (process.getuid?.() !== 0) {
    throw new Error(
      `missing test services (${missing.join(", ")}): run as root or \`apt-get install ${missing.join(" ")}\``,
    );
  }
  log(`installing ${missing.join(", ")} with apt-get`);
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  for (const cmd of [
    ["apt-get", "update", "-q"],
    ["apt-get", "install", "-y", "-q", "--no-install-recommends", ...missing],
  ]) {
    const proc = Bun.spawn(cmd, { stdout: "inherit", stderr: "inherit", env });
    if ((await proc.exited) !== 0) throw new Error(`${cmd.join(" ")} failed`);
  }
}
