import { afterEach, describe, expect, test } from "bun:test";
import net from "node:net";
import { type ApiDeps, createApi } from "../../src/api/app.ts";
import type { UserEvent } from "../../src/events/event.ts";
import { makeEvent } from "../events/fixtures.ts";
import { testDeps } from "./deps.ts";

let server: ReturnType<typeof Bun.serve> | undefined;
let closeStreams: (() => void) | undefined;
const readers: { cancel(): Promise<void> }[] = [];

afterEach(async () => {
  closeStreams?.();
  for (const reader of readers.splice(0)) await reader.cancel().catch(() => {});
  await server?.stop(true);
  server = undefined;
});

/** Starts the API on an ephemeral port; `emit` stores then broadcasts, as the pipeline does. */
function start(sse: ApiDeps["sse"] = {}, idleTimeout?: number) {
  const t = testDeps({ sse });
  const api = createApi(t.deps);
  closeStreams = api.closeStreams;
  server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    fetch: api.app.fetch,
    ...(idleTimeout ? { idleTimeout } : {}),
  });
  const base = `http://127.0.0.1:${server.port}`;
  const emit = (event: UserEvent) => {
    t.ring.push(event);
    api.broadcast(event);
  };
  return { ...t, api, base, emit };
}

/** Opens a stream and returns a reader that collects text until a condition holds. */
async function connect(url: string, headers: Record<string, string> = {}) {
  const res = await fetch(url, { headers });
  const reader = res.body?.getReader();
  if (reader === undefined) throw new Error("no body");
  readers.push(reader);
  const decoder = new TextDecoder();
  let text = "";
  let done = false;
  const readUntil = async (condition: (text: string) => boolean): Promise<string> => {
    while (!condition(text) && !done) {
      const chunk = await reader.read();
      if (chunk.done) done = true;
      else text += decoder.decode(chunk.value, { stream: true });
    }
    return text;
  };
  return { res, readUntil, ended: () => done };
}

const frame = (event: UserEvent) => `id: ${event.id}\nevent: user-event\ndata: ${JSON.stringify(event)}\n\n`;
const idsIn = (text: string): number[] => [...text.matchAll(/^id: (\d+)$/gm)].map((m) => Number(m[1]));
const countIdsAtLeast = (n: number) => (text: string) => idsIn(text).length >= n;

