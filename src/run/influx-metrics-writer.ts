import type { Config } from "../config/schema.ts";
import {
  computeQueueMetricsFields,
  type EventCounter,
  formatEventCountLines,
  formatQueueMetricsLine,
  type IngestTotals,
  snapshotIngestTotals,
} from "../destinations/influx-metrics.ts";
import type { ProcessingTimes } from "../ingest/processing-time.ts";
import { every } from "./every.ts";

/** Collaborators of {@link createInfluxMetricsWriter}; getters are read at each write, so reloads apply. */
export interface InfluxMetricsWriterOptions {
  config: () => Config;
  /** The InfluxDB outbox lane, or null when InfluxDB is off. */
  influx: () => string | null;
  /** The cumulative ingest counters, including what the receive thread dropped. */
  totals: () => IngestTotals;
  eventCounter: EventCounter;
  /** Processing times of the current interval; reset at each ingest-metrics write. */
  intervalTimes: ProcessingTimes;
  /** Datagrams admitted in the current rate-limit window (0 without a limit). */
  rateLimitCurrent: () => number;
  enqueue: (destination: string, items: string[]) => void;
  /** The kernel's current RcvbufErrors, or null off Linux. */
  kernelErrors: () => number | null;
}

/**
 * Puts `event_count` (reference §10.5) and `user_events_queue` (reference §10.6) points into the InfluxDB outbox every
 * `writeFrequency`, and once more at shutdown so the last partial interval's deltas are not lost.
 */
export function createInfluxMetricsWriter(o: InfluxMetricsWriterOptions) {
  let previousTotals = snapshotIngestTotals(o.totals());
  let previousKernel = o.kernelErrors();
  const timers: ReturnType<typeof setInterval>[] = [];

  function writeEventCounts(): void {
    const config = o.config();
    const influx = o.influx();
    const server = config.features.required.influxdb;
    if (influx === null || server === null || !config.features.eventCount) return;
    const counts = o.eventCounter.drain();
    if (counts.length === 0) return;
    const bs = config["Butler-SOS"];
    const ec = bs.qlikSenseEvents.eventCount.influxdb;
    const lines = formatEventCountLines(counts, {
      version: server.version,
      measurement: ec.measurementName,
      tags: ec.tags,
      timeNs: `${Date.now()}000000`,
    });
    o.enqueue(influx, lines);
  }

  function writeQueueMetrics(): void {
    const config = o.config();
    const influx = o.influx();
    const server = config.features.required.influxdb;
    if (influx === null || server === null || !config.features.queueMetrics) return;
    const totals = snapshotIngestTotals(o.totals());
    const raw = o.kernelErrors();
    const fields = computeQueueMetricsFields(totals, previousTotals, {
      kernelRcvbufErrors: raw === null ? null : raw - (previousKernel ?? raw),
      rateLimitCurrent: o.rateLimitCurrent(),
      processing: o.intervalTimes.summary(),
    });
    previousTotals = totals;
    previousKernel = raw;
    o.intervalTimes.reset();
    const bs = config["Butler-SOS"];
    const qm = bs.userEvents.udpServerConfig.queueMetrics.influxdb;
    const line = formatQueueMetricsLine(fields, {
      version: server.version,
      measurement: qm.measurementName,
      tags: qm.tags,
      timeNs: `${Date.now()}000000`,
    });
    o.enqueue(influx, [line]);
  }

  function stop(): void {
    for (const t of timers.splice(0)) clearInterval(t);
  }

  return {
    /** (Re)starts the timers for the current config. */
    start(): void {
      stop();
      const config = o.config();
      const features = config.features;
      const bs = config["Butler-SOS"];
      if (features.eventCount)
        timers.push(every(bs.qlikSenseEvents.influxdb.writeFrequency, writeEventCounts));
      if (features.queueMetrics) {
        timers.push(
          every(bs.userEvents.udpServerConfig.queueMetrics.influxdb.writeFrequency, writeQueueMetrics),
        );
      }
    },
    /** Starts the kernel-error baseline afresh (a new monitor after a rebind). */
    resetKernelBaseline(): void {
      previousKernel = o.kernelErrors();
    },
    stop,
    /** Stops the timers and queues the last partial interval. */
    final(): void {
      stop();
      writeEventCounts();
      writeQueueMetrics();
    },
  };
}
