// The per-datagram path on the main thread: the gates before parsing (allow-list, size, rate
// limit), then src/ingest/process.ts for the event, then counting, storing and handing the
// serialised items to the outbox. The one place that catches an unexpected error of a datagram.
import type { DeliverableEvent, UserEvent } from "../events/event.ts";
import type { Logger } from "../log.ts";
import type { DatagramCounters } from "../stats.ts";
import type { Processor } from "./process.ts";

const previewDecoder = new TextDecoder();

/** What the pipeline needs from the datagram processor. */
export type DatagramProcessor = Pick<Processor, "process">;

/** A destination as the pipeline sees it: serialise now, the outbox delivers later. */
export interface PipelineTarget {
  readonly name: string;
  serialize(event: DeliverableEvent): string[];
}

/** The parts of the pipeline that a config reload swaps as a whole. */
export interface PipelineSettings {
  /** Source allow-list gate (counts nothing, logs throttled); null when validation is off. */
  allows: ((ip: string) => boolean) | null;
  maxMessageSize: number;
  /** Rate limiter (logs its own throttled warnings); null when off. `admit()` is false past the limit. */
  rateLimit: { admit(): boolean } | null;
  onTooLarge: (bytes: number, address: string) => void;
  /** Event-count aggregation (reference §10.5); null when event counts are off. */
  eventCount: { add(source: string, host: string, origin: string): void } | null;
  /** Destinations to enqueue for, in a fixed order. */
  targets: PipelineTarget[];
}

/** Collaborators that live for the whole process (not swapped by a reload). */
export interface PipelineDeps {
  counters: DatagramCounters;
  /** One processor for the whole run, so ids and timestamps continue across reloads. */
  processor: DatagramProcessor;
  rejected: {
    add(entry: {
      receivedAt: string;
      reason: "unknown_type" | "malformed";
      detail: string;
      remoteAddress: string;
      remotePort: number;
      bytes: number;
      text: string;
    }): void;
  };
  store: (event: UserEvent) => void;
  enqueue: (destination: string, items: string[]) => void;
  processingTimes: { record(ms: number): void };
  log: Logger;
  now?: () => number;
}

/**
 * The per-datagram path of reference §2: allow-list, size, rate limit, parse and enrich, count,
 * store, enqueue. Synchronous, never waits on I/O and never throws.
 */
export function createPipeline(deps: PipelineDeps, initial: PipelineSettings) {
  const { counters, log } = deps;
  const now = deps.now ?? Date.now;
  let settings = initial;

  function handle(msg: Uint8Array, address: string, port: number, receivedAtMs = now()): void {
    const s = settings;
    counters.received++;
    if (s.allows !== null && !s.allows(address)) {
      counters.dropped.source_not_allowed++;
      return;
    }
    if (msg.byteLength > s.maxMessageSize) {
      counters.dropped.too_large++;
      s.onTooLarge(msg.byteLength, address);
      return;
    }
    if (s.rateLimit !== null && !s.rateLimit.admit()) {
      counters.dropped.rate_limited++;
      return;
    }
    const started = performance.now();
    try {
      processDatagram(s, msg, address, port, receivedAtMs);
    } catch (error) {
      counters.processingErrors++;
      const preview = previewDecoder.decode(msg.subarray(0, 2048)).slice(0, 512);
      log.error(`[ingest] processing failed: ${(error as Error).message}`, { preview });
    }
    deps.processingTimes.record(performance.now() - started);
  }

  function processDatagram(
    s: PipelineSettings,
    msg: Uint8Array,
    address: string,
    port: number,
    receivedAtMs: number,
  ) {
    const result = deps.processor.process(msg, address, receivedAtMs);
    if (result.kind === "rejected") {
      counters.rejected[result.reason]++;
      s.eventCount?.add("Unknown", "Unknown", "Unknown");
      deps.rejected.add({
        receivedAt: new Date(receivedAtMs).toISOString(),
        reason: result.reason,
        detail: result.detail,
        remoteAddress: address,
        remotePort: port,
        bytes: msg.byteLength,
        text: result.text,
      });
      return;
    }
    if (result.kind === "excluded") {
      counters.excluded++;
      s.eventCount?.add(result.source, result.host, result.origin);
      return;
    }
    const { deliverable } = result;
    const event = deliverable.event;
    s.eventCount?.add(event.source, event.host, event.origin);
    // Destinations first: a failure in the API's store must not keep an event from InfluxDB/MQTT.
    for (const target of s.targets) {
      const items = target.serialize(deliverable);
      if (items.length > 0) deps.enqueue(target.name, items);
    }
    counters.accepted++;
    counters.acceptedBySource[event.source]++;
    deps.store(event);
    if (log.enabled("verbose")) {
      log.verbose(
        `[event] ${event.id} ${event.action} ${event.userDirectory}\\${event.userId} on ${event.host}`,
      );
      log.debug(`[event] ${JSON.stringify(event)}`);
    }
  }

  return {
    /** The UDP `onDatagram` handler. */
    handle,
    /** Swaps the reloadable parts atomically (the next datagram sees all of the new settings). */
    configure(next: PipelineSettings): void {
      settings = next;
    },
  };
}

/** The pipeline returned by {@link createPipeline}. */
export type Pipeline = ReturnType<typeof createPipeline>;