describe("GET /api/events/stream", () => {
  test("sends live events as id, event and data lines", async () => {
    const { base, emit } = start();
    const stream = await connect(`${base}/api/events/stream`);
    await stream.readUntil((t) => t.includes(": connected"));
    const events = [makeEvent(1), makeEvent(2, { action: "Close connection" })];
    for (const e of events) emit(e);
    const text = await stream.readUntil(countIdsAtLeast(2));
    expect([stream.res.status, stream.res.headers.get("content-type"), text]).toStrictEqual([
      200,
      "text/event-stream; charset=utf-8",
      `: connected\n\n${frame(events[0] as UserEvent)}${frame(events[1] as UserEvent)}`,
    ]);
  });

  test("sends only events that match the filters", async () => {
    const { base, emit } = start();
    const stream = await connect(`${base}/api/events/stream?user=acme%5CBOB&action=start%20session`);
    await stream.readUntil((t) => t.includes(": connected"));
    emit(makeEvent(1, { userId: "bob", action: "Open connection" }));
    emit(makeEvent(2, { userId: "alice", action: "Start session" }));
    emit(makeEvent(3, { userId: "Bob", action: "Start session" }));
    emit(makeEvent(4, { userId: "bob", action: "Start session", userDirectory: "OTHER" }));
    emit(makeEvent(5, { userId: "BOB", action: "Start session" }));
    expect(idsIn(await stream.readUntil(countIdsAtLeast(2)))).toStrictEqual([3, 5]);
  });

  test("replays events after Last-Event-ID, then continues live", async () => {
    const { base, emit, ring } = start();
    for (let id = 1; id <= 5; id++) ring.push(makeEvent(id));
    const stream = await connect(`${base}/api/events/stream`, { "Last-Event-ID": "3" });
    await stream.readUntil(countIdsAtLeast(2));
    emit(makeEvent(6));
    expect(idsIn(await stream.readUntil(countIdsAtLeast(3)))).toStrictEqual([4, 5, 6]);
  });

  test("replays only matching events", async () => {
    const { base, emit, ring } = start();
    for (let id = 1; id <= 600; id++) ring.push(makeEvent(id, { host: id % 250 === 0 ? "wanted" : "other" }));
    const stream = await connect(`${base}/api/events/stream?host=WANTED`, { "Last-Event-ID": "0" });
    await stream.readUntil(countIdsAtLeast(2));
    emit(makeEvent(601, { host: "wanted" }));
    expect(idsIn(await stream.readUntil(countIdsAtLeast(3)))).toStrictEqual([250, 500, 601]);
  });

  test("a replay longer than the lag limit is delivered whole", async () => {
    const { base, ring } = start({ maxBehind: 10 });
    for (let id = 1; id <= 1000; id++) ring.push(makeEvent(id));
    const stream = await connect(`${base}/api/events/stream`, { "Last-Event-ID": "0" });
    const ids = idsIn(await stream.readUntil(countIdsAtLeast(1000)));
    expect([ids.length, ids[0], ids[999], stream.ended()]).toStrictEqual([1000, 1, 1000, false]);
  });

  test("ignores a non-numeric Last-Event-ID", async () => {
    const { base, emit, ring } = start();
    ring.push(makeEvent(1));
    const stream = await connect(`${base}/api/events/stream`, { "Last-Event-ID": "abc" });
    await stream.readUntil((t) => t.includes(": connected"));
    emit(makeEvent(2));
    expect(idsIn(await stream.readUntil(countIdsAtLeast(1)))).toStrictEqual([2]);
  });

  test("sends a ping comment every interval", async () => {
    const { base } = start({ pingIntervalMs: 20 });
    const stream = await connect(`${base}/api/events/stream`);
    const text = await stream.readUntil((t) => t.split(": ping\n\n").length > 2);
    expect(text.startsWith(": connected\n\n: ping\n\n: ping\n\n")).toBe(true);
  });

  // Bun enforces idleTimeout in coarse steps (a 1 s timeout cuts at about 4 s), hence the 6 s ping.
  test("stays open past the server's idle timeout until the next ping", async () => {
    const { base } = start({ pingIntervalMs: 6000 }, 1);
    const stream = await connect(`${base}/api/events/stream`);
    const text = await stream.readUntil((t) => t.includes(": ping"));
    expect(text).toBe(": connected\n\n: ping\n\n");
  });

  test("rejects a bad filter with 400", async () => {
    const { base } = start();
    const res = await fetch(`${base}/api/events/stream?since=soon`);
    expect([res.status, await res.json()]).toStrictEqual([
      400,
      { error: "since: must be an ISO-8601 timestamp such as 2024-05-01T12:00:00.000Z" },
    ]);
  });

  test("refuses the stream past the limit with 503", async () => {
    const { base } = start({ maxStreams: 2 });
    await connect(`${base}/api/events/stream`);
    await connect(`${base}/api/events/stream`);
    const res = await fetch(`${base}/api/events/stream`);
    expect([res.status, await res.json()]).toStrictEqual([503, { error: "too many event streams" }]);
  });

  test("a closed stream frees its slot", async () => {
    const { base } = start({ maxStreams: 1 });
    const first = await connect(`${base}/api/events/stream`);
    await first.readUntil((t) => t.includes(": connected"));
    await readers.pop()?.cancel();
    let status = 503;
    // The server notices the cancelled response asynchronously.
    for (let attempt = 0; attempt < 100 && status === 503; attempt++) {
      const res = await fetch(`${base}/api/events/stream`);
      status = res.status;
      if (status === 503) await Bun.sleep(10);
      else if (res.body !== null) readers.push(res.body.getReader());
    }
    expect(status).toBe(200);
  });

  test("closeStreams ends every stream", async () => {
    const { base, api } = start();
    const a = await connect(`${base}/api/events/stream`);
    const b = await connect(`${base}/api/events/stream`);
    await a.readUntil((t) => t.includes(": connected"));
    await b.readUntil((t) => t.includes(": connected"));
    api.closeStreams();
    await a.readUntil(() => false);
    await b.readUntil(() => false);
    expect([a.ended(), b.ended()]).toStrictEqual([true, true]);
  });

  test("disconnects a client that falls too far behind", async () => {
    const { base, emit } = start({ maxBehind: 50 });
    const socket = net.connect(Number(new URL(base).port), "127.0.0.1");
    let received = "";
    const closed = new Promise<void>((resolve) => socket.on("close", () => resolve()));
    socket.on("data", (data) => {
      received += data.toString("latin1");
    });
    socket.write("GET /api/events/stream HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
    while (!received.includes(": connected")) await Bun.sleep(5);
    socket.pause();
    // 20 MB is far more than the kernel socket buffers hold, so the server-side queue must grow.
    const message = "x".repeat(1000);
    const total = 20_000;
    for (let id = 1; id <= total; id++) emit(makeEvent(id, { message }));
    socket.resume();
    await closed;
    const delivered = received.split("event: user-event").length - 1;
    expect(delivered).toBeLessThan(total);
  });

  test("disconnects a client whose backlog passes maxBehindChars, however few frames (issue 9)", async () => {
    const { base, emit } = start({ maxBehind: 1_000_000, maxBehindChars: 200_000 });
    const socket = net.connect(Number(new URL(base).port), "127.0.0.1");
    let received = "";
    const closed = new Promise<void>((resolve) => socket.on("close", () => resolve()));
    socket.on("data", (data) => {
      received += data.toString("latin1");
    });
    socket.write("GET /api/events/stream HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
    while (!received.includes(": connected")) await Bun.sleep(5);
    socket.pause();
    const message = "x".repeat(1000);
    const total = 20_000;
    for (let id = 1; id <= total; id++) emit(makeEvent(id, { message }));
    socket.resume();
    await closed;
    expect(received.split("event: user-event").length - 1).toBeLessThan(total);
  });
});
