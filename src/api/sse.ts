import type { UserEvent } from "../events/event.ts";
import { type EventMatcher, type EventRing, eventKeys, matchesKeys } from "../events/ring.ts";

/** Options for {@link createEventStreams}; the limits are spec §13 values unless a test lowers them. */
export interface EventStreamsOptions {
  ring: EventRing;
  /** Most concurrent streams; the next one gets 503. @default 100 */
  maxStreams?: number;
  /** Queued events at which a slow client is disconnected. @default 1000 */
  maxBehind?: number;
  /** Interval of the `: ping` comment, in ms. @default 15000 */
  pingIntervalMs?: number;
}

/** The set of open `/api/events/stream` responses. */
export interface EventStreams {
  /** Opens a stream (replaying events after `lastEventId`), or returns null when the limit is reached. */
  open(matcher: EventMatcher, lastEventId: number | null): Response | null;
  /** Sends one accepted event to every matching stream. */
  broadcast(event: UserEvent): void;
  /** Ends every open stream. */
  closeAll(): void;
  /** Number of open streams. */
  readonly count: number;
}

interface Client {
  controller: ReadableStreamDefaultController<string>;
  matcher: EventMatcher;
  /** While set, events come from the ring (pulled in batches) and live broadcasts are skipped. */
  replayCursor: number | null;
}

/** Events read from the ring per replay chunk. */
const REPLAY_BATCH = 256;
const PING = ": ping\n\n";

const frame = (event: UserEvent): string =>
  `id: ${event.id}\nevent: user-event\ndata: ${JSON.stringify(event)}\n\n`;

/**
 * Creates the SSE fan-out of spec §13. Each stream is a ReadableStream with a zero high-water mark, so
 * its queue holds exactly what the socket has not accepted yet; that queue length is "events behind".
 */
export function createEventStreams(options: EventStreamsOptions): EventStreams {
  const { ring } = options;
  const maxStreams = options.maxStreams ?? 100;
  const maxBehind = options.maxBehind ?? 1000;
  const pingIntervalMs = options.pingIntervalMs ?? 15_000;
  const clients = new Set<Client>();
  let pinger: ReturnType<typeof setInterval> | undefined;

  function drop(client: Client): void {
    clients.delete(client);
    if (clients.size === 0 && pinger !== undefined) {
      clearInterval(pinger);
      pinger = undefined;
    }
  }

  function send(client: Client, chunk: string): void {
    try {
      client.controller.enqueue(chunk);
    } catch {
      // The stream was already closed or cancelled by the other side.
      drop(client);
      return;
    }
    if (-(client.controller.desiredSize ?? 0) >= maxBehind) {
      drop(client);
      // error() discards the queued backlog instead of waiting for the slow client to read it.
      client.controller.error(new Error("[api] SSE client fell too far behind"));
    }
  }

  /** Enqueues the next replay chunk that has a matching event, or ends the replay. */
  function replay(client: Client): void {
    while (client.replayCursor !== null) {
      const batch = ring.after(client.replayCursor, REPLAY_BATCH);
      const last = batch[batch.length - 1];
      if (last === undefined) {
        client.replayCursor = null;
        return;
      }
      client.replayCursor = last.id;
      let chunk = "";
      for (const event of batch) if (matchesKeys(eventKeys(event), client.matcher)) chunk += frame(event);
      if (chunk !== "") {
        client.controller.enqueue(chunk);
        return;
      }
    }
  }

  function open(matcher: EventMatcher, lastEventId: number | null): Response | null {
    if (clients.size >= maxStreams) return null;
    let client: Client | undefined;
    const stream = new ReadableStream<string>(
      {
        start(controller) {
          client = { controller, matcher, replayCursor: lastEventId };
          clients.add(client);
          controller.enqueue(": connected\n\n");
        },
        pull() {
          if (client?.replayCursor != null) replay(client);
        },
        cancel() {
          if (client !== undefined) drop(client);
        },
      },
      { highWaterMark: 0 },
    );
    if (pinger === undefined) {
      pinger = setInterval(() => {
        for (const c of clients) send(c, PING);
      }, pingIntervalMs);
      pinger.unref();
    }
    return new Response(stream, {
      headers: {
        "content-type": "text/event-stream; charset=utf-8",
        "cache-control": "no-cache",
        connection: "keep-alive",
      },
    });
  }

  function broadcast(event: UserEvent): void {
    if (clients.size === 0) return;
    const keys = eventKeys(event);
    let chunk: string | undefined;
    for (const client of clients) {
      if (client.replayCursor !== null || !matchesKeys(keys, client.matcher)) continue;
      chunk ??= frame(event);
      send(client, chunk);
    }
  }

  function closeAll(): void {
    for (const client of clients) {
      try {
        client.controller.close();
      } catch {
        // Already closed by the client.
      }
      drop(client);
    }
  }

  return {
    open,
    broadcast,
    closeAll,
    get count() {
      return clients.size;
    },
  };
}
