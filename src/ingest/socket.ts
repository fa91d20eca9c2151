import dgram from "node:dgram";
import { lookup } from "node:dns/promises";
import { isIP } from "node:net";
import type { Logger } from "../log.ts";
import { LogWindow } from "../throttle.ts";

// node:dgram, not Bun.udpSocket: only dgram can set SO_RCVBUF, and with it nothing was lost at
// 100k datagrams/s where Bun.udpSocket's default buffer lost some (docs/benchmarks.md, "UDP socket choice").

/** A bound UDP listener (spec §8.1, §8.2). */
export interface UdpIngest {
  /** The bound address with the real port: `0.0.0.0:9997` or `[::]:9997`. */
  readonly address: string;
  /** The bound port. */
  readonly port: number;
  /** False after a socket error until a rebind succeeds (and after close). */
  readonly listening: boolean;
  /** The requested `SO_RCVBUF` size in bytes. */
  readonly receiveBufferRequested: number;
  /** The size the kernel reports (Linux: doubled, capped at 2 × net.core.rmem_max), or null if unknown. */
  readonly receiveBufferEffective: number | null;
  /** Closes the socket and stops rebinding. */
  close(): Promise<void>;
}

/** Options for {@link startUdpIngest}. */
export interface UdpIngestOptions {
  /** IP literal or hostname (first address); `::` binds dual-stack where the OS allows. */
  host: string;
  /** Port; 0 picks a free one (kept across rebinds). */
  port: number;
  /** Requested `SO_RCVBUF` in bytes. */
  receiveBufferBytes: number;
  /** Called synchronously for each datagram; exceptions are logged and never stop the socket. */
  onDatagram: (msg: Buffer, address: string, port: number) => void;
  log: Logger;
  /** Delay between rebind attempts after a socket error. @default 5000 */
  rebindDelayMs?: number;
  /** Creates the socket (tests inject one to reach it); defaults to `dgram.createSocket`. */
  createSocket?: (options: dgram.SocketOptions) => dgram.Socket;
}

/** Formats `host:port`, bracketing IPv6. */
const formatAddress = (ip: string, port: number): string =>
  ip.includes(":") ? `[${ip}]:${port}` : `${ip}:${port}`;

/** Resolves `host` to one IP literal (an IP is returned as is). */
async function resolveHost(host: string): Promise<string> {
  if (isIP(host) !== 0) return host;
  try {
    return (await lookup(host)).address;
  } catch (err) {
    throw new Error(`cannot bind UDP ${host}: ${errorCode(err)}`, { cause: err });
  }
}

/** Binds a new socket, resolving once listening (with `attach` already run) or rejecting with the bind error. */
function bindSocket(
  options: UdpIngestOptions,
  ip: string,
  port: number,
  attach: (socket: dgram.Socket) => void,
): Promise<dgram.Socket> {
  const create = options.createSocket ?? dgram.createSocket;
  return new Promise((resolve, reject) => {
    let socket: dgram.Socket;
    try {
      socket = create({
        type: isIP(ip) === 6 ? "udp6" : "udp4",
        ipv6Only: false,
        recvBufferSize: options.receiveBufferBytes,
      });
    } catch (err) {
      reject(err);
      return;
    }
    const onError = (err: Error) => {
      socket.removeListener("listening", onListening);
      try {
        socket.close();
      } catch {
        // already closed by the failed bind
      }
      reject(err);
    };
    const onListening = () => {
      // Attach the permanent handlers before dropping the bind one: a socket never lacks an error handler.
      attach(socket);
      socket.removeListener("error", onError);
      resolve(socket);
    };
    socket.once("error", onError);
    socket.once("listening", onListening);
    try {
      socket.bind(port, ip);
    } catch (err) {
      onError(err as Error);
    }
  });
}

/**
 * Binds the user-events UDP listener. Rejects with `cannot bind UDP <address>: <cause>` at
 * startup; a later socket error is logged and rebinding is retried every `rebindDelayMs`.
 */
