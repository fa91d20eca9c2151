import { afterAll, afterEach, describe, expect, test } from "bun:test";
import dgram from "node:dgram";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { testDatagram } from "../../src/cli/send-test-events.ts";
import { sharedFixture } from "../support/fixtures.ts";
import {
  BUN,
  type Child,
  freeTcpPort,
  freeUdpPort,
  getJson,
  runConfig,
  runToEnd,
  sendUdp,
  spawnChild,
  stopChild,
  tempDir,
} from "../support/process.ts";
import { waitFor } from "../support/wait.ts";

const MAIN = join(import.meta.dir, "../../src/main.ts");
const dir = tempDir("sense-events-cli-");
let child: Child | undefined;

afterEach(async () => {
  await stopChild(child);
  child = undefined;
});
afterAll(() => dir.cleanup());

/** Starts `bun src/main.ts ...args` and waits until the API listens; returns the API URL. */
async function startRun(args: string[]): Promise<string> {
  child = spawnChild([BUN, MAIN, ...args], { cwd: dir.path });
  const line = await child.waitForLine(/\[api\] listening on /);
  return line.slice(line.indexOf("http://"));
}

/** Writes a run config on fresh ports and returns its path and ports. */
async function writeRunConfig(name: string, extra: Parameters<typeof runConfig>[1] = {}) {
  const ports = { udp: await freeUdpPort(), api: await freeTcpPort() };
  return { file: dir.write(name, runConfig(ports, extra)), ...ports };
}

