import type { UserEvent } from "../events/event.ts";
import { type EventMatcher, type EventRing, matchesEvent } from "../events/ring.ts";

/** Options for {@link createEventStreams}; the limits are reference §13 values unless a test lowers them. */
export interface EventStreamsOptions {
  ring: EventRing;
  /** Most concurrent streams; the next one gets 503. @default 100 */
  maxStreams?: number;
  /** Frames (events and pings) the client has not taken at which it is disconnected. @default 1000 */
  maxBehind?: number;
  /** Characters of frames the client has not taken at which it is disconnected (bounds memory per stream). @default 2097152 */
  maxBehindChars?: number;
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
  /** Frames the socket has not asked for yet. */
  pending: string[];
  /** Characters in `pending`. */
  pendingChars: number;
  /** True when the response is waiting for data: the next frame is handed over at once. */
  waiting: boolean;
}

/** Events read from the ring per replay chunk. */
const REPLAY_BATCH = 256;
const PING = ": ping\n\n";

const frame = (event: UserEvent): string =>
  `id: ${event.id}\nevent: user-event\ndata: ${JSON.stringify(event)}\n\n`;

/**
 * Creates the SSE fan-out of reference §13. Streams are pull-based: a frame is handed to the response only
 * when it asks for one, which Bun does once the socket has taken the previous one. Everything else waits
 * in `pending`, whose length is how far the client is behind.
 */
export function createEventStreams(options: EventStreamsOptions): EventStreams {
  const { ring } = options;
  const maxStreams = options.maxStreams ?? 100;
  const maxBehind = options.maxBehind ?? 1000;
  const maxBehindChars = options.maxBehindChars ?? 2 * 1024 * 1024;
  const pingIntervalMs = options.pingIntervalMs ?? 15_000;
  const clients = new Set<Client>();
  let pinger: ReturnType<typeof setInterval> | undefined;

  /** Forgets a client and ends its response (a no-op if the other side already cancelled it). */
  function end(client: Client): void {
    clients.delete(client);
    client.pending = [];
    client.pendingChars = 0;
    try {
      client.controller.close();
    } catch {
      // Already closed or cancelled.
    }
    if (clients.size === 0 && pinger !== undefined) {
      clearInterval(pinger);
      pinger = undefined;
    }
  }

  /** Hands a chunk to the stream; a stream the runtime already closed ends the client instead of throwing. */
  function send(client: Client, chunk: string): void {
    try {
      client.controller.enqueue(chunk);
    } catch {
      end(client);
    }
  }

  function deliver(client: Client, chunk: string): void {
    if (client.waiting) {
      client.waiting = false;
      send(client, chunk);
      return;
    }
    client.pending.push(chunk);
    client.pendingChars += chunk.length;
    // Closing drops the backlog; the client sees a clean end of stream and may reconnect with Last-Event-ID.
    // Pings count too, so a dead peer on a quiet system is dropped after maxBehind pings.
    if (client.pending.length >= maxBehind || client.pendingChars >= maxBehindChars) end(client);
  }

  /** Enqueues the next replay chunk with a matching event; false once the replay has caught up. */
  function replay(client: Client): boolean {
    while (client.replayCursor !== null) {
      const batch = ring.after(client.replayCursor, REPLAY_BATCH);
      const last = batch[batch.length - 1];
      if (last === undefined) {
        client.replayCursor = null;
        return false;
      }
      client.replayCursor = last.id;
      let chunk = "";
      for (const event of batch) if (matchesEvent(event, client.matcher)) chunk += frame(event);
      if (chunk !== "") {
        send(client, chunk);
        return true;
      }
    }
    return false;
  }

  function pull(client: Client): void {
    if (!clients.has(client) || replay(client)) return;
    if (client.pending.length === 0) {
      client.waiting = true;
      return;
    }
    send(client, client.pending.join(""));
    client.pending = [];
    client.pendingChars = 0;
  }

  function open(matcher: EventMatcher, lastEventId: number | null): Response | null {
    if (clients.size >= maxStreams) return null;
    let client: Client | undefined;
    const stream = new ReadableStream<string>(
      {
        start(controller) {
          client = {
            controller,
            matcher,
            replayCursor: lastEventId,
            pending: [],
            pendingChars: 0,
            waiting: false,
          };
          clients.add(client);
          controller.enqueue(": connected\n\n");
        },
        pull() {
          if (client !== undefined) pull(client);
        },
        cancel() {
          if (client !== undefined) end(client);
        },
      },
      { highWaterMark: 0 },
    );
    if (pinger === undefined) {
      pinger = setInterval(() => {
        for (const c of clients) deliver(c, PING);
      }, pingIntervalMs);
      pinger.unref();
    }
    return new Response(stream, {
      headers: {
        "content-type": "text/event-stream; charset=utf-8",
        "cache-control": "no-cache",
      },
    });
  }

  function broadcast(event: UserEvent): void {
    if (clients.size === 0) return;
    let chunk: string | undefined;
    for (const client of clients) {
      if (client.replayCursor !== null || !matchesEvent(event, client.matcher)) continue;
      chunk ??= frame(event);
      deliver(client, chunk);
    }
  }

  function closeAll(): void {
    for (const client of clients) end(client);
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
