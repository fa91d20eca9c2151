import { afterEach, describe, expect, test } from "bun:test";
import dgram from "node:dgram";
import { readFileSync } from "node:fs";
import { loadConfigFile } from "../../src/config/load.ts";
import { openSpool } from "../../src/destinations/spool-file.ts";
import { createLogger, silentLogger } from "../../src/log.ts";
import { type Service, startService } from "../../src/run/service.ts";
import {
  fetchJson,
  freeTcpPort,
  freeUdpPort,
  getJson,
  runConfig,
  sendUdp,
  type TempDir,
  tcpPortFree,
  tempDir,
  udpPortFree,
  waitForReceived,
} from "../support/process.ts";
import { waitFor } from "../support/wait.ts";

type Extra = Parameters<typeof runConfig>[1];

/** A format (a) Start session datagram for `LAB\<user>`. */
const startSession = (user: string) =>
  `/qseow-proxy-session/;node1;Start session;LAB;${user};AppAccess;/;Start session for user 'LAB\\${user}'`;

/** An InfluxDB 1.x config pointing at a free port where nothing listens (a destination that is down). */
async function downInfluxdb() {
  return {
    enable: true,
    host: "127.0.0.1",
    port: await freeTcpPort(),
    version: 1,
    v1Config: { dbName: "x" },
  };
}

interface Running {
  service: Service;
  apiUrl: string;
  lines: string[];
  file: string;
  dir: TempDir;
  ports: { udp: number; api: number };
}

const open: Running[] = [];

afterEach(async () => {
  for (const r of open.splice(0)) {
    await r.service.close();
    r.dir.cleanup();
  }
});

/** Writes a config on fresh ports, loads it like `run` does and starts the service in process. */
async function start(
  extra: Extra = {},
  options: { udpHost?: string; withFile?: boolean } = {},
): Promise<Running> {
  const dir = tempDir("sense-events-service-");
  const host = options.udpHost ?? "127.0.0.1";
  const ports = { udp: await freeUdpPort(host), api: await freeTcpPort() };
  const file = dir.write(
    "config.yaml",
    runConfig(ports, { ...extra, udpServerConfig: { serverHost: host, ...extra.udpServerConfig } }),
  );
  const loaded = await loadConfigFile(file);
  if (!loaded.ok) throw new Error(JSON.stringify(loaded.errors));
  const lines: string[] = [];
  const log = createLogger({ level: "debug", write: (line) => lines.push(line) });
  let service: Service;
  try {
    service = await startService({
      config: loaded.config,
      configFile: options.withFile === false ? null : file,
      log,
    });
  } catch (error) {
    dir.cleanup();
    throw error;
  }
  const running = { service, apiUrl: service.apiUrl ?? "", lines, file, dir, ports };
  open.push(running);
  return running;
}

/** Rewrites the running config file. */
function rewrite(r: Running, ports: { udp: number; api: number }, extra: Extra = {}): void {
  r.dir.write("config.yaml", runConfig(ports, extra));
}

/** POSTs a reload and returns status and body. */
function reload(r: Running): Promise<{ status: number; body: unknown }> {
  return fetchJson(`${r.apiUrl}/api/config/reload`, { method: "POST" });
}

/** Sends `messages` and waits until /api/stats has counted `total` received datagrams; returns the counters. */
async function sendAndCount(r: Running, messages: (string | Uint8Array)[], total = messages.length) {
  await sendUdp(r.ports.udp, messages);
  return (await waitForReceived(r.apiUrl, total)).datagrams;
}

const zeroCounters = {
  received: 0,
  accepted: 0,
  excluded: 0,
  processingErrors: 0,
  dropped: { source_not_allowed: 0, too_large: 0, rate_limited: 0, queue_full: 0 },
  rejected: { unknown_type: 0, malformed: 0 },
};