describe("exit codes", () => {
  test("an unknown flag exits 2 with a usage message", async () => {
    const result = await runToEnd([BUN, MAIN, "--bogus"]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('unknown option "--bogus"');
  });

  test("an invalid config exits 78 with one config error line per problem", async () => {
    const file = dir.write("bad.yaml", {
      "Butler-SOS": {
        userEvents: { udpServerConfig: { serverHost: "<IP or FQDN>", portUserActivityEvents: 70000 } },
      },
    });
    const result = await runToEnd([BUN, MAIN, "-c", file]);
    expect({ code: result.code, stderr: result.stderr.trimEnd().split("\n") }).toStrictEqual({
      code: 78,
      stderr: [
        'config error: Butler-SOS.userEvents.udpServerConfig.serverHost: must be an IP address or hostname (got "<IP or FQDN>")',
        "config error: Butler-SOS.userEvents.udpServerConfig.portUserActivityEvents: must be an integer from 1 to 65535 (got 70000)",
      ],
    });
  });

  test("a missing config file exits 78", async () => {
    const result = await runToEnd([BUN, MAIN, "-c", join(dir.path, "nothere.yaml")]);
    expect(result.code).toBe(78);
    expect(result.stderr).toStartWith("config error: ");
  });

  test("a non-loopback API host without a token exits 78 with the reference §13 message", async () => {
    const file = dir.write("open-api.yaml", { "sense-events": { api: { host: "0.0.0.0" } } });
    const result = await runToEnd([BUN, MAIN, "-c", file]);
    expect({ code: result.code, stderr: result.stderr }).toStrictEqual({
      code: 78,
      stderr: "config error: sense-events.api.token: required when api.host is not a loopback address\n",
    });
  });

  test("a UDP port already bound exits 1 naming the address", async () => {
    const { file, udp } = await writeRunConfig("taken.yaml");
    const blocker = dgram.createSocket("udp4");
    await new Promise<void>((done) => blocker.bind(udp, "127.0.0.1", done));
    try {
      const result = await runToEnd([BUN, MAIN, "-c", file], { cwd: dir.path });
      expect(result.code).toBe(1);
      expect(result.stderr).toContain(`cannot bind UDP 127.0.0.1:${udp}: EADDRINUSE`);
    } finally {
      blocker.close();
    }
  });

  test.each([
    ["the Butler SOS 15 template", "butler-sos-15-production_template.yaml"],
    ["the product documentation example", "product-doc-userevents.yaml"],
  ])("check-config accepts %s and exits 0", async (_name, fixture) => {
    const result = await runToEnd([BUN, MAIN, "check-config", "-c", sharedFixture(fixture)]);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain("InfluxDB off");
  });
});

describe("run", () => {
  test("--configfile is an alias for -c", async () => {
    const { file, udp } = await writeRunConfig("alias.yaml");
    const apiUrl = await startRun(["--configfile", file]);
    const health = await getJson(`${apiUrl}/health`);
    expect(health.udp).toStrictEqual({ listening: true, address: `127.0.0.1:${udp}` });
  });

  test("the product documentation example runs and drops its excluded user", async () => {
    const udp = await freeUdpPort();
    const api = await freeTcpPort();
    const text = readFileSync(sharedFixture("product-doc-userevents.yaml"), "utf8")
      .replace("serverHost: 192.168.1.100", "serverHost: 127.0.0.1")
      .replace("portUserActivityEvents: 9997", `portUserActivityEvents: ${udp}`);
    expect(text).toContain(`portUserActivityEvents: ${udp}`);
    const file = dir.write("product-doc.yaml", `${text}\nsense-events:\n  api:\n    port: ${api}\n`);
    const apiUrl = await startRun(["-c", file]);
    const excluded =
      "/qseow-proxy-session/;node1;Start session;LAB;testuser1;AppAccess;/;Start session for user";
    const other =
      "/qseow-proxy-session/;node1;Start session;LAB;testuser2;AppAccess;/;Start session for user";
    await sendUdp(udp, [excluded, other]);
    const stats = await waitFor("two datagrams", async () => {
      const s = await getJson(`${apiUrl}/api/stats`);
      return s.datagrams.received >= 2 ? s : undefined;
    });
    const { events } = await getJson(`${apiUrl}/api/events`);
    expect({
      excluded: stats.datagrams.excluded,
      accepted: stats.datagrams.accepted,
      users: events.map((e: { userId: string }) => e.userId),
    }).toStrictEqual({ excluded: 1, accepted: 1, users: ["testuser2"] });
  });

  test("user events disabled is warned once at start, not again by the UDP listener", async () => {
    const { file } = await writeRunConfig("disabled.yaml", { userEvents: { enable: false } });
    await startRun(["-c", file]);
    child?.kill("SIGTERM");
    expect(await child?.exited).toBe(0);
    const lines = [...(child?.stdout ?? []), ...(child?.stderr ?? [])];
    expect(lines.filter((l) => l.includes("user events are disabled"))).toStrictEqual([
      expect.stringContaining("[config] user events are disabled"),
    ]);
  });

  test("SIGTERM shuts down and exits 0", async () => {
    const { file } = await writeRunConfig("term.yaml");
    await startRun(["-c", file]);
    child?.kill("SIGTERM");
    expect(await child?.exited).toBe(0);
    expect(child?.stdout.some((l) => l.includes("SIGTERM received: shutting down"))).toBe(true);
  });

  test("a second signal during a slow shutdown exits 1 at once", async () => {
    // InfluxDB on a closed port keeps the event queued, so the flush waits for shutdownTimeoutMs.
    const influxPort = await freeTcpPort();
    const { file, udp } = await writeRunConfig("slow.yaml", {
      butlerSos: {
        influxdbConfig: {
          enable: true,
          host: "127.0.0.1",
          port: influxPort,
          version: 1,
          v1Config: { dbName: "x" },
        },
      },
      senseEvents: { outbox: { path: "", shutdownTimeoutMs: 60_000 } },
    });
    const apiUrl = await startRun(["-c", file]);
    await sendUdp(udp, [testDatagram(0)]);
    await waitFor("a queued item", async () => {
      const s = await getJson(`${apiUrl}/api/stats`);
      return s.destinations.influxdb.queued.memory > 0 ? true : undefined;
    });
    child?.kill("SIGTERM");
    await child?.waitForLine(/shutting down/);
    child?.kill("SIGINT");
    expect(await child?.exited).toBe(1);
    expect(child?.stdout.some((l) => l.includes("second SIGINT: exiting at once"))).toBe(true);
  });

  test("SIGHUP reloads the config file and logs the result", async () => {
    const { file, udp, api } = await writeRunConfig("hup.yaml");
    await startRun(["-c", file]);
    dir.write(
      "hup.yaml",
      runConfig({ udp, api }, { userEvents: { excludeUser: [{ directory: "A", userId: "b" }] } }),
    );
    child?.kill("SIGHUP");
    const line = await child?.waitForLine(/SIGHUP reload/);
    expect(line).toContain(
      '{"reloaded":true,"changed":["Butler-SOS.userEvents.excludeUser"],"udpRebound":false,"restartRequired":[]}',
    );
  });

  test("SIGHUP with a bad file keeps running on the old config", async () => {
    const { file, udp } = await writeRunConfig("hup-bad.yaml");
    const apiUrl = await startRun(["-c", file]);
    dir.write("hup-bad.yaml", "Butler-SOS:\n  userEvents:\n    enable: [oops\n");
    child?.kill("SIGHUP");
    const line = await child?.waitForLine(/SIGHUP reload/);
    expect(line).toContain('"reloaded":false');
    await sendUdp(udp, [testDatagram(0)]);
    const stats = await waitFor("the datagram", async () => {
      const s = await getJson(`${apiUrl}/api/stats`);
      return s.datagrams.accepted >= 1 ? s : undefined;
    });
    expect(stats.udp.address).toBe(`127.0.0.1:${udp}`);
  });
});
