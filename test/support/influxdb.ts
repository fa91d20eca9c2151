import type { ChildProcess } from "node:child_process";
import { spawn, spawnSync } from "node:child_process";
import { closeSync, existsSync, mkdtempSync, openSync, rmSync, unlinkSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** A running real InfluxDB 1.x on 127.0.0.1, owned by one test file. */
export type InfluxServer = {
  url: string;
  port: number;
  /** Stops influxd but keeps its data directory and port. */
  stop(): Promise<void>;
  /** Starts influxd again on the same port and data directory. */
  start(): Promise<void>;
  /** Runs an InfluxQL query (POST /query) and returns the parsed JSON; times are RFC 3339 strings. */
  // biome-ignore lint/suspicious/noExplicitAny: test code digs into InfluxQL JSON freely
  query(q: string, db: string): Promise<any>;
  /** Stops influxd and removes its directories. */
  close(): Promise<void>;
};

const LOCK = join(tmpdir(), "sense-events-apt.lock");
const PACKAGES = ["influxdb", "mosquitto"];

function hasCommand(name: string): boolean {
  // Daemons such as mosquitto live in /usr/sbin, which is not always on a non-root PATH.
  if (["/usr/sbin", "/usr/bin", "/sbin"].some((dir) => existsSync(join(dir, name)))) return true;
  return spawnSync("sh", ["-c", `command -v ${name}`], { stdio: "ignore" }).status === 0;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Installs influxd and mosquitto with apt (root only, once across parallel test files); throws when impossible. */
export async function ensureInstalled(binary = "influxd"): Promise<void> {
  if (hasCommand(binary)) return;
  if (process.getuid?.() !== 0) {
    throw new Error(
      `[test] ${binary} is not installed and this is not root: run "apt-get install -y ${PACKAGES.join(" ")}"`,
    );
  }
  // The lock file is created exclusively; whoever loses the race waits for the winner to finish.
  let fd: number | undefined;
  const deadline = Date.now() + 600_000;
  while (fd === undefined) {
    try {
      fd = openSync(LOCK, "wx");
    } catch {
      if (hasCommand(binary)) return;
      if (Date.now() > deadline) throw new Error(`[test] timed out waiting for ${LOCK}`);
      await sleep(500);
    }
  }
  try {
    if (hasCommand(binary)) return;
    const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
    const update = spawnSync("apt-get", ["update"], { stdio: "inherit", env });
    if (update.status !== 0) throw new Error("[test] apt-get update failed");
    const install = spawnSync("apt-get", ["install", "-y", "--no-install-recommends", ...PACKAGES], {
      stdio: "inherit",
      env,
    });
    if (install.status !== 0) throw new Error(`[test] apt-get install ${PACKAGES.join(" ")} failed`);
    if (!hasCommand(binary)) throw new Error(`[test] ${binary} still missing after apt-get install`);
  } finally {
    closeSync(fd);
    unlinkSync(LOCK);
  }
}

/** Returns a free TCP port on 127.0.0.1 by binding port 0 and releasing it. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

function config(dir: string, httpPort: number, rpcPort: number, maxValuesPerTag = 100_000): string {
  return `reporting-disabled = true
bind-address = "127.0.0.1:${rpcPort}"

[meta]
  dir = "${dir}/meta"

[data]
  dir = "${dir}/data"
  wal-dir = "${dir}/wal"
  max-values-per-tag = ${maxValuesPerTag}
  query-log-enabled = false
  trace-logging-enabled = false

[monitor]
  store-enabled = false

[http]
  enabled = true
  bind-address = "127.0.0.1:${httpPort}"
  auth-enabled = false
  log-enabled = false

[logging]
  level = "warn"

[subscriber]
  enabled = false

[[graphite]]
  enabled = false

[[collectd]]
  enabled = false

[[opentsdb]]
  enabled = false

[[udp]]
  enabled = false

[continuous_queries]
  enabled = false
`;
}

async function waitForPing(url: string, child: ChildProcess, output: () => string): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`[test] influxd exited with ${child.exitCode}: ${output()}`);
    try {
      const res = await fetch(`${url}/ping`);
      if (res.status === 204) return;
    } catch {
      // not listening yet
    }
    await sleep(100);
  }
  throw new Error(`[test] influxd did not answer /ping within 30 s: ${output()}`);
}

/** Starts a real influxd with a temporary config and data directory on free 127.0.0.1 ports. */
export async function startInfluxdb(options: { maxValuesPerTag?: number } = {}): Promise<InfluxServer> {
  await ensureInstalled("influxd");
  const dir = mkdtempSync(join(tmpdir(), "sense-events-influxdb-"));
  const port = await freePort();
  const rpcPort = await freePort();
  const configFile = join(dir, "influxdb.conf");
  writeFileSync(configFile, config(dir, port, rpcPort, options.maxValuesPerTag));
  const url = `http://127.0.0.1:${port}`;
  let child: ChildProcess | undefined;

  const start = async (): Promise<void> => {
    if (child) return;
    let output = "";
    const proc = spawn("influxd", ["-config", configFile], { stdio: ["ignore", "pipe", "pipe"] });
    proc.stdout?.on("data", (chunk: Buffer) => {
      output = (output + chunk.toString()).slice(-4000);
    });
    proc.stderr?.on("data", (chunk: Buffer) => {
      output = (output + chunk.toString()).slice(-4000);
    });
    child = proc;
    try {
      await waitForPing(url, proc, () => output);
    } catch (error) {
      proc.kill("SIGKILL");
      child = undefined;
      throw error;
    }
  };

  const stop = async (): Promise<void> => {
    const proc = child;
    if (!proc) return;
    child = undefined;
    if (proc.exitCode !== null) return;
    const exited = new Promise<void>((resolve) => proc.once("exit", () => resolve()));
    proc.kill("SIGTERM");
    const timer = setTimeout(() => proc.kill("SIGKILL"), 5000);
    await exited;
    clearTimeout(timer);
  };

  // biome-ignore lint/suspicious/noExplicitAny: see InfluxServer.query
  const query = async (q: string, db: string): Promise<any> => {
    // No epoch parameter: RFC 3339 times keep every nanosecond, which JSON numbers cannot.
    const body = new URLSearchParams({ q, db });
    const res = await fetch(`${url}/query`, { method: "POST", body });
    if (!res.ok) throw new Error(`[test] influxdb query failed: ${res.status} ${await res.text()}`);
    return res.json();
  };

  const close = async (): Promise<void> => {
    await stop();
    if (existsSync(dir)) rmSync(dir, { recursive: true, force: true });
  };

  try {
    await start();
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  return { url, port, stop, start, query, close };
}
