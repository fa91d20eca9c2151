import dgram from "node:dgram";
import { lookup } from "node:dns/promises";
import { isIP } from "node:net";
import type { Logger } from "../log.ts";
import { errorCode, hostPort } from "../net.ts";

// node:dgram, not Bun.udpSocket: only dgram can set SO_RCVBUF, and with it nothing was lost at
// 100k datagrams/s where Bun.udpSocket's default buffer lost some (docs/benchmarks.md, "UDP socket choice").

/** One bound UDP socket (reference §8.1, §8.2). It never rebinds: the supervisor decides what happens after an error. */
export interface BoundUdpSocket {
  /** The bound address with the real port: `0.0.0.0:9997` or `[::]:9997`. */
  readonly address: string;
  /** The bound port. */
  readonly port: number;
  /**
   * The usable receive buffer in bytes, comparable with the request: Linux reports twice the size (the
   * extra half is kernel bookkeeping), so that report is halved here. Null if unknown.
   */
  readonly receiveBufferEffective: number | null;
  /** Closes the socket; safe after an error closed it already. */
  close(): Promise<void>;
}

/** Options for {@link bindUdpSocket}. */
export interface UdpSocketOptions {
  /** IP literal or hostname (first address); `::` binds dual-stack where the OS allows. */
  host: string;
  /** Port; 0 picks a free one. */
  port: number;
  /** Requested `SO_RCVBUF` in bytes. */
  receiveBufferBytes: number;
  /** Called synchronously for each datagram; must not throw. */
  onDatagram: (msg: Buffer, address: string, port: number) => void;
  /** Called once when the bound socket fails; the socket is closed by then. */
  onError: (error: Error) => void;
  log: Logger;
  /** Creates the socket (tests inject one to reach it). @default dgram.createSocket */
  createSocket?: (options: dgram.SocketOptions) => dgram.Socket;
}

/** Resolves `host` to one IP literal (an IP is returned as is). */
async function resolveHost(host: string): Promise<string> {
  if (isIP(host) !== 0) return host;
  try {
    return (await lookup(host)).address;
  } catch (err) {
    throw new Error(`cannot bind UDP ${host}: ${errorCode(err)}`, { cause: err });
  }
}

/** Binds a new socket, resolving once listening or rejecting with the bind error. */
function bind(
  ip: string,
  port: number,
  receiveBufferBytes: number,
  create: (options: dgram.SocketOptions) => dgram.Socket,
): Promise<dgram.Socket> {
  return new Promise((resolve, reject) => {
    const socket = create({
      type: isIP(ip) === 6 ? "udp6" : "udp4",
      ipv6Only: false,
      recvBufferSize: receiveBufferBytes,
    });
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
 * Binds the user-events listener once. Rejects with `cannot bind UDP <address>: <cause>`; a later
 * socket error closes the socket and is handed to `onError`.
 */
export async function bindUdpSocket(options: UdpSocketOptions): Promise<BoundUdpSocket> {
  const { log, onDatagram, receiveBufferBytes } = options;
  const ip = await resolveHost(options.host);
  let socket: dgram.Socket;
  try {
    socket = await bind(ip, options.port, receiveBufferBytes, options.createSocket ?? dgram.createSocket);
  } catch (err) {
    throw new Error(`cannot bind UDP ${hostPort(ip, options.port)}: ${errorCode(err)}`, { cause: err });
  }
  let open = true;
  socket.on("message", (msg, rinfo) => onDatagram(msg, rinfo.address, rinfo.port));
  socket.on("error", (err) => {
    if (!open) return;
    open = false;
    try {
      socket.close();
    } catch {
      // already closed
    }
    options.onError(err);
  });
  const port = socket.address().port;
  const address = hostPort(ip, port);
  const effective = effectiveBuffer(socket);
  logBufferSizes(log, address, receiveBufferBytes, effective);
  return {
    address,
    port,
    receiveBufferEffective: effective,
    close(): Promise<void> {
      if (!open) return Promise.resolve();
      open = false;
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

/** The usable receive buffer size (Linux reports it doubled), or null when the platform cannot tell. */
function effectiveBuffer(s: dgram.Socket): number | null {
  try {
    const reported = s.getRecvBufferSize();
    return process.platform === "linux" ? Math.floor(reported / 2) : reported;
  } catch {
    return null;
  }
}

/** Logs requested and usable buffer sizes, and warns when the kernel capped the request. */
function logBufferSizes(log: Logger, address: string, requested: number, effective: number | null): void {
  log.info(`[udp] listening on ${address}`, {
    receiveBufferRequested: requested,
    receiveBufferEffective: effective,
  });
  // Linux caps the request at net.core.rmem_max: less than asked for means it was capped.
  if (effective !== null && effective < requested) {
    log.warn(
      `[udp] receive buffer capped: asked for ${requested} bytes, got ${effective}; bursts beyond that are dropped by the kernel. ` +
        (process.platform === "linux"
          ? `To get the full buffer, raise the limit (net.core.rmem_max, now ${effective}): sysctl -w net.core.rmem_max=${requested}, ` +
            `keep it in /etc/sysctl.d/90-sense-events.conf, then restart sense-events`
          : `Set sense-events.udp.receiveBufferBytes to ${effective} or less to silence this`),
    );
  }
}
