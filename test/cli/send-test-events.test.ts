import { afterEach, describe, expect, test } from "bun:test";
import { sendTestEvents, TEST_USER_AGENTS, testDatagram } from "../../src/cli/send-test-events.ts";
import { waitFor } from "../support/wait.ts";

type Receiver = { port: number; datagrams: string[]; close(): void };

const receivers: Receiver[] = [];

async function receiver(hostname: string): Promise<Receiver> {
  const datagrams: string[] = [];
  const socket = await Bun.udpSocket({
    hostname,
    port: 0,
    socket: {
      data(_socket, data) {
        datagrams.push(data.toString("utf8"));
      },
    },
  });
  const r = { port: socket.port, datagrams, close: () => socket.close() };
  receivers.push(r);
  return r;
}

/** Waits until `n` datagrams arrived (loopback delivery is asynchronous). */
async function received(r: Receiver, n: number): Promise<string[]> {
  await waitFor(`${n} datagrams`, () => r.datagrams.length >= n);
  return r.datagrams;
}

/** A clock that only moves when the sender sleeps, by at least 1 ms per sleep like a real timer. */
function fakeClock() {
  let time = 1000;
  const sleeps: number[] = [];
  return {
    sleeps,
    now: () => time,
    sleep: async (ms: number) => {
      sleeps.push(ms);
      time += Math.max(1, ms);
    },
  };
}

afterEach(() => {
  for (const r of receivers.splice(0)) r.close();
});

const FIELDS = 8;

function fields(datagram: string): string[] {
  const parts = datagram.split(";");
  return [...parts.slice(0, FIELDS - 1), parts.slice(FIELDS - 1).join(";")];
}

describe("testDatagram", () => {
  test("gives each user Start session, Open, Close and Stop in order, then moves to the next user", () => {
    const rows = Array.from({ length: 12 }, (_, i) => fields(testDatagram(i)).slice(0, 5));
    const user = (n: number) => `testuser${n}`;
    const session = (n: number) => [
      ["/qseow-proxy-session/", "sense-events-test", "Start session", "TEST", user(n)],
      ["/qseow-proxy-connection/", "sense-events-test", "Open connection", "TEST", user(n)],
      ["/qseow-proxy-connection/", "sense-events-test", "Close connection", "TEST", user(n)],
      ["/qseow-proxy-session/", "sense-events-test", "Stop session", "TEST", user(n)],
    ];
    expect(rows).toStrictEqual([...session(1), ...session(2), ...session(3)]);
  });

  test("cycles users testuser1 to testuser10 and back", () => {
    const users = Array.from({ length: 12 }, (_, s) => fields(testDatagram(s * 4))[4]);
    expect(users).toStrictEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 1, 2].map((n) => `testuser${n}`));
  });

  test.each([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 39, 40, 41, 12345])(
    "datagram %d has 8 fields and no control characters",
    (i) => {
      const datagram = testDatagram(i);
      expect(datagram.split(";").length).toBeGreaterThanOrEqual(FIELDS);
      expect([...datagram].filter((c) => c < " " || c === "\x7f")).toStrictEqual([]);
    },
  );

  test("starts and stops the session with the user named in the message", () => {
    expect(fields(testDatagram(4)).slice(5)).toStrictEqual([
      "AppAccess",
      "/",
      "Start session for user 'TEST\\testuser2'",
    ]);
    expect(fields(testDatagram(7)).slice(5)).toStrictEqual([
      "AppAccess",
      "/",
      "Stop session for user 'TEST\\testuser2'",
    ]);
  });

  test("opens a connection with an app context carrying ?reloaduri= and the session's user agent", () => {
    const [, , , , , origin, context, message] = fields(testDatagram(5));
    expect(origin).toBe("AppAccess");
    expect(context).toMatch(
      /^\/app\/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\?reloaduri=https:\/\//,
    );
    expect(message).toBe(`App connection Opened for session '00000001'; UserAgent: '${TEST_USER_AGENTS[1]}'`);
  });

  test("closes the connection of the same app and session", () => {
    const open = fields(testDatagram(9));
    const close = fields(testDatagram(10));
    expect(close[6]).toBe(open[6]?.slice(0, open[6].indexOf("?")));
    expect(close[7]).toBe(`App connection Closed for session '00000002' UserAgent: '${TEST_USER_AGENTS[2]}'`);
  });

  test("uses the four reference §4.3 user agents in turn across sessions", () => {
    const agents = Array.from(
      { length: 5 },
      (_, s) => fields(testDatagram(s * 4 + 1))[7]?.split("UserAgent: '")[1],
    );
    expect(agents).toStrictEqual([...TEST_USER_AGENTS, TEST_USER_AGENTS[0]].map((ua) => `${ua}'`));
  });
});

