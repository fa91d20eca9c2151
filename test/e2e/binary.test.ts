import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { VERSION } from "../../src/version.ts";
import { EVENT_KEYS } from "../support/events.ts";
import {
  BUN,
  type Child,
  freeTcpPort,
  freeUdpPort,
  getJson,
  runConfig,
  runToEnd,
  spawnChild,
  stopChild,
  tcpPortFree,
  tempDir,
  udpPortFree,
  waitFor,
  waitForReceived,
} from "../support/process.ts";

// Built into a temp directory, so a concurrent `bun scripts/build.ts` into dist/ is never disturbed.
const dir = tempDir("sense-events-binary-");
const BINARY = join(dir.path, "out", "sense-events-linux-x64");
let child: Child | undefined;

beforeAll(async () => {
  const build = await runToEnd([
    BUN,
    "scripts/build.ts",
    "--only",
    "linux",
    "--outdir",
    join(dir.path, "out"),
  ]);
  if (build.code !== 0) throw new Error(`build failed:\n${build.stdout}\n${build.stderr}`);
}, 120_000);
afterEach(async () => {
  await stopChild(child);
  child = undefined;
});
afterAll(() => dir.cleanup());

/** Starts the binary with `args` in the temp directory; resolves with it and the API URL from its log. */
async function startBinary(args: string[]): Promise<{ proc: Child; apiUrl: string }> {
  const proc = spawnChild([BINARY, ...args], { cwd: dir.path });
  const line = await proc.waitForLine(/\[api\] listening on /).catch(async (error) => {
    await stopChild(proc);
    throw error;
  });
  return { proc, apiUrl: line.slice(line.indexOf("http://")) };
}

/** Runs the binary's own `send-test-events` and checks it reports every datagram sent. */
async function sendTestEvents(port: number, count: number): Promise<void> {
  const result = await runToEnd([
    BINARY,
    "send-test-events",
    "--to",
    `127.0.0.1:${port}`,
    "--count",
    String(count),
    "--rate",
    "0",
  ]);
  expect(result.code).toBe(0);
  expect(result.stdout).toContain(`sent ${count} datagrams to 127.0.0.1:${port}`);
}

test("--version prints the product name and version", async () => {
  const result = await runToEnd([BINARY, "--version"]);
  expect({ code: result.code, stdout: result.stdout }).toStrictEqual({
    code: 0,
    stdout: "sense-events 1.0.0\n",
  });
  expect(VERSION).toBe("1.0.0");
});

describe("with a config file", () => {
  let udp: number;
  let apiUrl: string;
  let running: Child | undefined;

  beforeAll(async () => {
    udp = await freeUdpPort();
    const file = dir.write("config.yaml", runConfig({ udp, api: await freeTcpPort() }));
    ({ proc: running, apiUrl } = await startBinary(["-c", file]));
  });
  afterAll(() => stopChild(running));

  test("stores 40 send-test-events datagrams, newest first, with the reference §6 keys", async () => {
    await sendTestEvents(udp, 40);
    await waitForReceived(apiUrl, 40);
    const { events, next } = await getJson(`${apiUrl}/api/events`);
    expect({
      ids: events.map((e: { id: number }) => e.id),
      keys: [...new Set(events.map((e: object) => Object.keys(e).join(",")))],
      next,
    }).toStrictEqual({
      ids: Array.from({ length: 40 }, (_, i) => 40 - i),
      keys: [EVENT_KEYS.join(",")],
      next: null,
    });
    expect(events[39]).toMatchObject({
      source: "qseow-proxy-session",
      host: "sense-events-test",
      action: "Start session",
      userDirectory: "TEST",
      userId: "testuser1",
      remoteAddress: "127.0.0.1",
    });
  });

  test("two more datagrams leave testuser1 with an open session, visible in /api/sessions", async () => {
    await sendTestEvents(udp, 2);
    await waitForReceived(apiUrl, 42);
    const { sessions, count } = await getJson(`${apiUrl}/api/sessions`);
    expect(count).toBe(1);
    expect(sessions[0]).toMatchObject({
      host: "sense-events-test",
      userDirectory: "TEST",
      userId: "testuser1",
      openConnections: 1,
      appIds: ["a421f4a2-c311-4ef4-ba41-fe2e6a2b0d69"],
    });
  });

  test("the history export Worker is embedded: a CSV export streams every stored event (reference §19)", async () => {
    const csv = await waitFor("42 stored events", async () => {
      const text = await (await fetch(`${apiUrl}/api/history/events?format=csv`)).text();
      return text.split("\r\n").length === 44 ? text : undefined;
    });
    expect(csv).toStartWith("receivedAt,host,action,userDirectory,userId,");
  });

  test("/metrics counts the accepted events by source", async () => {
    const text = await (await fetch(`${apiUrl}/metrics`)).text();
    const accepted = text.split("\n").filter((l) => l.startsWith("sense_events_events_accepted_total{"));
    expect(accepted).toStrictEqual([
      'sense_events_events_accepted_total{source="qseow-proxy-session"} 21',
      'sense_events_events_accepted_total{source="qseow-proxy-connection"} 21',
      'sense_events_events_accepted_total{source="proxy-user-event"} 0',
    ]);
  });
});

const defaultPortsFree = (await udpPortFree(9997)) && (await tcpPortFree(9995));
if (!defaultPortsFree) {
  console.warn("binary.test.ts: skipping the no-argument run: UDP 9997 or TCP 9995 is already in use here");
}

describe("without arguments", () => {
  test.skipIf(!defaultPortsFree)(
    "listens on UDP 0.0.0.0:9997 and API 127.0.0.1:9995 and accepts send-test-events traffic",
    async () => {
      const started = await startBinary([]);
      child = started.proc;
      const { apiUrl } = started;
      expect(apiUrl).toBe("http://127.0.0.1:9995");
      expect(child.stdout.some((l) => l.includes("[udp] listening on 0.0.0.0:9997"))).toBe(true);
      await sendTestEvents(9997, 4);
      const stats = await waitForReceived(apiUrl, 4);
      // No external destination; the embedded history (reference §19, on by default) is the only lane.
      expect({
        accepted: stats.datagrams.accepted,
        destinations: Object.keys(stats.destinations),
      }).toStrictEqual({
        accepted: 4,
        destinations: ["history"],
      });
    },
  );
});
