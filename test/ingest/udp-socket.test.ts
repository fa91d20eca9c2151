import { afterEach, describe, expect, test } from "bun:test";
import dgram from "node:dgram";
import { readFileSync } from "node:fs";
import { type BoundUdpSocket, bindUdpSocket, type UdpSocketOptions } from "../../src/ingest/udp-socket.ts";
import { createLogger, type Logger } from "../../src/log.ts";
import { waitFor } from "../support/wait.ts";

interface Received {
  text: string;
  address: string;
  port: number;
}

const open: { close(): unknown }[] = [];
afterEach(async () => {
  for (const r of open.splice(0).reverse()) await r.close();
});

function capture(): { log: Logger; lines: string[] } {
  const lines: string[] = [];
  return { log: createLogger({ level: "debug", write: (l) => lines.push(l) }), lines };
}

async function start(
  overrides: Partial<UdpSocketOptions> = {},
): Promise<{ ingest: BoundUdpSocket; got: Received[]; lines: string[]; errors: Error[] }> {
  const got: Received[] = [];
  const errors: Error[] = [];
  const { log, lines } = capture();
  const ingest = await bindUdpSocket({
    host: "127.0.0.1",
    port: 0,
    receiveBufferBytes: 65536,
    onDatagram: (msg, address, port) => got.push({ text: msg.toString(), address, port }),
    onError: (error) => errors.push(error),
    log,
    ...overrides,
  });
  open.push(ingest);
  return { ingest, got, lines, errors };
}

async function sender(type: "udp4" | "udp6"): Promise<dgram.Socket> {
  const s = dgram.createSocket(type);
  await new Promise<void>((r) => s.bind(0, type === "udp4" ? "127.0.0.1" : "::1", r));
  open.push({ close: () => s.close() });
  return s;
}

function send(s: dgram.Socket, text: string, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => s.send(text, port, host, (err) => (err ? reject(err) : resolve())));
}

const rmemMax = (() => {
  try {
    return Number(readFileSync("/proc/sys/net/core/rmem_max", "utf8"));
  } catch {
    return null;
  }
})();

describe("binding", () => {
  test("binds an IPv4 address and passes each datagram with its sender", async () => {
    const { ingest, got } = await start();
    const s = await sender("udp4");
    await send(s, "hello", ingest.port, "127.0.0.1");
    await waitFor("datagram", () => got.length === 1);
    expect({ address: ingest.address, got }).toStrictEqual({
      address: `127.0.0.1:${ingest.port}`,
      got: [{ text: "hello", address: "127.0.0.1", port: s.address().port }],
    });
  });

  test("binds :: and receives from IPv6 and, dual-stack, from IPv4 senders", async () => {
    const { ingest, got } = await start({ host: "::" });
    const s6 = await sender("udp6");
    const s4 = await sender("udp4");
    await send(s6, "six", ingest.port, "::1");
    await waitFor("IPv6 datagram", () => got.length === 1);
    await send(s4, "four", ingest.port, "127.0.0.1");
    await waitFor("IPv4 datagram", () => got.length === 2);
    expect(ingest.address).toBe(`[::]:${ingest.port}`);
    expect(got[0]).toStrictEqual({ text: "six", address: "::1", port: s6.address().port });
    // The caller maps ::ffff:a.b.c.d to IPv4; here it only has to arrive, in either form.
    expect(["::ffff:127.0.0.1", "127.0.0.1"]).toContain(got[1]?.address ?? "");
    expect(got[1]?.text).toBe("four");
  });

  test("resolves a hostname to its first address", async () => {
    const { ingest } = await start({ host: "localhost" });
    expect([`127.0.0.1:${ingest.port}`, `[::1]:${ingest.port}`]).toContain(ingest.address);
  });

  test("rejects a bind failure with the address and cause", async () => {
    const { ingest } = await start();
    const second = bindUdpSocket({
      host: "127.0.0.1",
      port: ingest.port,
      receiveBufferBytes: 65536,
      onDatagram: () => {},
      onError: () => {},
      log: capture().log,
    });
    await expect(second).rejects.toThrow(`cannot bind UDP 127.0.0.1:${ingest.port}: EADDRINUSE`);
  });

  test("frees the port after close", async () => {
    const { ingest } = await start();
    open.pop();
    await ingest.close();
    const { ingest: again } = await start({ port: ingest.port });
    expect(again.port).toBe(ingest.port);
  });
});

describe.skipIf(process.platform !== "linux" || rmemMax === null)("receive buffer (Linux)", () => {
  test("reports the usable size, which is the request when the kernel grants it (not Linux's doubled figure)", async () => {
    const requested = Math.min(65536, rmemMax ?? 0);
    const { ingest, lines } = await start({ receiveBufferBytes: requested });
    expect(ingest.receiveBufferEffective).toBe(requested);
    expect(lines.filter((l) => l.includes(`"receiveBufferEffective":${requested}`))).toHaveLength(1);
    expect(lines.filter((l) => l.includes("net.core.rmem_max"))).toStrictEqual([]);
  });

  test("warns once, saying what the socket got and how to raise net.core.rmem_max, when the kernel caps the request", async () => {
    const requested = 2 * (rmemMax ?? 0);
    const { ingest, lines } = await start({ receiveBufferBytes: requested });
    // The info line, the figure /api/stats shows and the warning all give the same usable size.
    expect(ingest.receiveBufferEffective).toBe(rmemMax);
    expect(lines.filter((l) => l.includes(`"receiveBufferEffective":${rmemMax}`))).toHaveLength(1);
    const warnings = lines.filter((l) => l.includes(" warn: "));
    // Issue 10: it once read "requested N bytes, the kernel granted N", which looked like no cap at all.
    expect(warnings).toStrictEqual([
      expect.stringContaining(
        `[udp] receive buffer capped: asked for ${requested} bytes, got ${rmemMax}; bursts beyond that are dropped by the kernel. ` +
          `To get the full buffer, raise the limit (net.core.rmem_max, now ${rmemMax}): sysctl -w net.core.rmem_max=${requested}, ` +
          "keep it in /etc/sysctl.d/90-sense-events.conf, then restart sense-events",
      ),
    ]);
  });
});

describe("socket errors", () => {
  test("a socket error closes the socket and is reported once; it never rebinds by itself", async () => {
    const sockets: dgram.Socket[] = [];
    const { ingest, got, errors } = await start({
      createSocket: (o) => {
        const s = dgram.createSocket(o);
        sockets.push(s);
        return s;
      },
    });
    const error = Object.assign(new Error("simulated"), { code: "EHOSTUNREACH" });
    sockets[0]?.emit("error", error);
    sockets[0]?.emit("error", error);
    // The port is free again: a new socket can take it.
    const { ingest: again } = await start({ port: ingest.port });
    expect({
      errors: errors.map((e) => (e as NodeJS.ErrnoException).code),
      sockets: sockets.length,
      got,
    }).toStrictEqual({
      errors: ["EHOSTUNREACH"],
      sockets: 1,
      got: [],
    });
    expect(again.port).toBe(ingest.port);
  });
});
