import { describe, expect, test } from "bun:test";
import type { UserEvent } from "../../src/events/event.ts";
import { createSessionTracker, MAX_APPS, type SessionView } from "../../src/events/sessions.ts";
import { makeEvent } from "./fixtures.ts";

const APP_A = "aaaaaaaa-0000-0000-0000-000000000001";
const APP_B = "bbbbbbbb-0000-0000-0000-000000000002";
const MINUTE = 60_000;

/** A tracker on a manual clock; `at(n)` is the receivedAt of event n. */
function setup(idleTimeoutMinutes = 30) {
  let clock = Date.UTC(2025, 0, 1);
  const tracker = createSessionTracker({ idleTimeoutMinutes, now: () => clock });
  let nextId = 1;
  const send = (action: string, overrides: Partial<UserEvent> = {}): UserEvent => {
    const event = makeEvent(nextId++, { action, receivedAt: new Date(clock).toISOString(), ...overrides });
    tracker.update(event);
    return event;
  };
  const advance = (ms: number) => {
    clock += ms;
  };
  return { tracker, send, advance };
}

const view = (overrides: Partial<SessionView>): SessionView => ({
  host: "sense1",
  userDirectory: "ACME",
  userId: "alice",
  startedAt: null,
  lastEventAt: "",
  openConnections: 0,
  appIds: [],
  ...overrides,
});

describe("session tracker", () => {
  test("Start session creates a session with startedAt and lastEventAt", () => {
    const { tracker, send } = setup();
    const start = send("Start session");
    expect(tracker.list()).toStrictEqual([
      view({ startedAt: start.receivedAt, lastEventAt: start.receivedAt }),
    ]);
  });

  test("Open connection without a session creates one with startedAt null", () => {
    const { tracker, send } = setup();
    const open = send("Open connection", { appId: APP_A });
    expect(tracker.list()).toStrictEqual([
      view({ lastEventAt: open.receivedAt, openConnections: 1, appIds: [APP_A] }),
    ]);
  });

  test("Open connection counts connections and keeps each appId once", () => {
    const { tracker, send } = setup();
    send("Open connection", { appId: APP_A });
    send("Open connection", { appId: APP_A });
    send("Open connection", { appId: APP_B });
    send("Open connection");
    expect(tracker.list().map((s) => [s.openConnections, s.appIds])).toStrictEqual([[4, [APP_A, APP_B]]]);
  });

  test("Close connection drops an appId only when its count reaches 0", () => {
    const { tracker, send } = setup();
    send("Open connection", { appId: APP_A });
    send("Open connection", { appId: APP_A });
    send("Open connection", { appId: APP_B });
    send("Close connection", { appId: APP_A });
    const afterOne = tracker.list().map((s) => [s.openConnections, s.appIds]);
    send("Close connection", { appId: APP_A });
    expect([afterOne, tracker.list().map((s) => [s.openConnections, s.appIds])]).toStrictEqual([
      [[2, [APP_A, APP_B]]],
      [[1, [APP_B]]],
    ]);
  });

  test("Close connection never takes the count below 0", () => {
    const { tracker, send } = setup();
    send("Start session");
    send("Close connection", { appId: APP_A });
    send("Close connection");
    expect(tracker.list().map((s) => s.openConnections)).toStrictEqual([0]);
  });

  test("Stop session removes the session", () => {
    const { tracker, send } = setup();
    send("Start session");
    send("Open connection", { appId: APP_A });
    send("Stop session");
    expect([tracker.list(), tracker.count]).toStrictEqual([[], 0]);
  });

  test.each(["Close connection", "Stop session", "Something else"])(
    "%s without a session is ignored",
    (action) => {
      const { tracker, send } = setup();
      send(action);
      expect(tracker.count).toBe(0);
    },
  );

  test.each([
    ["empty userDirectory", { userDirectory: "" }],
    ["empty userId", { userId: "" }],
  ])("an event with %s is ignored", (_name, overrides) => {
    const { tracker, send } = setup();
    send("Start session", overrides);
    send("Open connection", overrides);
    expect(tracker.count).toBe(0);
  });

  test("an empty-user event does not touch a tracked session", () => {
    const { tracker, send, advance } = setup();
    const start = send("Start session");
    advance(MINUTE);
    send("Open connection", { userId: "" });
    expect(tracker.list()).toStrictEqual([
      view({ startedAt: start.receivedAt, lastEventAt: start.receivedAt }),
    ]);
  });

  test("every event of a tracked session updates lastEventAt, unknown actions too", () => {
    const { tracker, send, advance } = setup();
    send("Start session");
    advance(MINUTE);
    const other = send("Refresh");
    expect(tracker.list().map((s) => s.lastEventAt)).toStrictEqual([other.receivedAt]);
  });

  test("a repeated Start session resets startedAt only", () => {
    const { tracker, send, advance } = setup();
    send("Start session");
    send("Open connection", { appId: APP_A });
    advance(MINUTE);
    const again = send("Start session");
    expect(tracker.list()).toStrictEqual([
      view({
        startedAt: again.receivedAt,
        lastEventAt: again.receivedAt,
        openConnections: 1,
        appIds: [APP_A],
      }),
    ]);
  });

  test("the key ignores the case of directory and user id and shows the latest spelling", () => {
    const { tracker, send } = setup();
    send("Start session", { userDirectory: "acme", userId: "ALICE" });
    const open = send("Open connection", { userDirectory: "Acme", userId: "Alice" });
    expect(
      tracker.list().map((s) => [s.userDirectory, s.userId, s.startedAt !== null, s.openConnections]),
    ).toStrictEqual([["Acme", "Alice", true, 1]]);
    expect(tracker.list()[0]?.lastEventAt).toBe(open.receivedAt);
  });

  test("interleaved hosts, directories and spellings of one user id keep their own sessions", () => {
    const { tracker, send } = setup();
    const users: Partial<UserEvent>[] = [
      { host: "sense1", userDirectory: "ACME", userId: "alice" },
      { host: "sense2", userDirectory: "ACME", userId: "alice" },
      { host: "sense1", userDirectory: "OTHER", userId: "alice" },
      { host: "sense1", userDirectory: "acme", userId: "alice" },
      { host: "sense1", userDirectory: "ACME", userId: "ALICE" },
      { host: "sense2", userDirectory: "ACME", userId: "alice" },
    ];
    for (const user of users) send("Open connection", user);
    expect(tracker.list().map((s) => [s.host, s.userDirectory, s.userId, s.openConnections])).toStrictEqual([
      ["sense2", "ACME", "alice", 2],
      ["sense1", "ACME", "ALICE", 3],
      ["sense1", "OTHER", "alice", 1],
    ]);
  });

  test("the same user on another host is another session", () => {
    const { tracker, send } = setup();
    send("Start session", { host: "sense1" });
    send("Start session", { host: "sense2" });
    expect(tracker.count).toBe(2);
  });

  test("lists the newest lastEventAt first", () => {
    const { tracker, send, advance } = setup();
    send("Start session", { userId: "a" });
    advance(1000);
    send("Start session", { userId: "b" });
    advance(1000);
    send("Open connection", { userId: "a" });
    expect(tracker.list().map((s) => s.userId)).toStrictEqual(["a", "b"]);
  });
});