describe("ingest limits (reference §18 items 26–27)", () => {
  test.each([
    ["127.0.0.1", { accepted: 1, dropped: 0 }],
    ["10.1.2.0/24", { accepted: 0, dropped: 1 }],
  ])("with allowedSources [%s] a datagram from 127.0.0.1 gives %o", async (entry, expected) => {
    const r = await start({ udpServerConfig: { enableSourceValidation: true, allowedSources: [entry] } });
    const counters = await sendAndCount(r, [startSession("anna")]);
    expect(counters).toStrictEqual({
      ...zeroCounters,
      received: 1,
      accepted: expected.accepted,
      dropped: { ...zeroCounters.dropped, source_not_allowed: expected.dropped },
    });
  });

  test("an allow-list with no usable entry fails closed and /health reports degraded", async () => {
    const r = await start({ udpServerConfig: { enableSourceValidation: true, allowedSources: [] } });
    const counters = await sendAndCount(r, [startSession("anna")]);
    const response = await fetchJson(`${r.apiUrl}/health`);
    expect({
      status: response.status,
      health: response.body.status,
      dropped: counters.dropped.source_not_allowed,
      accepted: counters.accepted,
    }).toStrictEqual({ status: 200, health: "degraded", dropped: 1, accepted: 0 });
  });

  test("a datagram over maxMessageSize is dropped as too_large", async () => {
    const r = await start({ udpServerConfig: { maxMessageSize: 100 } });
    const counters = await sendAndCount(r, [
      `${startSession("anna")};${"x".repeat(100)}`,
      startSession("bob"),
    ]);
    expect(counters).toStrictEqual({
      ...zeroCounters,
      received: 2,
      accepted: 1,
      dropped: { ...zeroCounters.dropped, too_large: 1 },
    });
  });

  test("datagrams past the rate limit are dropped as rate_limited", async () => {
    const r = await start({ udpServerConfig: { rateLimit: { enable: true, maxMessagesPerMinute: 2 } } });
    const counters = await sendAndCount(r, ["a", "b", "c", "d"].map(startSession));
    expect(counters).toStrictEqual({
      ...zeroCounters,
      received: 4,
      accepted: 2,
      dropped: { ...zeroCounters.dropped, rate_limited: 2 },
    });
  });
});

describe("rate limit across a reload", () => {
  test("a reload that keeps the rate limit keeps its window (regression: every reload admitted a fresh window)", async () => {
    const limit = {
      udpServerConfig: { serverHost: "127.0.0.1", rateLimit: { enable: true, maxMessagesPerMinute: 2 } },
    };
    const r = await start(limit);
    await sendAndCount(r, ["a", "b"].map(startSession));
    rewrite(r, r.ports, { ...limit, userEvents: { excludeUser: [{ directory: "x", userId: "y" }] } });
    expect((await reload(r)).status).toBe(200);
    const counters = await sendAndCount(r, ["c", "d"].map(startSession), 4);
    expect({ accepted: counters.accepted, rateLimited: counters.dropped.rate_limited }).toStrictEqual({
      accepted: 2,
      rateLimited: 2,
    });
  });
});

