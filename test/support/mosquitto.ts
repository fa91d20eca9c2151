import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ensureInstalled, freePort } from "./influxdb.ts";

/** A running real mosquitto on 127.0.0.1, owned by one test file. */
export interface MosquittoServer {
  /** `mqtt://127.0.0.1:<port>` (or `mqtts://` with TLS). */
  url: string;
  port: number;
  /** Stops the broker but keeps its port and config. */
  stop(): Promise<void>;
  /** Starts the broker again on the same port. */
  start(): Promise<void>;
  /** Stops the broker and removes its directory. */
  close(): Promise<void>;
}

/** Options for {@link startMosquitto}. */
export interface MosquittoOptions {
  /** With users, anonymous clients are refused. */
  users?: { username: string; password: string }[];
  /** PEM file paths for an `mqtts` listener; `requireCertificate` demands a client cert signed by `ca`. */
  tls?: { ca: string; cert: string; key: string; requireCertificate?: boolean };
  /** Text of a mosquitto ACL file (e.g. `user sense\ntopic write allowed/#`). */
  acl?: string;
  /**
   * Keep sessions across a restart (`persistence true`, no queue limit), so a subscriber with a
   * persistent session misses nothing while the broker is down. @default false
   */
  persistence?: boolean;
}

/** Installs mosquitto with apt when missing and running as root (shared lock with the InfluxDB helper). */
export async function ensureMosquittoInstalled(): Promise<void> {
  await ensureInstalled("mosquitto");
}

function binary(name: string): string {
  return Bun.which(name) ?? Bun.which(name, { PATH: "/usr/sbin:/usr/bin:/sbin" }) ?? name;
}

async function run(cmd: string[]): Promise<void> {
  const proc = Bun.spawn(cmd, { stdout: "ignore", stderr: "pipe" });
  if ((await proc.exited) !== 0)
    throw new Error(`${cmd[0]} failed: ${await new Response(proc.stderr).text()}`);
}

async function accepts(port: number): Promise<boolean> {
  try {
    const socket = await Bun.connect({ hostname: "127.0.0.1", port, socket: { data() {} } });
    socket.end();
    return true;
  } catch {
    return false;
  }
}

/** Starts a real mosquitto with a generated config and waits until it accepts connections. */
export async function startMosquitto(options: MosquittoOptions = {}): Promise<MosquittoServer> {
  await ensureMosquittoInstalled();
  const dir = await mkdtemp(join(tmpdir(), "sense-events-mosquitto-"));
  const port = await freePort();
  const lines = [`listener ${port} 127.0.0.1`, "log_dest stderr", "log_type error"];
  if (options.persistence) {
    lines.push("persistence true", `persistence_location ${dir}/`, "max_queued_messages 0");
  } else {
    lines.push("persistence false");
  }
  // Run as root, mosquitto would switch to the `mosquitto` user, who cannot read the 0700 temp dir.
  if (process.getuid?.() === 0) lines.push("user root");
  if (options.users?.length) {
    const passwordFile = join(dir, "passwd");
    await Bun.write(passwordFile, "");
    for (const { username, password } of options.users) {
      await run([binary("mosquitto_passwd"), "-b", passwordFile, username, password]);
    }
    lines.push("allow_anonymous false", `password_file ${passwordFile}`);
  } else {
    lines.push("allow_anonymous true");
  }
  if (options.acl !== undefined) {
    const aclFile = join(dir, "acl");
    await Bun.write(aclFile, `${options.acl}\n`);
    lines.push(`acl_file ${aclFile}`);
  }
  if (options.tls) {
    lines.push(`cafile ${options.tls.ca}`, `certfile ${options.tls.cert}`, `keyfile ${options.tls.key}`);
    lines.push(`require_certificate ${options.tls.requireCertificate ? "true" : "false"}`);
  }
  const configFile = join(dir, "mosquitto.conf");
  await Bun.write(configFile, `${lines.join("\n")}\n`);

  let proc: ReturnType<typeof Bun.spawn> | undefined;
  async function start(): Promise<void> {
    if (proc) return;
    const child = Bun.spawn([binary("mosquitto"), "-c", configFile], { stdout: "ignore", stderr: "pipe" });
    proc = child;
    const deadline = Date.now() + 10_000;
    while (!(await accepts(port))) {
      if (child.exitCode !== null || Date.now() > deadline) {
        child.kill();
        proc = undefined;
        const stderr = child.stderr instanceof ReadableStream ? await new Response(child.stderr).text() : "";
        throw new Error(`[test] mosquitto did not start on port ${port}: ${stderr}`);
      }
      await Bun.sleep(20);
    }
  }
  async function stop(): Promise<void> {
    const child = proc;
    proc = undefined;
    if (!child) return;
    child.kill("SIGTERM");
    await child.exited;
  }
  await start();
  return {
    url: `${options.tls ? "mqtts" : "mqtt"}://127.0.0.1:${port}`,
    port,
    start,
    stop,
    async close() {
      await stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