describe("session order", () => {
  test("lists sessions updated in the same millisecond most recently updated first", () => {
    const { tracker, send } = setup();
    for (const userId of ["a", "b", "c", "a", "b"]) send("Open connection", { userId });
    expect(tracker.list().map((s) => s.userId)).toStrictEqual(["b", "a", "c"]);
  });
});

describe("session expiry", () => {
  test("a session without connections expires after the idle timeout", () => {
    const { tracker, send, advance } = setup(30);
    send("Start session");
    advance(30 * MINUTE - 1);
    const before = tracker.count;
    advance(1);
    tracker.expire();
    expect([before, tracker.count]).toStrictEqual([1, 0]);
  });

  test("a session with open connections survives the idle timeout and expires after 24 h", () => {
    const { tracker, send, advance } = setup(30);
    send("Open connection", { appId: APP_A });
    advance(24 * 60 * MINUTE - 1);
    const before = tracker.count;
    advance(1);
    expect([before, tracker.count]).toStrictEqual([1, 0]);
  });

  test("an event restarts the idle time", () => {
    const { tracker, send, advance } = setup(30);
    send("Start session");
    advance(20 * MINUTE);
    send("Refresh");
    advance(20 * MINUTE);
    expect(tracker.count).toBe(1);
  });

  test("a Close connection after the session expired is ignored", () => {
    const { tracker, send, advance } = setup(30);
    send("Start session");
    advance(31 * MINUTE);
    send("Close connection");
    expect(tracker.list()).toStrictEqual([]);
  });

  test("an Open connection after the session expired starts a new session with startedAt null", () => {
    const { tracker, send, advance } = setup(30);
    send("Start session");
    advance(31 * MINUTE);
    send("Open connection");
    expect(tracker.list().map((s) => [s.startedAt, s.openConnections])).toStrictEqual([[null, 1]]);
  });

  test("setIdleTimeout applies to existing sessions", () => {
    const { tracker, send, advance } = setup(30);
    send("Start session");
    advance(10 * MINUTE);
    tracker.setIdleTimeout(5);
    expect(tracker.count).toBe(0);
  });

  test("expiry removes only the idle sessions", () => {
    const { tracker, send, advance } = setup(30);
    send("Start session", { userId: "old" });
    advance(20 * MINUTE);
    send("Start session", { userId: "new" });
    advance(15 * MINUTE);
    expect(tracker.list().map((s) => s.userId)).toStrictEqual(["new"]);
  });

  test("a session with connections older than an idle one does not stop expiry of the idle one", () => {
    const { tracker, send, advance } = setup(30);
    send("Open connection", { userId: "busy" });
    advance(MINUTE);
    send("Start session", { userId: "idle" });
    advance(40 * MINUTE);
    expect(tracker.list().map((s) => s.userId)).toStrictEqual(["busy"]);
  });
});

