import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import type { Destination } from "../../src/destinations/destination.ts";
import type { DeliverableEvent, UserEvent } from "../../src/events/event.ts";
import { waitFor } from "./wait.ts";

/** What a destination test file provides for one run of the contract suite. */
export interface DestinationFixture {
  /** A destination pointed at a real (or stand-in) receiver that is running. */
  destination: Destination;
  /** Items the receiver has got so far, in arrival order, comparable with `serialize` output (see `normalize`). */
  received: () => Promise<string[]>;
  /** Stops the receiver so that the next `send` fails at the network level (refused, reset or timeout). */
  stopReceiver: () => Promise<void>;
  /** Stops the receiver (if still running) and frees everything the fixture created; the suite closes the destination itself. */
  cleanup: () => Promise<void>;
}

/** Knobs for destinations whose receiver does not hand items back verbatim. */
export interface DestinationContractOptions {
  /** Events to serialise and send. @default sampleEvents() */
  events?: DeliverableEvent[];
  /** Maps a sent item to what `received()` reports for it (e.g. strip a topic prefix). @default identity */
  normalize?: (item: string) => string;
  /** How long to wait for items to arrive at the receiver. @default 10000 */
  arrivalTimeoutMs?: number;
}

/** Three representative events: a session start, a connection with app and user agent, a format (b) event with empty parts. */
export function sampleEvents(): DeliverableEvent[] {
  const base = Date.UTC(2026, 0, 15, 8, 30, 0, 123);
  const event = (id: number, fields: Partial<UserEvent>): DeliverableEvent => {
    const receivedAtMs = base + id;
    const userEvent: UserEvent = {
      id,
      receivedAt: new Date(receivedAtMs).toISOString(),
      source: "qseow-proxy-session",
      host: "sense1.example.com",
      action: "Start session",
      userDirectory: "LAB",
      userId: "anna",
      origin: "AppAccess",
      context: "/hub",
      appId: null,
      appName: null,
      message: "Start session for user",
      userAgent: null,
      remoteAddress: "10.0.0.5",
      ...fields,
    };
    const userFull =
      userEvent.userDirectory && userEvent.userId ? `${userEvent.userDirectory}\\${userEvent.userId}` : "";
    return { event: userEvent, receivedAtMs, timeNs: `${receivedAtMs}000000`, userFull };
  };
  return [
    event(1, {}),
    event(2, {
      source: "qseow-proxy-connection",
      action: "Open connection",
      context: "/app/3f0b8c2e-1d4a-4c55-9b7e-0a1b2c3d4e5f",
      appId: "3f0b8c2e-1d4a-4c55-9b7e-0a1b2c3d4e5f",
      appName: 'Sales "EMEA", Q1',
      message: "Open connection; app=Sales",
      userAgent: {
        raw: "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/119.0.0.0 Safari/537.36",
        browserName: "Chrome",
        browserMajorVersion: "119",
        osName: "Windows",
        osVersion: "10",
      },
    }),
    event(3, {
      source: "proxy-user-event",
      action: "Stop session",
      userDirectory: "",
      userId: "",
      origin: "",
      context: "",
      message: "",
    }),
  ];
}

/** Waits until `count` items arrived, then returns them all. */
async function waitForItems(
  received: () => Promise<string[]>,
  count: number,
  timeoutMs: number,
): Promise<string[]> {
  return waitFor(
    `${count} items at the receiver`,
    async () => {
      const items = await received();
      return items.length >= count ? items : undefined;
    },
    timeoutMs,
  );
}

/**
 * The behaviour every destination shares (like unstorage's `testDriver()`): call it once from each
 * destination test file with a factory that starts a receiver and builds a destination for it.
 */
export function testDestinationContract(
  name: string,
  makeDestination: () => Promise<DestinationFixture>,
  options: DestinationContractOptions = {},
): void {
  const normalize = options.normalize ?? ((item: string) => item);
  const arrivalTimeoutMs = options.arrivalTimeoutMs ?? 10_000;

  describe(`${name} destination contract`, () => {
    let fixture: DestinationFixture;
    const items = (): string[] =>
      (options.events ?? sampleEvents())
        .flatMap((event) => fixture.destination.serialize(event))
        .slice(0, fixture.destination.maxBatchItems);

    beforeEach(async () => {
      fixture = await makeDestination();
    });

    afterEach(async () => {
      await fixture.destination.close();
      await fixture.cleanup();
    });

    test("declares usable batch limits", () => {
      const { maxBatchItems, maxBatchBytes, flushIntervalMs } = fixture.destination;
      expect(Number.isInteger(maxBatchItems) && maxBatchItems >= 1).toBe(true);
      expect(maxBatchBytes > 0).toBe(true);
      expect(Number.isFinite(flushIntervalMs) && flushIntervalMs >= 0).toBe(true);
    });

    test("serialize turns every sample event into one or more strings", () => {
      for (const event of options.events ?? sampleEvents()) {
        const serialized = fixture.destination.serialize(event);
        expect(serialized.length).toBeGreaterThan(0);
        expect(serialized.every((item) => typeof item === "string")).toBe(true);
      }
    });

    test("serialize is deterministic, so a retried item is the same item", () => {
      const [event] = options.events ?? sampleEvents();
      if (!event) throw new Error("no sample event");
      expect(fixture.destination.serialize(event)).toStrictEqual(fixture.destination.serialize(event));
    });

    test("a batch is sent with ok and arrives complete and in order", async () => {
      const batch = items();
      expect(await fixture.destination.send(batch)).toStrictEqual({ kind: "ok" });
      const received = await waitForItems(fixture.received, batch.length, arrivalTimeoutMs);
      expect(received).toStrictEqual(batch.map(normalize));
    });

    test("consecutive batches arrive in send order", async () => {
      const batch = items();
      const first = batch.slice(0, Math.ceil(batch.length / 2));
      const second = batch.slice(first.length);
      expect(await fixture.destination.send(first)).toStrictEqual({ kind: "ok" });
      if (second.length > 0) expect(await fixture.destination.send(second)).toStrictEqual({ kind: "ok" });
      const received = await waitForItems(fixture.received, batch.length, arrivalTimeoutMs);
      expect(received).toStrictEqual(batch.map(normalize));
    });

    test("send to a stopped receiver resolves to retry instead of throwing", async () => {
      await fixture.stopReceiver();
      const result = await fixture.destination.send(items());
      expect(result.kind).toBe("retry");
    });

    test("close resolves and may be called twice", async () => {
      expect(await fixture.destination.send(items())).toStrictEqual({ kind: "ok" });
      await expect(fixture.destination.close()).resolves.toBeUndefined();
      await expect(fixture.destination.close()).resolves.toBeUndefined();
    });
  });
}