describe("UDP binding and stats", () => {
  test("bound on :: an IPv4 sender is shown as IPv4 (reference §18 item 23)", async () => {
    const r = await start({}, { udpHost: "::" });
    await sendAndCount(r, [startSession("anna")]);
    const { events } = await getJson(`${r.apiUrl}/api/events`);
    expect({ address: r.service.udpAddress, remoteAddress: events[0].remoteAddress }).toStrictEqual({
      address: `[::]:${r.ports.udp}`,
      remoteAddress: "127.0.0.1",
    });
  });

  test("stats report the requested and effective receive buffer and the kernel counter (reference §18 item 24)", async () => {
    const r = await start({ senseEvents: { udp: { receiveBufferBytes: 262144 } } });
    const { udp } = await getJson(`${r.apiUrl}/api/stats`);
    expect({
      address: udp.address,
      requested: udp.receiveBufferRequested,
      effective: typeof udp.receiveBufferEffective,
      kernel: typeof udp.kernelRcvbufErrors,
      sinceStart: udp.kernelRcvbufErrorsSinceStart,
    }).toStrictEqual({
      address: `127.0.0.1:${r.ports.udp}`,
      requested: 262144,
      effective: "number",
      kernel: process.platform === "linux" ? "number" : "object",
      sinceStart: process.platform === "linux" ? 0 : null,
    });
    // The usable size, as the request is meant (not Linux's doubled report): granted up to rmem_max.
    if (process.platform === "linux") {
      const rmemMax = Number(readFileSync("/proc/sys/net/core/rmem_max", "utf8"));
      expect(udp.receiveBufferEffective).toBe(Math.min(262144, rmemMax));
    }
  });

  test("/health is 200 ok while UDP listens (reference §18 item 55)", async () => {
    const r = await start();
    const { status, body } = await fetchJson(`${r.apiUrl}/health`);
    expect({ status, body: { ...body, uptimeSeconds: 0 } }).toStrictEqual({
      status: 200,
      body: {
        status: "ok",
        version: "1.0.0",
        uptimeSeconds: 0,
        udp: { listening: true, address: `127.0.0.1:${r.ports.udp}` },
        // The embedded history (reference §19, on by default) is a destination lane of its own.
        destinations: { history: "up" },
      },
    });
  });

  test("/health is 503 unavailable with userEvents.enable: false", async () => {
    const r = await start({ userEvents: { enable: false } });
    const { status, body } = await fetchJson(`${r.apiUrl}/health`);
    expect({
      status,
      health: body.status,
      udp: body.udp,
      address: r.service.udpAddress,
    }).toStrictEqual({
      status: 503,
      health: "unavailable",
      udp: { listening: false, address: null },
      address: null,
    });
  });
});