describe("bounds (issue 9: 500,000 unique users took 444 MB and stayed)", () => {
  const start = (tracker: ReturnType<typeof createSessionTracker>, user: string, id: number) =>
    tracker.update(makeEvent(id, { action: "Start session", userId: user }));

  test("past maxActive the least recently active sessions are evicted and counted", () => {
    const tracker = createSessionTracker({ idleTimeoutMinutes: 30, maxActive: 100 });
    for (let i = 0; i < 100; i++) start(tracker, `u${i}`, i + 1);
    // u0 is active again, so u1 is now the least recently active.
    start(tracker, "u0", 101);
    start(tracker, "new", 102);
    expect(tracker.count).toBeLessThanOrEqual(100);
    expect(tracker.evicted).toBe(101 - tracker.count);
    const users = tracker.list().map((s) => s.userId);
    expect(users.slice(0, 2)).toStrictEqual(["new", "u0"]);
    expect(users).not.toContain("u1");
    expect(users).toContain("u99");
  });

  test("a flood of unique users keeps the count at maxActive", () => {
    const tracker = createSessionTracker({ idleTimeoutMinutes: 30, maxActive: 1000 });
    for (let i = 0; i < 50_000; i++) start(tracker, `flood${i}`, i + 1);
    expect(tracker.count).toBeLessThanOrEqual(1000);
    expect(tracker.evicted).toBe(50_000 - tracker.count);
    expect(tracker.list()[0]?.userId).toBe("flood49999");
  });

  test("past maxBytes the least recently active sessions are evicted", () => {
    const tracker = createSessionTracker({ idleTimeoutMinutes: 30, maxBytes: 100_000 });
    for (let i = 0; i < 1000; i++) start(tracker, `u${i}`.padEnd(100, "x"), i + 1);
    expect(tracker.bytes).toBeLessThanOrEqual(100_000);
    expect(tracker.evicted).toBe(1000 - tracker.count);
  });

  test(`a session lists at most ${MAX_APPS} appIds; its connections are still counted`, () => {
    const { tracker, send } = setup();
    for (let i = 0; i < MAX_APPS + 50; i++) {
      send("Open connection", { appId: `00000000-0000-0000-0000-${String(i).padStart(12, "0")}` });
    }
    const [session] = tracker.list();
    expect([session?.appIds.length, session?.openConnections]).toStrictEqual([MAX_APPS, MAX_APPS + 50]);
  });

  test("bytes go back to 0 when every session stops", () => {
    const { tracker, send } = setup();
    send("Open connection", { appId: APP_A });
    send("Start session", { userId: "bob" });
    send("Stop session");
    send("Stop session", { userId: "bob" });
    expect([tracker.count, tracker.bytes]).toStrictEqual([0, 0]);
  });

  test("page() stops early at maxBytes with a cursor", () => {
    const tracker = createSessionTracker({ idleTimeoutMinutes: 30 });
    for (let i = 0; i < 10; i++) start(tracker, `u${i}`, i + 1);
    const page = tracker.page(1000, undefined, 1000);
    expect(page.sessions.length).toBeGreaterThan(0);
    expect(page.sessions.length).toBeLessThan(10);
    expect(JSON.stringify(page.sessions).length).toBeLessThanOrEqual(1000);
    expect(tracker.page(1000, page.next ?? "")?.sessions.length).toBe(10 - page.sessions.length);
  });
});
