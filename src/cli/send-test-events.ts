import { lookup } from "node:dns/promises";
import { hostPort } from "../net.ts";

/** Options for `sendTestEvents`; `rate` is datagrams per second and 0 means as fast as possible. */
export type SendTestEventsOptions = {
  host: string;
  port: number;
  /** Number of datagrams to send. @default 40 */
  count?: number;
  /** Datagrams per second; 0 = unthrottled. @default 10 */
  rate?: number;
  /** Receives the progress and summary lines. */
  out: (line: string) => void;
  /** Monotonic clock in ms (tests inject one). @default performance.now */
  now?: () => number;
  /** Waits `ms` milliseconds (tests inject one that advances their clock). @default Bun.sleep */
  sleep?: (ms: number) => Promise<unknown>;
};

/** The four user agents of reference §4.3, used in turn by consecutive simulated sessions. */
export const TEST_USER_AGENTS = [
  "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/119.0.0.0 Safari/537.36",
  "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/119.0.0.0 Safari/537.36 Edg/119.0.2151.72",
  "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Safari/605.1.15",
  "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1.2 Mobile/15E148 Safari/604.1",
] as const;

const TEST_APPS = ["a421f4a2-c311-4ef4-ba41-fe2e6a2b0d69", "6a6b1e54-0f3c-4d7e-9b2a-3c1d2e4f5a6b"] as const;
const HOST = "sense-events-test";
const USERS = 10;
const BATCH = 256;

/**
 * Returns the format (a) datagram with the given 0-based index. Datagrams come in sessions of four
 * (Start session, Open connection, Close connection, Stop session); session n belongs to
 * `TEST\testuser<n % 10 + 1>`, so user k's four events are consecutive and then the next user follows.
 */
export function testDatagram(index: number): string {
  const session = Math.floor(index / 4);
  const user = `testuser${(session % USERS) + 1}`;
  const app = TEST_APPS[session % TEST_APPS.length] as string;
  const ua = TEST_USER_AGENTS[session % TEST_USER_AGENTS.length] as string;
  const sessionId = session.toString(16).padStart(8, "0");
  const head = `;${HOST}`;
  const tail = `;TEST;${user};AppAccess`;
  switch (index % 4) {
    case 0:
      return `/qseow-proxy-session/${head};Start session${tail};/;Start session for user 'TEST\\${user}'`;
    case 1:
      return `/qseow-proxy-connection/${head};Open connection${tail};/app/${app}?reloaduri=https://${HOST}/sense/app/${app};App connection Opened for session '${sessionId}'; UserAgent: '${ua}'`;
    case 2:
      return `/qseow-proxy-connection/${head};Close connection${tail};/app/${app};App connection Closed for session '${sessionId}' UserAgent: '${ua}'`;
    default:
      return `/qseow-proxy-session/${head};Stop session${tail};/;Stop session for user 'TEST\\${user}'`;
  }
}

/**
 * Sends `count` test datagrams to host:port, paced at `rate` per second in small bursts per timer tick,
 * then reports the summary line through `out`.
 */
export async function sendTestEvents(
  options: SendTestEventsOptions,
): Promise<{ sent: number; elapsedMs: number }> {
  const count = options.count ?? 40;
  const rate = options.rate ?? 10;
  const { address, family } = await lookup(options.host);
  const now = options.now ?? (() => performance.now());
  const sleep = options.sleep ?? Bun.sleep;
  const target = hostPort(options.host, options.port);

  // ICMP "port unreachable" comes back as a socket error; without a handler it would crash the process.
  let refused = 0;
  const socket = await Bun.udpSocket({
    hostname: family === 6 ? "::" : "0.0.0.0",
    port: 0,
    socket: {
      error() {
        refused++;
      },
    },
  });
  options.out(`sending ${count} datagrams to ${target} at ${rate === 0 ? "full speed" : `${rate}/s`}`);
  const start = now();
  let sent = 0;
  try {
    while (sent < count) {
      const elapsed = now() - start;
      // The first datagram goes at t=0, datagram i at i/rate seconds.
      const due = rate === 0 ? count : Math.min(count, Math.floor((elapsed * rate) / 1000) + 1);
      while (sent < due) {
        const n = Math.min(BATCH, due - sent);
        const packets: (number | string)[] = [];
        for (let i = 0; i < n; i++) packets.push(testDatagram(sent + i), options.port, address);
        const accepted = socket.sendMany(packets);
        sent += accepted;
        // Fewer accepted means the socket buffer is full: give the kernel a moment before the rest.
        if (accepted < n) await sleep(1);
        else if (rate === 0) await new Promise((resolve) => setImmediate(resolve));
      }
      if (sent < count) await sleep(Math.max(0, start + (sent * 1000) / rate - now()));
    }
  } finally {
    socket.close();
  }
  const elapsedMs = now() - start;
  const seconds = elapsedMs / 1000;
  const perSecond = seconds > 0 ? (sent / seconds).toFixed(1) : "∞";
  options.out(`sent ${sent} datagrams to ${target} in ${seconds.toFixed(2)} s (${perSecond}/s)`);
  if (refused > 0) options.out(`warning: ${target} refused ${refused} datagrams (is anything listening?)`);
  return { sent, elapsedMs };
}