describe("reload (reference §18 items 61–62)", () => {
  test("an excludeUser change is applied, listed, and keeps stored events", async () => {
    const r = await start();
    await sendAndCount(r, [startSession("anna")]);
    rewrite(r, r.ports, { userEvents: { excludeUser: [{ directory: "lab", userId: "ANNA" }] } });
    const outcome = await reload(r);
    const counters = await sendAndCount(r, [startSession("anna"), startSession("bob")], 3);
    const { events } = await getJson(`${r.apiUrl}/api/events`);
    expect({
      outcome,
      excluded: counters.excluded,
      events: events.map((e: { id: number; userId: string }) => `${e.id}:${e.userId}`),
    }).toStrictEqual({
      outcome: {
        status: 200,
        body: {
          reloaded: true,
          changed: ["Butler-SOS.userEvents.excludeUser"],
          udpRebound: false,
          restartRequired: [],
        },
      },
      excluded: 1,
      events: ["2:bob", "1:anna"],
    });
  });

  test("a new UDP port is rebound and datagrams arrive on the new port only", async () => {
    const r = await start();
    const newPort = await freeUdpPort();
    rewrite(r, { udp: newPort, api: r.ports.api });
    const outcome = await reload(r);
    await sendUdp(r.ports.udp, [startSession("old")]);
    await sendUdp(newPort, [startSession("new")]);
    await waitForReceived(r.apiUrl, 1);
    const { events } = await getJson(`${r.apiUrl}/api/events`);
    expect({
      outcome,
      address: r.service.udpAddress,
      users: events.map((e: { userId: string }) => e.userId),
    }).toStrictEqual({
      outcome: {
        status: 200,
        body: {
          reloaded: true,
          changed: ["Butler-SOS.userEvents.udpServerConfig.portUserActivityEvents"],
          udpRebound: true,
          restartRequired: [],
        },
      },
      address: `127.0.0.1:${newPort}`,
      users: ["new"],
    });
  });

  test("a host change on the same port closes the old socket first and rebinds", async () => {
    const r = await start();
    rewrite(r, r.ports, { udpServerConfig: { serverHost: "::" } });
    const outcome = await reload(r);
    await sendAndCount(r, [startSession("anna")]);
    expect({ outcome, address: r.service.udpAddress }).toStrictEqual({
      outcome: {
        status: 200,
        body: {
          reloaded: true,
          changed: ["Butler-SOS.userEvents.udpServerConfig.serverHost"],
          udpRebound: true,
          restartRequired: [],
        },
      },
      address: `[::]:${r.ports.udp}`,
    });
  });

  test("an api.port change is listed in restartRequired and the API stays where it was", async () => {
    const r = await start();
    rewrite(r, { udp: r.ports.udp, api: await freeTcpPort() });
    const outcome = await reload(r);
    expect(outcome).toStrictEqual({
      status: 200,
      body: {
        reloaded: true,
        changed: ["sense-events.api.port"],
        udpRebound: false,
        restartRequired: ["sense-events.api.port"],
      },
    });
    expect((await fetch(`${r.apiUrl}/health`)).status).toBe(200);
  });

  test("a history path change waits for a restart: /api/config keeps showing the file in use", async () => {
    const r = await start();
    const before = (await getJson(`${r.apiUrl}/api/config`)) as { "sense-events": { history: unknown } };
    rewrite(r, r.ports, { senseEvents: { history: { path: "elsewhere.sqlite" } } });
    const outcome = await reload(r);
    const after = (await getJson(`${r.apiUrl}/api/config`)) as { "sense-events": { history: unknown } };
    expect({ outcome, history: after["sense-events"].history }).toStrictEqual({
      outcome: {
        status: 200,
        body: {
          reloaded: true,
          changed: ["sense-events.history.path"],
          udpRebound: false,
          restartRequired: ["sense-events.history.path"],
        },
      },
      history: before["sense-events"].history,
    });
  });

  test("an invalid file is refused with 422 and the old config stays in force", async () => {
    const r = await start({ userEvents: { excludeUser: [{ directory: "LAB", userId: "anna" }] } });
    rewrite(r, { udp: r.ports.udp, api: r.ports.api }, { udpServerConfig: { maxMessageSize: 0 } });
    const outcome = await reload(r);
    const counters = await sendAndCount(r, [startSession("anna"), startSession("bob")]);
    const config = await getJson(`${r.apiUrl}/api/config`);
    expect({
      outcome,
      excluded: counters.excluded,
      accepted: counters.accepted,
      maxMessageSize: config["Butler-SOS"].userEvents.udpServerConfig.maxMessageSize,
    }).toStrictEqual({
      outcome: {
        status: 422,
        body: {
          reloaded: false,
          errors: [
            {
              path: "Butler-SOS.userEvents.udpServerConfig.maxMessageSize",
              message: "must be an integer from 1 to 65507 (got 0)",
            },
          ],
        },
      },
      excluded: 1,
      accepted: 1,
      maxMessageSize: 65507,
    });
  });

  test("a reload to a UDP port in use is refused with 422 and the old binding keeps working", async () => {
    const r = await start();
    const blocker = dgram.createSocket("udp4");
    await new Promise<void>((done) => blocker.bind(0, "127.0.0.1", done));
    const taken = blocker.address().port;
    try {
      rewrite(r, { udp: taken, api: r.ports.api });
      const outcome = await reload(r);
      const counters = await sendAndCount(r, [startSession("anna")]);
      expect({ outcome, address: r.service.udpAddress, accepted: counters.accepted }).toStrictEqual({
        outcome: {
          status: 422,
          body: {
            reloaded: false,
            errors: [
              {
                path: "Butler-SOS.userEvents.udpServerConfig",
                message: `cannot bind UDP 127.0.0.1:${taken}: EADDRINUSE`,
              },
            ],
          },
        },
        address: `127.0.0.1:${r.ports.udp}`,
        accepted: 1,
      });
    } finally {
      blocker.close();
    }
  });

  test("a receiveBufferBytes change rebinds the same port, which keeps receiving", async () => {
    const r = await start();
    rewrite(r, r.ports, { senseEvents: { udp: { receiveBufferBytes: 262144 } } });
    const outcome = await reload(r);
    await sendAndCount(r, [startSession("anna")]);
    const { udp } = await getJson(`${r.apiUrl}/api/stats`);
    expect({ outcome, address: udp.address, requested: udp.receiveBufferRequested }).toStrictEqual({
      outcome: {
        status: 200,
        body: {
          reloaded: true,
          changed: ["sense-events.udp.receiveBufferBytes"],
          udpRebound: true,
          restartRequired: [],
        },
      },
      address: `127.0.0.1:${r.ports.udp}`,
      requested: 262144,
    });
  });

  test("enabling user events by reload starts the listener and the kernel drop counter", async () => {
    const r = await start({ userEvents: { enable: false } });
    rewrite(r, r.ports);
    const outcome = await reload(r);
    await sendAndCount(r, [startSession("anna")]);
    const health = await fetch(`${r.apiUrl}/health`);
    const { udp } = await getJson(`${r.apiUrl}/api/stats`);
    expect({
      outcome,
      health: health.status,
      kernel: typeof udp.kernelRcvbufErrors,
    }).toStrictEqual({
      outcome: {
        status: 200,
        body: {
          reloaded: true,
          changed: ["Butler-SOS.userEvents.enable"],
          udpRebound: true,
          restartRequired: [],
        },
      },
      health: 200,
      kernel: process.platform === "linux" ? "number" : "object",
    });
  });

  test("a new api.token applies to the next request", async () => {
    const r = await start();
    rewrite(r, r.ports, { senseEvents: { api: { port: r.ports.api, token: "s3cret" } } });
    const outcome = await reload(r);
    const requests: [string, Record<string, string>][] = [
      [`${r.apiUrl}/api/stats`, {}],
      [`${r.apiUrl}/api/stats`, { authorization: "Bearer s3cret" }],
      [`${r.apiUrl}/health`, {}],
    ];
    const statuses = await Promise.all(
      requests.map(async ([url, headers]) => (await fetch(url, { headers })).status),
    );
    expect({ outcome, statuses }).toStrictEqual({
      outcome: {
        status: 200,
        body: { reloaded: true, changed: ["sense-events.api.token"], udpRebound: false, restartRequired: [] },
      },
      statuses: [401, 200, 200],
    });
  });

  test("without a config file a reload answers 409", async () => {
    const r = await start({}, { withFile: false });
    expect(await reload(r)).toStrictEqual({
      status: 409,
      body: { error: "no config file: running on the embedded default" },
    });
  });
});

