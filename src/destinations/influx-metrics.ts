import { hostname } from "node:os";
import type { DatagramCounters } from "../stats.ts";
import { formatPoint, type InfluxVersion, mergeStaticTags, type StaticTag } from "./line-protocol.ts";

/** One aggregated event count for an interval (reference §10.5). */
export interface EventCount {
  source: string;
  host: string;
  /** The event's origin; "" omits the `subsystem` tag. */
  subsystem: string;
  count: number;
}

/** Counts events per (source, host, origin) between flushes (reference §10.5). */
export interface EventCounter {
  /** Counts one event; the caller passes `Unknown`, `Unknown`, `Unknown` for a rejection. */
  add(source: string, host: string, origin: string): void;
  /** Returns the counts since the last drain and resets them; empty for an idle interval. */
  drain(): EventCount[];
}

/** Creates an event counter; nested maps keep `add` free of string concatenation on the hot path. */
export function createEventCounter(): EventCounter {
  let counts = new Map<string, Map<string, Map<string, EventCount>>>();
  return {
    add(source, host, origin) {
      let byHost = counts.get(source);
      if (!byHost) {
        byHost = new Map();
        counts.set(source, byHost);
      }
      let byOrigin = byHost.get(host);
      if (!byOrigin) {
        byOrigin = new Map();
        byHost.set(host, byOrigin);
      }
      const entry = byOrigin.get(origin);
      if (entry) entry.count++;
      else byOrigin.set(origin, { source, host, subsystem: origin, count: 1 });
    },
    drain() {
      const out: EventCount[] = [];
      for (const byHost of counts.values()) {
        for (const byOrigin of byHost.values()) out.push(...byOrigin.values());
      }
      counts = new Map();
      return out;
    },
  };
}

/** Options shared by the metric measurements. */
export interface MetricLineOptions {
  version: InfluxVersion;
  /** Measurement name (`event_count` or `user_events_queue` by default). */
  measurement: string;
  /** Configured static tags; they replace built-in tags of the same name. */
  tags: readonly StaticTag[];
  /** Flush time in nanoseconds as a decimal string. */
  timeNs: string;
}

/** Formats one `event_count` line per key (reference §10.5). */
export function formatEventCountLines(counts: readonly EventCount[], options: MetricLineOptions): string[] {
  return counts.map((c) =>
    formatPoint(
      {
        measurement: options.measurement,
        tags: mergeStaticTags(
          { event_type: "user", source: c.source, host: c.host, subsystem: c.subsystem },
          options.tags,
        ),
        fields: { counter: { int: c.count } },
        timeNs: options.timeNs,
      },
      options.version,
    ),
  );
}

/** The cumulative ingest counters the queue metrics are computed from (a subset of {@link DatagramCounters}). */
export type IngestTotals = Pick<
  DatagramCounters,
  "received" | "excluded" | "processingErrors" | "dropped" | "rejected"
>;

/** Copies the counters, to keep as the baseline of the next interval. */
export function snapshotIngestTotals(c: IngestTotals): IngestTotals {
  return {
    received: c.received,
    excluded: c.excluded,
    processingErrors: c.processingErrors,
    dropped: { ...c.dropped },
    rejected: { ...c.rejected },
  };
}

/** Values for the interval that do not come from the counters. */
export interface QueueMetricsExtra {
  /** Kernel `RcvbufErrors` delta over the interval; null off Linux (the field is then omitted). */
  kernelRcvbufErrors: number | null;
  /** Admissions per minute in the current rate-limit window; 0 without a limit or after the window expired. */
  rateLimitCurrent: number;
  /** Processing-time summary of the interval, from ProcessingTimes.summary(). */
  processing: { avg: number; p95: number; max: number };
}

/** The `user_events_queue` fields of one interval (reference §10.6). */
export interface QueueMetricsFields {
  messages_received: number;
  messages_queued: number;
  messages_processed: number;
  messages_failed: number;
  messages_dropped_size: number;
  messages_dropped_rate_limit: number;
  messages_dropped_total: number;
  processing_time_avg_ms: number;
  processing_time_p95_ms: number;
  processing_time_max_ms: number;
  rate_limit_current: number;
  queue_size: number;
  queue_max_size: number;
  queue_running: number;
  queue_utilization_pct: number;
  messages_dropped_queue_full: number;
  backpressure_active: number;
  messages_dropped_source: number;
  messages_rejected_unknown_type: number;
  messages_rejected_malformed: number;
  messages_excluded: number;
  kernel_rcvbuf_errors: number | null;
}

const FLOAT_FIELDS = new Set([
  "processing_time_avg_ms",
  "processing_time_p95_ms",
  "processing_time_max_ms",
  "queue_utilization_pct",
]);

/**
 * Computes the interval's fields from counter deltas. `received` counts every datagram, so datagrams past
 * the allow-list are `received − source_not_allowed`, and past the size and rate limits also minus those.
 */
export function computeQueueMetricsFields(
  current: IngestTotals,
  previous: IngestTotals,
  extra: QueueMetricsExtra,
): QueueMetricsFields {
  const received = current.received - previous.received;
  const source = current.dropped.source_not_allowed - previous.dropped.source_not_allowed;
  const size = current.dropped.too_large - previous.dropped.too_large;
  const rate = current.dropped.rate_limited - previous.dropped.rate_limited;
  const queueFull = current.dropped.queue_full - previous.dropped.queue_full;
  const admitted = received - source - size - rate - queueFull;
  return {
    messages_received: received - source,
    messages_queued: admitted,
    messages_processed: admitted,
    messages_failed: current.processingErrors - previous.processingErrors,
    messages_dropped_size: size,
    messages_dropped_rate_limit: rate,
    messages_dropped_total: size + rate + queueFull,
    processing_time_avg_ms: extra.processing.avg,
    processing_time_p95_ms: extra.processing.p95,
    processing_time_max_ms: extra.processing.max,
    rate_limit_current: extra.rateLimitCurrent,
    queue_size: 0,
    queue_max_size: 0,
    queue_running: 0,
    queue_utilization_pct: 0,
    messages_dropped_queue_full: queueFull,
    backpressure_active: 0,
    messages_dropped_source: source,
    messages_rejected_unknown_type: current.rejected.unknown_type - previous.rejected.unknown_type,
    messages_rejected_malformed: current.rejected.malformed - previous.rejected.malformed,
    messages_excluded: current.excluded - previous.excluded,
    kernel_rcvbuf_errors: extra.kernelRcvbufErrors,
  };
}

/** Formats the `user_events_queue` line (reference §10.6); `host` defaults to the OS hostname. */
export function formatQueueMetricsLine(
  fields: QueueMetricsFields,
  options: MetricLineOptions & { host?: string },
): string {
  const values: Record<string, { int: number } | { float: number }> = {};
  for (const [key, value] of Object.entries(fields)) {
    if (value === null) continue;
    values[key] = FLOAT_FIELDS.has(key) ? { float: value } : { int: value };
  }
  return formatPoint(
    {
      measurement: options.measurement,
      tags: mergeStaticTags({ queue_type: "user_events", host: options.host ?? hostname() }, options.tags),
      fields: values,
      timeNs: options.timeNs,
    },
    options.version,
  );
}