export async function startUdpIngest(options: UdpIngestOptions): Promise<UdpIngest> {
  const { log, onDatagram, receiveBufferBytes } = options;
  const rebindDelayMs = options.rebindDelayMs ?? 5000;
  const ip = await resolveHost(options.host);
  let listening = true;
  let closed = false;
  let rebindTimer: ReturnType<typeof setTimeout> | undefined;
  const callbackErrors = new LogWindow();

  const onMessage = (msg: Buffer, rinfo: dgram.RemoteInfo): void => {
    try {
      onDatagram(msg, rinfo.address, rinfo.port);
    } catch (err) {
      const hit = callbackErrors.hit();
      if (hit.log) {
        const more = hit.suppressedBefore > 0 ? ` (${hit.suppressedBefore} more in the previous 60 s)` : "";
        log.error(
          `[udp] datagram handler failed: ${err instanceof Error ? err.message : String(err)}${more}`,
        );
      }
    }
  };

  const attach = (s: dgram.Socket): void => {
    s.on("message", onMessage);
    s.on("error", (err) => onSocketError(s, err));
  };

  const scheduleRebind = (): void => {
    rebindTimer = setTimeout(async () => {
      rebindTimer = undefined;
      if (closed) return;
      try {
        const next = await bindSocket(options, ip, port, attach);
        if (closed) {
          next.close();
          return;
        }
        socket = next;
        effective = effectiveBuffer(next);
        listening = true;
        log.info(`[udp] listening again on ${address}`);
      } catch (err) {
        log.error(`[udp] cannot rebind UDP ${address}: ${errorCode(err)}; retrying in ${rebindDelayMs} ms`);
        scheduleRebind();
      }
    }, rebindDelayMs);
    rebindTimer.unref();
  };

  const onSocketError = (s: dgram.Socket, err: Error): void => {
    // Ignore late errors from a socket already replaced or closed.
    if (s !== socket || !listening || closed) return;
    listening = false;
    log.error(`[udp] socket error on ${address}: ${errorCode(err)}; rebinding in ${rebindDelayMs} ms`);
    s.removeListener("message", onMessage);
    try {
      s.close();
    } catch {
      // already closed
    }
    scheduleRebind();
  };

  let socket: dgram.Socket;
  try {
    socket = await bindSocket(options, ip, options.port, attach);
  } catch (err) {
    throw new Error(`cannot bind UDP ${formatAddress(ip, options.port)}: ${errorCode(err)}`, { cause: err });
  }
  const port = socket.address().port;
  const address = formatAddress(ip, port);
  let effective = effectiveBuffer(socket);
  logBufferSizes(log, address, receiveBufferBytes, effective);

  return {
    address,
    port,
    get listening() {
      return listening;
    },
    receiveBufferRequested: receiveBufferBytes,
    get receiveBufferEffective() {
      return effective;
    },
    close(): Promise<void> {
      if (closed) return Promise.resolve();
      closed = true;
      clearTimeout(rebindTimer);
      const wasListening = listening;
      listening = false;
      if (!wasListening) return Promise.resolve();
      return new Promise((resolve) => {
        try {
          socket.close(() => resolve());
        } catch {
          resolve();
        }
      });
    },
  };
}

/** Reads the kernel's receive buffer size, or null when the platform cannot tell. */
function effectiveBuffer(s: dgram.Socket): number | null {
  try {
    return s.getRecvBufferSize();
  } catch {
    return null;
  }
}

/** Logs requested and effective buffer sizes, and warns when the kernel capped the request. */
function logBufferSizes(log: Logger, address: string, requested: number, effective: number | null): void {
  log.info(`[udp] listening on ${address}`, {
    receiveBufferRequested: requested,
    receiveBufferEffective: effective,
  });
  // Linux doubles the request (the extra half is for bookkeeping) and caps it at 2 × rmem_max, so
  // an uncapped request reads back as 2 × requested: anything less there means it was capped.
  const expected = process.platform === "linux" ? 2 * requested : requested;
  if (effective !== null && effective < expected) {
    // Say what the socket really got: on Linux that is half the reported size.
    const granted = process.platform === "linux" ? effective / 2 : effective;
    log.warn(
      `[udp] receive buffer capped: asked for ${requested} bytes, got ${granted}; bursts beyond that are dropped by the kernel. ` +
        (process.platform === "linux"
          ? `To get the full buffer, raise the limit (net.core.rmem_max, now ${granted}): sysctl -w net.core.rmem_max=${requested}, ` +
            `keep it in /etc/sysctl.d/90-sense-events.conf, then restart sense-events`
          : `Set sense-events.udp.receiveBufferBytes to ${granted} or less to silence this`),
    );
  }
}

/** The errno code (`EADDRINUSE`) of a system error, else its message. */
export function errorCode(err: unknown): string {
  if (err instanceof Error) return (err as NodeJS.ErrnoException).code ?? err.message;
  return String(err);
}