describe("bad input", () => {
  test("rejected datagrams are counted, listed in /api/rejected, and the receiver keeps accepting", async () => {
    const r = await start();
    const junk = [
      new Uint8Array([0xff, 0xfe, 0x00, 0x80]),
      " \r\n",
      "/qseow-proxy/;x",
      "/qseow-proxy-session/;host;Start session",
    ];
    const counters = await sendAndCount(r, [...junk, startSession("anna")]);
    const { rejected, counts } = await getJson(`${r.apiUrl}/api/rejected`);
    expect({
      counters,
      counts,
      details: rejected.map((e: { detail: string }) => e.detail),
    }).toStrictEqual({
      counters: { ...zeroCounters, received: 5, accepted: 1, rejected: { unknown_type: 2, malformed: 2 } },
      counts: { unknown_type: 2, malformed: 2 },
      details: [
        "qseow-proxy-session needs 8 fields, got 3",
        'unknown type "/qseow-proxy/"',
        "empty datagram",
        'unknown type "\uFFFD\uFFFD\uFFFD"',
      ],
    });
  });
});

describe("startup failures", () => {
  test("an API port in use fails startup naming the address and releases the UDP port", async () => {
    const blocker = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response("") });
    const dir = tempDir("sense-events-service-");
    try {
      const udp = await freeUdpPort();
      const file = dir.write("config.yaml", runConfig({ udp, api: blocker.port ?? 0 }));
      const loaded = await loadConfigFile(file);
      if (!loaded.ok) throw new Error(JSON.stringify(loaded.errors));
      const log = createLogger({ write: () => {} });
      const failure = await startService({ config: loaded.config, configFile: file, log }).then(
        () => "started",
        (error: Error) => error.message,
      );
      expect({ failure, udpFree: await udpPortFree(udp, "127.0.0.1") }).toStrictEqual({
        failure: `cannot start the API on 127.0.0.1:${blocker.port}: Failed to start server. Is port ${blocker.port} in use?`,
        udpFree: true,
      });
    } finally {
      await blocker.stop(true);
      dir.cleanup();
    }
  });
});

