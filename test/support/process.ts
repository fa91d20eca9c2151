import dgram from "node:dgram";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { stringify } from "yaml";
import { waitFor } from "./wait.ts";

/** The shared fixtures directory; an alias of {@link SHARED_FIXTURES} kept for tests written before it. */
export { SHARED_FIXTURES as FIXTURES } from "./fixtures.ts";

/** The repository root. */
export const ROOT = resolve(import.meta.dir, "../..");
/** The pinned bun binary. */
export const BUN = join(ROOT, "node_modules/.bin/bun");

/** A temporary directory that `cleanup()` removes. */
export interface TempDir {
  path: string;
  /** Writes `text` (or a value as YAML) to `name` inside the directory and returns the full path. */
  write(name: string, content: string | object): string;
  cleanup(): void;
}

/** Creates a temporary directory for config files and spools. */
export function tempDir(prefix = "sense-events-test-"): TempDir {
  const path = mkdtempSync(join(tmpdir(), prefix));
  return {
    path,
    write(name, content) {
      const file = join(path, name);
      writeFileSync(file, typeof content === "string" ? content : stringify(content));
      return file;
    },
    cleanup: () => rmSync(path, { recursive: true, force: true }),
  };
}

/** A UDP port on 127.0.0.1 that was free a moment ago (bound to 0 and released). */
export async function freeUdpPort(host = "127.0.0.1"): Promise<number> {
  const socket = dgram.createSocket(host.includes(":") ? "udp6" : "udp4");
  await new Promise<void>((done) => socket.bind(0, host, done));
  const { port } = socket.address();
  await new Promise<void>((done) => socket.close(() => done()));
  return port;
}

/** A TCP port on 127.0.0.1 that was free a moment ago. */
export async function freeTcpPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
  const address = server.address();
  await new Promise<void>((done) => server.close(() => done()));
  if (address === null || typeof address === "string") throw new Error("no TCP address");
  return address.port;
}

/** True when nothing on this host listens on the UDP port `port` of `host`. */
export async function udpPortFree(port: number, host = "0.0.0.0"): Promise<boolean> {
  const socket = dgram.createSocket("udp4");
  try {
    await new Promise<void>((done, fail) => {
      socket.once("error", fail);
      socket.bind(port, host, done);
    });
    return true;
  } catch {
    return false;
  } finally {
    try {
      socket.close();
    } catch {
      // never bound
    }
  }
}

/** True when nothing listens on TCP `host:port`. */
export async function tcpPortFree(port: number, host = "127.0.0.1"): Promise<boolean> {
  const server = createServer();
  try {
    await new Promise<void>((done, fail) => {
      server.once("error", fail);
      server.listen(port, host, done);
    });
    await new Promise<void>((done) => server.close(() => done()));
    return true;
  } catch {
    return false;
  }
}

/** A minimal run config (YAML value) on the given ports, with no spool; `extra` is merged per section. */
export function runConfig(
  ports: { udp: number; api: number },
  extra: { userEvents?: object; udpServerConfig?: object; butlerSos?: object; senseEvents?: object } = {},
): object {
  return {
    "Butler-SOS": {
      ...extra.butlerSos,
      userEvents: {
        ...extra.userEvents,
        udpServerConfig: {
          serverHost: "127.0.0.1",
          portUserActivityEvents: ports.udp,
          ...extra.udpServerConfig,
        },
      },
    },
    "sense-events": { api: { port: ports.api }, outbox: { path: "" }, ...extra.senseEvents },
  };
}

/** Sends datagrams from a fresh IPv4 socket and closes it once they are out. */
export async function sendUdp(
  port: number,
  messages: (string | Uint8Array)[],
  host = "127.0.0.1",
): Promise<void> {
  const socket = dgram.createSocket("udp4");
  // An ICMP port-unreachable must not crash the test process.
  socket.on("error", () => {});
  for (const message of messages) {
    await new Promise<void>((done, fail) =>
      socket.send(message, port, host, (error) => (error ? fail(error) : done())),
    );
  }
  await new Promise<void>((done) => socket.close(() => done()));
}

/** GETs `url` and returns the parsed JSON body (any status). */
// biome-ignore lint/suspicious/noExplicitAny: tests dig into API JSON freely
export async function getJson(url: string): Promise<any> {
  return (await fetch(url)).json();
}

