import { afterEach, describe, expect, test } from "bun:test";
import dgram from "node:dgram";
import { startUdpReceiver, type UdpReceiver } from "../../src/ingest/udp-supervisor.ts";
import { createLogger, silentLogger } from "../../src/log.ts";
import { waitFor } from "../support/wait.ts";

interface Seen {
  text: string;
  address: string;
  port: number;
  receivedAtMs: number;
}

const open: UdpReceiver[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((t) => t.close()));
});

async function listen(options: { maxQueuedBytes?: number } = {}) {
  const seen: Seen[] = [];
  const decoder = new TextDecoder();
  const thread = await startUdpReceiver({
    host: "127.0.0.1",
    port: 0,
    receiveBufferBytes: 1 << 20,
    log: silentLogger,
    onDatagram: (msg, address, port, receivedAtMs) =>
      seen.push({ text: decoder.decode(msg), address, port, receivedAtMs }),
    ...options,
  });
  open.push(thread);
  return { thread, seen };
}

describe("receive thread and its supervisor", () => {
  test("delivers every datagram in order with its sender and receive time", async () => {
    const { thread, seen } = await listen();
    const sender = dgram.createSocket("udp4");
    await new Promise<void>((resolve) => sender.bind(0, "127.0.0.1", resolve));
    const before = Date.now();
    for (let i = 0; i < 500; i++) sender.send(`datagram ${i}`, thread.port, "127.0.0.1");
    await waitFor("the datagrams", () => seen.length === 500);
    const senderPort = sender.address().port;
    sender.close();
    expect(seen.map((s) => s.text)).toStrictEqual(Array.from({ length: 500 }, (_, i) => `datagram ${i}`));
    expect(new Set(seen.map((s) => `${s.address}:${s.port}`))).toStrictEqual(
      new Set([`127.0.0.1:${senderPort}`]),
    );
    expect(seen.every((s) => s.receivedAtMs >= before && s.receivedAtMs <= Date.now())).toBe(true);
    expect(thread.queuedBytes).toBe(0);
  });

  test("reports the bound address and the effective buffer size", async () => {
    const { thread } = await listen();
    expect({
      address: thread.address,
      listening: thread.listening,
      effective: typeof thread.receiveBufferEffective,
    }).toStrictEqual({
      address: `127.0.0.1:${thread.port}`,
      listening: true,
      effective: "number",
    });
  });

  test("a port that is taken rejects with the address and cause", async () => {
    const { thread } = await listen();
    const attempt = startUdpReceiver({
      host: "127.0.0.1",
      port: thread.port,
      receiveBufferBytes: 1 << 20,
      log: silentLogger,
      onDatagram: () => {},
    });
    await expect(attempt).rejects.toThrow(`cannot bind UDP 127.0.0.1:${thread.port}: EADDRINUSE`);
  });

  test("close frees the port", async () => {
    const { thread } = await listen();
    const port = thread.port;
    await thread.close();
    const again = await startUdpReceiver({
      host: "127.0.0.1",
      port,
      receiveBufferBytes: 1 << 20,
      log: silentLogger,
      onDatagram: () => {},
    });
    open.push(again);
    expect(again.port).toBe(port);
  });

  test("while the main thread is busy, datagrams past maxQueuedBytes are dropped and counted as queue_full", async () => {
    const { thread, seen } = await listen({ maxQueuedBytes: 10_000 });
    // spawnSync blocks this thread while the child sends, so only the receive thread runs.
    const script = `const s=require("node:dgram").createSocket("udp4");let n=0;const next=()=>{if(n===500)return s.close();s.send("x".repeat(100),${thread.port},"127.0.0.1",()=>{n++;next()})};next();`;
    const child = Bun.spawnSync([process.execPath, "-e", script]);
    expect(child.exitCode).toBe(0);
    await waitFor("the datagrams", () => seen.length + thread.queueFull === 500);
    expect({
      total: seen.length + thread.queueFull,
      dropped: thread.queueFull > 0,
      kept: seen.length > 0,
    }).toStrictEqual({
      total: 500,
      dropped: true,
      kept: true,
    });
  });

  test("close hands over every datagram the thread already received before it resolves", async () => {
    let handled = 0;
    const thread = await startUdpReceiver({
      host: "127.0.0.1",
      port: 0,
      receiveBufferBytes: 1 << 20,
      log: silentLogger,
      // Slow processing (20 µs a datagram), so the backlog takes many 4 ms slices to drain.
      onDatagram: () => {
        const until = performance.now() + 0.02;
        while (performance.now() < until) {}
        handled++;
      },
    });
    open.push(thread);
    // spawnSync blocks this thread while the child sends, so the datagrams wait in the thread's backlog.
    // As many as the socket's buffer holds (a 100-byte datagram takes about 900 bytes of it), so a
    // receive thread descheduled for a moment on a loaded machine cannot make the kernel drop any.
    const count = Math.min(2000, Math.floor((thread.receiveBufferEffective ?? 450_000) / 900));
    const script = `const s=require("node:dgram").createSocket("udp4");let n=0;const next=()=>{if(n===${count})return s.close();s.send("y".repeat(100),${thread.port},"127.0.0.1",()=>{n++;next()})};next();`;
    expect(Bun.spawnSync([process.execPath, "-e", script]).exitCode).toBe(0);
    await thread.close();
    expect(handled + thread.queueFull).toBe(count);
  });

  test("a second close while the first is running resolves too", async () => {
    const { thread } = await listen();
    await Promise.all([thread.close(), thread.close()]);
    expect(thread.listening).toBe(false);
  });

  test("a receive thread that crashes is restarted on the same port and receives again", async () => {
    const lines: string[] = [];
    const seen: string[] = [];
    const thread = await startUdpReceiver({
      host: "127.0.0.1",
      port: 0,
      receiveBufferBytes: 1 << 20,
      rebindDelayMs: 200,
      log: createLogger({ write: (line) => lines.push(line) }),
      workerUrl: new URL("../support/crashing-udp-worker.ts", import.meta.url).href,
      onDatagram: (msg) => seen.push(new TextDecoder().decode(msg)),
    });
    open.push(thread);
    const port = thread.port;
    await waitFor("a log line with receive thread failed", () =>
      lines.some((l) => l.includes("receive thread failed")),
    );
    await waitFor("a log line with receive thread restarted", () =>
      lines.some((l) => l.includes("receive thread restarted")),
    );
    const sender = dgram.createSocket("udp4");
    await new Promise<void>((resolve) =>
      sender.send("after the restart", port, "127.0.0.1", () => resolve()),
    );
    await waitFor("the datagrams", () => seen.length > 0);
    sender.close();
    expect({ port: thread.port, listening: thread.listening, seen }).toStrictEqual({
      port,
      listening: true,
      seen: ["after the restart"],
    });
  });

  test("the thread's log lines reach the main logger", async () => {
    const lines: string[] = [];
    const thread = await startUdpReceiver({
      host: "127.0.0.1",
      port: 0,
      receiveBufferBytes: 1 << 20,
      log: createLogger({ write: (line) => lines.push(line) }),
      onDatagram: () => {},
    });
    open.push(thread);
    await waitFor("a log line", () => lines.length > 0);
    expect(lines.some((l) => l.includes(`info: [udp] listening on 127.0.0.1:${thread.port}`))).toBe(true);
  });

  test("a socket error is logged, and a new thread rebinds the same port after rebindDelayMs and receives again", async () => {
    const lines: string[] = [];
    const seen: string[] = [];
    const receiver = await startUdpReceiver({
      host: "127.0.0.1",
      port: 0,
      receiveBufferBytes: 1 << 20,
      rebindDelayMs: 100,
      log: createLogger({ write: (line) => lines.push(line) }),
      workerUrl: new URL("../support/socket-error-udp-worker.ts", import.meta.url).href,
      onDatagram: (msg) => seen.push(new TextDecoder().decode(msg)),
    });
    open.push(receiver);
    const port = receiver.port;
    await waitFor("a log line with receive thread restarted", () =>
      lines.some((l) => l.includes("receive thread restarted")),
    );
    const sender = dgram.createSocket("udp4");
    await new Promise<void>((resolve) => sender.send("after the rebind", port, "127.0.0.1", () => resolve()));
    await waitFor("the datagrams", () => seen.length > 0);
    sender.close();
    expect({
      errorLines: lines.filter((l) =>
        l.includes(`[udp] socket error on 127.0.0.1:${port}: EHOSTUNREACH; rebinding in 100 ms`),
      ).length,
      port: receiver.port,
      listening: receiver.listening,
      seen,
    }).toStrictEqual({ errorLines: 1, port, listening: true, seen: ["after the rebind"] });
  });

  test("after a socket error the rebind is retried while the port is taken", async () => {
    const lines: string[] = [];
    const receiver = await startUdpReceiver({
      host: "127.0.0.1",
      port: 0,
      receiveBufferBytes: 1 << 20,
      rebindDelayMs: 100,
      log: createLogger({ write: (line) => lines.push(line) }),
      workerUrl: new URL("../support/socket-error-udp-worker.ts", import.meta.url).href,
      onDatagram: () => {},
    });
    open.push(receiver);
    // Take the port as soon as the socket error freed it, before the first rebind attempt.
    await waitFor("a log line with socket error", () => lines.some((l) => l.includes("socket error")));
    const blocker = dgram.createSocket("udp4");
    await new Promise<void>((resolve) => blocker.bind(receiver.port, "127.0.0.1", resolve));
    await waitFor("a log line with cannot rebind UDP", () =>
      lines.some((l) => l.includes("cannot rebind UDP")),
    );
    const whileTaken = receiver.listening;
    await new Promise<void>((resolve) => blocker.close(resolve));
    await waitFor("listening again", () => receiver.listening);
    expect({ whileTaken, listening: receiver.listening }).toStrictEqual({
      whileTaken: false,
      listening: true,
    });
  });
});
