import {
  computeQueueMetricsFields,
  type EventCounter,
  formatEventCountLines,
  formatQueueMetricsLine,
  snapshotIngestTotals,
} from "../destinations/influx-metrics.ts";
import type { Outbox } from "../destinations/outbox.ts";
import type { ProcessingTimes } from "../ingest/processing-time.ts";
import type { DatagramCounters } from "../stats.ts";
import type { Settings } from "./settings.ts";

/** Collaborators of {@link createInfluxMetricsWriter}; getters are read at each write, so reloads apply. */
export interface InfluxMetricsWriterOptions {
  settings: () => Settings;
  counters: DatagramCounters;
  eventCounter: EventCounter;
  /** Processing times of the current interval; reset at each ingest-metrics write. */
  intervalTimes: ProcessingTimes;
  outbox: Pick<Outbox, "enqueue">;
  /** The kernel's current RcvbufErrors, or null off Linux. */
  kernelErrors: () => number | null;
  /** Brings `counters` up to date with what other threads counted. */
  sync: () => void;
}

/**
 * Puts `event_count` (§10.5) and `user_events_queue` (§10.6) points into the InfluxDB outbox every
 * `writeFrequency`, and once more at shutdown so the last partial interval's deltas are not lost.
 */
export function createInfluxMetricsWriter(o: InfluxMetricsWriterOptions) {
  let previousTotals = snapshotIngestTotals(o.counters);
  let previousKernel = o.kernelErrors();
  const timers: ReturnType<typeof setInterval>[] = [];

  function writeEventCounts(): void {
    const { destinations, features, config } = o.settings();
    if (destinations.influx === null || !features.eventCount) return;
    const counts = o.eventCounter.drain();
    if (counts.length === 0) return;
    const bs = config["Butler-SOS"];
    const ec = bs.qlikSenseEvents.eventCount.influxdb;
    const lines = formatEventCountLines(counts, {
      version: bs.influxdbConfig.version ?? 1,
      measurement: ec.measurementName,
      tags: ec.tags,
      timeNs: `${Date.now()}000000`,
    });
    o.outbox.enqueue(destinations.influx.name, lines);
  }

  function writeQueueMetrics(): void {
    const { destinations, features, config, rateLimiter } = o.settings();
    if (destinations.influx === null || !features.queueMetrics) return;
    o.sync();
    const totals = snapshotIngestTotals(o.counters);
    const raw = o.kernelErrors();
    const fields = computeQueueMetricsFields(totals, previousTotals, {
      kernelRcvbufErrors: raw === null ? null : raw - (previousKernel ?? raw),
      rateLimitCurrent: rateLimiter?.currentRate() ?? 0,
      processing: o.intervalTimes.summary(),
    });
    previousTotals = totals;
    previousKernel = raw;
    o.intervalTimes.reset();
    const bs = config["Butler-SOS"];
    const qm = bs.userEvents.udpServerConfig.queueMetrics.influxdb;
    const line = formatQueueMetricsLine(fields, {
      version: bs.influxdbConfig.version ?? 1,
      measurement: qm.measurementName,
      tags: qm.tags,
      timeNs: `${Date.now()}000000`,
    });
    o.outbox.enqueue(destinations.influx.name, [line]);
  }

  function stop(): void {
    for (const t of timers.splice(0)) clearInterval(t);
  }

  return {
    /** (Re)starts the timers for the current settings. */
    start(): void {
      stop();
      const { features, config } = o.settings();
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

/** An unref'd interval. */
export function every(ms: number, fn: () => void): ReturnType<typeof setInterval> {
  const timer = setInterval(fn, ms);
  timer.unref();
  return timer;
}