describe("shutdown (reference §9)", () => {
  test("close() ends SSE streams and frees the UDP and API ports", async () => {
    const r = await start();
    const response = await fetch(`${r.apiUrl}/api/events/stream`);
    const reader = (response.body as ReadableStream<Uint8Array>).getReader();
    await reader.read();
    await r.service.close();
    let done = false;
    while (!done) done = (await reader.read()).done;
    const udpFree = await udpPortFree(r.ports.udp, "127.0.0.1");
    const apiFree = await tcpPortFree(r.ports.api);
    expect({ done, udpFree, apiFree }).toStrictEqual({ done: true, udpFree: true, apiFree: true });
  });

  test("items a down destination could not take are spooled at shutdown and queued again after a restart", async () => {
    const spoolDir = tempDir("sense-events-spool-");
    try {
      const extra: Extra = {
        butlerSos: {
          influxdbConfig: await downInfluxdb(),
        },
        senseEvents: { outbox: { path: `${spoolDir.path}/outbox.sqlite`, shutdownTimeoutMs: 100 } },
      };
      const first = await start(extra);
      await sendAndCount(first, [startSession("anna")]);
      const health = await waitFor("a retrying destination", async () => {
        const h = await getJson(`${first.apiUrl}/health`);
        return h.destinations.influxdb === "retrying" ? h : undefined;
      });
      await first.service.close();
      const second = await start(extra);
      const { destinations } = await getJson(`${second.apiUrl}/api/stats`);
      const queued = destinations.influxdb.queued;
      expect({ health: health.status, queued: queued.memory + queued.spool }).toStrictEqual({
        health: "degraded",
        queued: 1,
      });
    } finally {
      spoolDir.cleanup();
    }
  });

  test("the last partial interval of event counts is spooled at shutdown, not lost", async () => {
    const spoolDir = tempDir("sense-events-spool-");
    const spoolFile = `${spoolDir.path}/outbox.sqlite`;
    try {
      const first = await start({
        butlerSos: {
          influxdbConfig: await downInfluxdb(),
          // A long interval: only the shutdown flush can write these counts.
          qlikSenseEvents: {
            influxdb: { enable: true, writeFrequency: 600_000 },
            eventCount: { enable: true },
          },
        },
        userEvents: { sendToInfluxdb: { enable: false } },
        senseEvents: { outbox: { path: spoolFile, shutdownTimeoutMs: 100 } },
      });
      await sendAndCount(first, [startSession("anna"), startSession("bo")]);
      await first.service.close();
      const spool = openSpool(spoolFile, silentLogger);
      const lines = spool?.peek("influxdb", 10).map((row) => row.payload) ?? [];
      spool?.close();
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(
        /^event_count,event_type=user,host=node1,source=qseow-proxy-session,subsystem=AppAccess counter=2 \d+$/,
      );
    } finally {
      spoolDir.cleanup();
    }
  });
});