describe("sendTestEvents", () => {
  test("sends the default 40 datagrams, four per user for ten users", async () => {
    const r = await receiver("127.0.0.1");
    const result = await sendTestEvents({ host: "127.0.0.1", port: r.port, rate: 0, out: () => {} });
    expect(result.sent).toBe(40);
    const datagrams = await received(r, 40);
    expect(datagrams.toSorted()).toStrictEqual(
      Array.from({ length: 40 }, (_, i) => testDatagram(i)).toSorted(),
    );
  });

  test.each(["127.0.0.1", "::1"])("delivers exactly --count well-formed datagrams to %s", async (host) => {
    const r = await receiver(host);
    await sendTestEvents({ host, port: r.port, count: 25, rate: 0, out: () => {} });
    const datagrams = await received(r, 25);
    expect(datagrams).toHaveLength(25);
    for (const datagram of datagrams) {
      const [type, , , directory] = fields(datagram);
      expect(["/qseow-proxy-session/", "/qseow-proxy-connection/"]).toContain(type as string);
      expect(directory).toBe("TEST");
    }
  });

  test.each([
    ["127.0.0.1", "127.0.0.1"],
    ["::1", "[::1]"],
  ])("prints a start line and a summary naming the count and %s as the target", async (host, shown) => {
    const r = await receiver(host);
    const lines: string[] = [];
    await sendTestEvents({ host, port: r.port, count: 3, rate: 0, out: (line) => lines.push(line) });
    expect(lines).toHaveLength(2);
    expect(lines[0]).toBe(`sending 3 datagrams to ${shown}:${r.port} at full speed`);
    expect(lines[1]).toMatch(
      new RegExp(
        `^sent 3 datagrams to ${shown.replace(/[[\]]/g, "\\$&")}:${r.port} in \\d+\\.\\d\\d s \\([\\d.]+/s\\)$`,
      ),
    );
  });

  test.each(["127.0.0.1", "::1"])("finishes without crashing when nothing listens on %s", async (host) => {
    const closed = await receiver(host);
    closed.close(); // frees the port, so the kernel answers with ICMP port unreachable
    const lines: string[] = [];
    const result = await sendTestEvents({
      host,
      port: closed.port,
      count: 30,
      rate: 1000,
      out: (l) => lines.push(l),
    });
    await Bun.sleep(50); // late ICMP errors must not surface as uncaught errors either
    expect(result.sent).toBe(30);
    expect(lines[1]).toStartWith("sent 30 datagrams to ");
  });

  test("paces datagrams at --rate: at 100/s datagram i leaves i × 10 ms after the first", async () => {
    const r = await receiver("127.0.0.1");
    const clock = fakeClock();
    const result = await sendTestEvents({
      host: "127.0.0.1",
      port: r.port,
      count: 20,
      rate: 100,
      out: () => {},
      ...clock,
    });
    expect({ sent: result.sent, elapsedMs: result.elapsedMs, sleeps: clock.sleeps }).toStrictEqual({
      sent: 20,
      elapsedMs: 190,
      sleeps: Array.from({ length: 19 }, () => 10),
    });
    expect(await received(r, 20)).toHaveLength(20);
  });

  test("reaches high rates by sending bursts per timer tick: 2000 datagrams at 20000/s in 100 ticks", async () => {
    const r = await receiver("127.0.0.1");
    const clock = fakeClock();
    const result = await sendTestEvents({
      host: "127.0.0.1",
      port: r.port,
      count: 2000,
      rate: 20_000,
      out: () => {},
      ...clock,
    });
    // Timers fire at most once a millisecond: 20 datagrams go per tick, not one.
    expect({ sent: result.sent, elapsedMs: result.elapsedMs, ticks: clock.sleeps.length }).toStrictEqual({
      sent: 2000,
      elapsedMs: 100,
      ticks: 100,
    });
  });
});
