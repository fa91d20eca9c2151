import { Database } from "bun:sqlite";
import { afterEach, expect, test } from "bun:test";
import { join } from "node:path";
import { historyDestination } from "../../src/history/destination.ts";
import { encodeHistoryItem } from "../../src/history/item.ts";
import { createHistoryWriteClient, type HistoryWriteClient } from "../../src/history/write-client.ts";
import { deliverable } from "../support/events.ts";
import { type TempDir, tempDir } from "../support/process.ts";
import { events, historyConfig, KNOWN, openPart, store } from "./support.ts";

let dir: TempDir | null = null;
let client: HistoryWriteClient | null = null;
afterEach(async () => {
  await client?.close().catch(() => {});
  client = null;
  dir?.cleanup();
  dir = null;
});

const items = (from = 1) => events(KNOWN, from).map((e) => encodeHistoryItem(deliverable(e)));

test("the write Worker stores a batch in one go and a reopened file continues after it (reference §19)", async () => {
  dir = tempDir("sense-events-write-client-");
  const path = join(dir.path, "h.sqlite");
  client = createHistoryWriteClient();
  expect(await client.open(path, 30)).toStrictEqual({ lastId: 0, count: 0, sessions: [], hosts: [] });
  const written = await client.write(items());
  expect({ added: written.added, malformed: written.malformed, lastId: written.lastId }).toStrictEqual({
    added: 8,
    malformed: 0,
    lastId: 8,
  });
  // At least once: the same batch again adds nothing.
  expect((await client.write(items())).added).toBe(0);
  await client.close();

  client = createHistoryWriteClient();
  const reopened = await client.open(path, 30);
  expect({ lastId: reopened.lastId, count: reopened.count }).toStrictEqual({ lastId: 8, count: 8 });
  // At the newest event (+40 min) only anna is on: carl stopped, bob's session went idle at +40.
  expect(reopened.sessions.map((s) => s.userId)).toStrictEqual(["anna"]);
  const db = new Database(path, { readonly: true });
  expect((db.query("SELECT COUNT(*) AS n FROM events").get() as { n: number }).n).toBe(8);
  db.close();
});

test("a history writer that dies makes every send a retry, with the reason, so the outbox keeps the items", async () => {
  client = createHistoryWriteClient(new URL("../support/dying-worker.ts", import.meta.url).href);
  const destination = historyDestination({ client, onWritten: () => {} });
  const first = await destination.send(items());
  expect(first.kind).toBe("retry");
  expect(client.failure).toStartWith("the history writer stopped");
  // Later sends fail at once, without waiting for a Worker that is gone.
  expect(await destination.send(items(9))).toStrictEqual({
    kind: "retry",
    error: `[history] write failed: ${client.failure}`,
  });
});

test("a batch holding items that are not history items stores the others and counts the bad ones", async () => {
  dir = tempDir("sense-events-write-client-");
  client = createHistoryWriteClient();
  await client.open(join(dir.path, "h.sqlite"), 30);
  const good = items();
  const written = await client.write([good[0] as string, "{", ...good.slice(1), "[1,2]"]);
  expect({ added: written.added, malformed: written.malformed }).toStrictEqual({ added: 8, malformed: 2 });
});

test("crafted items in a spool are counted as malformed, never stored wrong, and never block the lane", async () => {
  dir = tempDir("sense-events-write-client-");
  client = createHistoryWriteClient();
  await client.open(join(dir.path, "h.sqlite"), 30);
  const good = items();
  const fields = JSON.parse(good[0] as string) as unknown[];
  const crafted = (index: number, value: unknown) =>
    JSON.stringify(fields.map((field, i) => (i === index ? value : field)));
  const bad = [
    crafted(5, null), // userDirectory
    crafted(11, null), // message
    crafted(0, 2.5), // id
    crafted(0, 1e16), // id past the safe integers: every later id would look stored
    crafted(1, 9e15), // a receive time Date cannot hold
    crafted(3, {}), // host
    crafted(2, "other"), // source
    crafted(13, [0, 1, "Chrome"]), // agent
  ];
  // Two crafted items whose edges swallow the real one between them when joined with commas.
  const head = `${good[1]},${good[2]},[3,${fields[1]},"qseow-proxy-session","h","a","d","evil","o","c",null,null,"m","r",[0`;
  const written = await client.write([...bad, head, good[0] as string, "0]]", ...good.slice(1)]);
  expect({ added: written.added, malformed: written.malformed, lastId: written.lastId }).toStrictEqual({
    added: 8,
    malformed: bad.length + 2,
    lastId: 8,
  });
  // The lane goes on: later events are stored.
  expect((await client.write(items(9))).added).toBe(8);
});

test("a reload after the history writer stopped still applies, and /health keeps saying why", async () => {
  const o = await openPart({
    writeWorkerUrl: new URL("../support/fragile-write-worker.ts", import.meta.url).href,
  });
  dir = o.dir;
  try {
    await store(o.part, events(KNOWN));
    // Changing the idle timeout is the request the fragile Worker dies on.
    const next = historyConfig(o.dir.path, {}, { sessions: { idleTimeoutMinutes: 45 } });
    expect(await o.part.apply(next)).toStrictEqual({ rebuilt: [] });
    expect(o.part.problems()).toStrictEqual(["the history writer stopped"]);
    expect(o.lines.some((line) => line.includes("[history] idle timeout not applied"))).toBe(true);
    // What was stored before stays readable, and the next write is a retry (the outbox keeps it).
    expect(o.part.stats().events).toBe(8);
    expect((await o.part.destination.send(items(9))).kind).toBe("retry");
  } finally {
    await o.part.close();
  }
});