describe("SSE", () => {
  test("a stream through the real server receives a live event", async () => {
    const r = await start();
    const controller = new AbortController();
    const response = await fetch(`${r.apiUrl}/api/events/stream`, { signal: controller.signal });
    const reader = (response.body as ReadableStream<Uint8Array>).getReader();
    const decoder = new TextDecoder();
    try {
      await sendUdp(r.ports.udp, [startSession("anna")]);
      let text = "";
      const frame = await waitFor("an SSE frame", async () => {
        const { value } = await reader.read();
        text += decoder.decode(value);
        const start = text.indexOf("id: ");
        return start >= 0 && text.indexOf("\n\n", start) > 0 ? text.slice(start) : undefined;
      });
      const lines = frame.split("\n");
      expect(lines.slice(0, 2)).toStrictEqual(["id: 1", "event: user-event"]);
      expect(JSON.parse((lines[2] ?? "").slice("data: ".length))).toMatchObject({ id: 1, userId: "anna" });
    } finally {
      controller.abort();
    }
  });
});

describe("reload keeps a network-facing API protected (reference §14.4)", () => {
  test("a reload that empties the token while api.host waits for a restart is refused, and the API still asks for it", async () => {
    const api = { host: "0.0.0.0", token: "s3cret" };
    const r = await start({ senseEvents: { api: { ...api, port: await freeTcpPort() } } });
    const ports = { udp: r.ports.udp, api: Number(new URL(r.apiUrl).port) };
    // The file now says loopback without a token, which alone is valid; but the host change waits for a restart.
    rewrite(r, ports, { senseEvents: { api: { host: "127.0.0.1", port: ports.api, token: "" } } });
    const outcome = await fetchJson(`${r.apiUrl}/api/config/reload`, {
      method: "POST",
      headers: { Authorization: "Bearer s3cret" },
    });
    const unauthenticated = (await fetch(`${r.apiUrl}/api/config`)).status;
    expect({ status: outcome.status, path: outcome.body.errors?.[0]?.path, unauthenticated }).toStrictEqual({
      status: 422,
      path: "sense-events.api.token",
      unauthenticated: 401,
    });
  });
});

describe("api.enable waits for a restart (reference §14.4)", () => {
  test("a reload that turns the API off lists api.enable under restartRequired and keeps showing the API in force", async () => {
    const r = await start();
    rewrite(r, r.ports, { senseEvents: { api: { enable: false, port: r.ports.api } } });
    const outcome = await reload(r);
    const config = await getJson(`${r.apiUrl}/api/config`);
    expect({
      restartRequired: (outcome.body as { restartRequired: string[] }).restartRequired,
      shownEnable: config["sense-events"].api.enable,
    }).toStrictEqual({ restartRequired: ["sense-events.api.enable"], shownEnable: true });
  });
});

describe("shutdown during a reload (reference §9, §14.4)", () => {
  test.each([0, 1, 2])(
    "close() %d ticks into a reload that moves UDP: no listener is left open, and no rebind is claimed that did not happen",
    async (ticks) => {
      const r = await start();
      const moved = await freeUdpPort();
      rewrite(r, { udp: moved, api: r.ports.api });
      const reloading = r.service.reload();
      for (let i = 0; i < ticks; i++) await Bun.sleep(0);
      await r.service.close();
      const outcome = await reloading;
      const body = outcome.body as { reloaded: boolean; udpRebound?: boolean };
      expect({
        claimedWithoutRebind: body.reloaded && body.udpRebound !== true,
        old: await udpPortFree(r.ports.udp, "127.0.0.1"),
        moved: await udpPortFree(moved, "127.0.0.1"),
      }).toStrictEqual({ claimedWithoutRebind: false, old: true, moved: true });
    },
  );
});

describe("reload from an empty file (reference §14.4)", () => {
  test("a file caught truncated mid-write is refused and the running config kept", async () => {
    const r = await start({ userEvents: { excludeUser: [{ directory: "LAB", userId: "anna" }] } });
    r.dir.write("config.yaml", "");
    const outcome = await reload(r);
    expect({ status: outcome.status, udp: r.service.udpAddress }).toStrictEqual({
      status: 422,
      udp: `127.0.0.1:${r.ports.udp}`,
    });
  });
});