/** Fetches `url` and returns the status and parsed JSON body. */
// biome-ignore lint/suspicious/noExplicitAny: tests dig into API JSON freely
export async function fetchJson(url: string, init?: RequestInit): Promise<{ status: number; body: any }> {
  const response = await fetch(url, init);
  return { status: response.status, body: await response.json() };
}

/** Waits until `/api/stats` reports at least `count` received datagrams; returns the stats. */
// biome-ignore lint/suspicious/noExplicitAny: tests dig into API JSON freely
export function waitForReceived(apiUrl: string, count: number): Promise<any> {
  return waitFor(`${count} datagrams at ${apiUrl}`, async () => {
    const stats = await getJson(`${apiUrl}/api/stats`);
    return stats.datagrams.received >= count ? stats : undefined;
  });
}

/** A child process whose stdout and stderr are collected line by line. */
export interface Child {
  readonly pid: number;
  /** Lines written so far to stdout. */
  readonly stdout: string[];
  /** Lines written so far to stderr. */
  readonly stderr: string[];
  /** Resolves with the first stdout or stderr line matching `pattern` (past or future). */
  waitForLine(pattern: RegExp, timeoutMs?: number): Promise<string>;
  /** The exit code. */
  readonly exited: Promise<number>;
  kill(signal?: NodeJS.Signals): void;
}

/** Spawns `command` (e.g. `[BUN, "src/main.ts", "-c", file]`) with piped output. */
export function spawnChild(command: string[], options: { cwd?: string } = {}): Child {
  const proc = Bun.spawn(command, {
    cwd: options.cwd ?? ROOT,
    stdout: "pipe",
    stderr: "pipe",
    stdin: "ignore",
  });
  const stdout: string[] = [];
  const stderr: string[] = [];
  const waiters = new Set<() => void>();
  const pump = async (stream: ReadableStream<Uint8Array>, into: string[]) => {
    const decoder = new TextDecoder();
    let partial = "";
    for await (const chunk of stream) {
      partial += decoder.decode(chunk, { stream: true });
      const lines = partial.split("\n");
      partial = lines.pop() ?? "";
      into.push(...lines);
      for (const wake of waiters) wake();
    }
    if (partial !== "") into.push(partial);
    for (const wake of waiters) wake();
  };
  const pumped = Promise.all([pump(proc.stdout, stdout), pump(proc.stderr, stderr)]);
  const exited = pumped.then(() => proc.exited);
  let ended = false;
  void exited.then(() => {
    ended = true;
    for (const wake of waiters) wake();
  });
  return {
    pid: proc.pid,
    stdout,
    stderr,
    exited,
    kill: (signal = "SIGTERM") => proc.kill(signal),
    waitForLine(pattern, timeoutMs = 10_000) {
      return new Promise((done, fail) => {
        const timer = setTimeout(() => {
          waiters.delete(check);
          fail(
            new Error(
              `no line matching ${pattern} in ${timeoutMs} ms:\n${[...stdout, ...stderr].join("\n")}`,
            ),
          );
        }, timeoutMs);
        function check() {
          const line = [...stdout, ...stderr].find((l) => pattern.test(l));
          if (line !== undefined || ended) {
            clearTimeout(timer);
            waiters.delete(check);
            if (line !== undefined) done(line);
            else
              fail(
                new Error(`exited without a line matching ${pattern}:\n${[...stdout, ...stderr].join("\n")}`),
              );
          }
        }
        waiters.add(check);
        check();
      });
    },
  };
}

/** Runs a command to completion and returns its exit code and output. */
export async function runToEnd(
  command: string[],
  options: { cwd?: string } = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  const proc = Bun.spawn(command, {
    cwd: options.cwd ?? ROOT,
    stdout: "pipe",
    stderr: "pipe",
    stdin: "ignore",
  });
  const [stdout, stderr, code] = await Promise.all([
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
    proc.exited,
  ]);
  return { code, stdout, stderr };
}

/** Stops a child still running (SIGKILL) and waits for it; for afterEach. */
export async function stopChild(child: Child | undefined): Promise<void> {
  if (child === undefined) return;
  child.kill("SIGKILL");
  await child.exited;
}

/** The one polling helper, also exported here for tests that import it with the other process helpers. */
export { waitFor };
