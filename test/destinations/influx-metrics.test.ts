import { describe, expect, test } from "bun:test";
import { hostname } from "node:os";
import {
  computeQueueMetricsFields,
  createEventCounter,
  formatEventCountLines,
  formatQueueMetricsLine,
  type IngestTotals,
  type QueueMetricsFields,
  snapshotIngestTotals,
} from "../../src/destinations/influx-metrics.ts";
import type { InfluxVersion } from "../../src/destinations/line-protocol.ts";
import { createDatagramCounters } from "../../src/stats.ts";

describe("event counter (reference §10.5)", () => {
  test("aggregates per source, host and origin, including rejections and empty origins", () => {
    const counter = createEventCounter();
    counter.add("qseow-proxy-session", "pro2-win1", "AppAccess");
    counter.add("qseow-proxy-session", "pro2-win1", "AppAccess");
    counter.add("qseow-proxy-session", "pro2-win1", "");
    counter.add("Unknown", "Unknown", "Unknown");
    expect(counter.drain()).toStrictEqual([
      { source: "qseow-proxy-session", host: "pro2-win1", subsystem: "AppAccess", count: 2 },
      { source: "qseow-proxy-session", host: "pro2-win1", subsystem: "", count: 1 },
      { source: "Unknown", host: "Unknown", subsystem: "Unknown", count: 1 },
    ]);
  });

  test("drain resets the counts, so an idle interval yields nothing", () => {
    const counter = createEventCounter();
    counter.add("proxy-user-event", "h", "o");
    counter.drain();
    expect(counter.drain()).toStrictEqual([]);
  });
});

describe("event_count lines (reference §10.5)", () => {
  const count = { source: "qseow-proxy-session", host: "pro2-win1", subsystem: "AppAccess", count: 5 };
  const options = (version: InfluxVersion) => ({
    version,
    measurement: "event_count",
    tags: [{ name: "qs_env", value: "dev" }],
    timeNs: "1732090560000000000",
  });

  test.each([
    [
      1,
      "event_count,event_type=user,host=pro2-win1,qs_env=dev,source=qseow-proxy-session,subsystem=AppAccess counter=5 1732090560000000000",
    ],
    [
      2,
      "event_count,event_type=user,host=pro2-win1,qs_env=dev,source=qseow-proxy-session,subsystem=AppAccess counter=5i 1732090560000000000",
    ],
    [
      3,
      "event_count,event_type=user,host=pro2-win1,qs_env=dev,source=qseow-proxy-session,subsystem=AppAccess counter=5i 1732090560000000000",
    ],
  ] as [InfluxVersion, string][])("v%i line is exact", (version, expected) => {
    expect(formatEventCountLines([count], options(version))).toStrictEqual([expected]);
  });

  test("an empty origin omits the subsystem tag", () => {
    expect(formatEventCountLines([{ ...count, subsystem: "" }], options(2))).toStrictEqual([
      "event_count,event_type=user,host=pro2-win1,qs_env=dev,source=qseow-proxy-session counter=5i 1732090560000000000",
    ]);
  });

  test("a configured tag replaces a built-in tag of the same name", () => {
    expect(
      formatEventCountLines([count], { ...options(1), tags: [{ tag: "event_type", value: "custom" }] }),
    ).toStrictEqual([
      "event_count,event_type=custom,host=pro2-win1,source=qseow-proxy-session,subsystem=AppAccess counter=5 1732090560000000000",
    ]);
  });
});

describe("user_events_queue (reference §10.6)", () => {
  function totals(): IngestTotals {
    const c = createDatagramCounters();
    c.received = 100;
    c.excluded = 3;
    c.processingErrors = 1;
    c.dropped = { source_not_allowed: 10, too_large: 4, rate_limited: 6, queue_full: 3 };
    c.rejected = { unknown_type: 2, malformed: 5 };
    return c;
  }

  const extra = { kernelRcvbufErrors: 7, rateLimitCurrent: 120, processing: { avg: 0.25, p95: 1.5, max: 2 } };

  const expected: QueueMetricsFields = {
    messages_received: 90,
    messages_queued: 77,
    messages_processed: 77,
    messages_failed: 1,
    messages_dropped_size: 4,
    messages_dropped_rate_limit: 6,
    messages_dropped_total: 13,
    processing_time_avg_ms: 0.25,
    processing_time_p95_ms: 1.5,
    processing_time_max_ms: 2,
    rate_limit_current: 120,
    queue_size: 0,
    queue_max_size: 0,
    queue_running: 0,
    queue_utilization_pct: 0,
    messages_dropped_queue_full: 3,
    backpressure_active: 0,
    messages_dropped_source: 10,
    messages_rejected_unknown_type: 2,
    messages_rejected_malformed: 5,
    messages_excluded: 3,
    kernel_rcvbuf_errors: 7,
  };

  test("fields are the counter deltas since the previous snapshot", () => {
    const previous = snapshotIngestTotals(createDatagramCounters());
    expect(computeQueueMetricsFields(totals(), previous, extra)).toStrictEqual(expected);
  });

  test("the snapshot is a copy that later increments do not change", () => {
    const current = totals();
    const previous = snapshotIngestTotals(current);
    current.received += 5;
    current.dropped.too_large += 1;
    expect(computeQueueMetricsFields(current, previous, { ...extra, kernelRcvbufErrors: 0 })).toStrictEqual({
      ...expected,
      messages_received: 5,
      messages_queued: 4,
      messages_processed: 4,
      messages_failed: 0,
      messages_dropped_size: 1,
      messages_dropped_rate_limit: 0,
      messages_dropped_total: 1,
      messages_dropped_queue_full: 0,
      messages_dropped_source: 0,
      messages_rejected_unknown_type: 0,
      messages_rejected_malformed: 0,
      messages_excluded: 0,
      kernel_rcvbuf_errors: 0,
    });
  });

  const fieldsV1 =
    "backpressure_active=0,kernel_rcvbuf_errors=7,messages_dropped_queue_full=3,messages_dropped_rate_limit=6,messages_dropped_size=4,messages_dropped_source=10,messages_dropped_total=13,messages_excluded=3,messages_failed=1,messages_processed=77,messages_queued=77,messages_received=90,messages_rejected_malformed=5,messages_rejected_unknown_type=2,processing_time_avg_ms=0.25,processing_time_max_ms=2,processing_time_p95_ms=1.5,queue_max_size=0,queue_running=0,queue_size=0,queue_utilization_pct=0,rate_limit_current=120";
  const fieldsV2 =
    "backpressure_active=0i,kernel_rcvbuf_errors=7i,messages_dropped_queue_full=3i,messages_dropped_rate_limit=6i,messages_dropped_size=4i,messages_dropped_source=10i,messages_dropped_total=13i,messages_excluded=3i,messages_failed=1i,messages_processed=77i,messages_queued=77i,messages_received=90i,messages_rejected_malformed=5i,messages_rejected_unknown_type=2i,processing_time_avg_ms=0.25,processing_time_max_ms=2,processing_time_p95_ms=1.5,queue_max_size=0i,queue_running=0i,queue_size=0i,queue_utilization_pct=0,rate_limit_current=120i";

  test.each([
    [1, fieldsV1],
    [2, fieldsV2],
    [3, fieldsV2],
  ] as [InfluxVersion, string][])("v%i line has the OS hostname and every field", (version, fields) => {
    const line = formatQueueMetricsLine(expected, {
      version,
      measurement: "user_events_queue",
      tags: [{ name: "qs_env", value: "dev" }],
      timeNs: "1732090560000000000",
    });
    const host = hostname().replaceAll(" ", "\\ ").replaceAll(",", "\\,").replaceAll("=", "\\=");
    expect(line).toBe(
      `user_events_queue,host=${host},qs_env=dev,queue_type=user_events ${fields} 1732090560000000000`,
    );
  });

  test("kernel_rcvbuf_errors is omitted when unknown (not Linux)", () => {
    const line = formatQueueMetricsLine(
      { ...expected, kernel_rcvbuf_errors: null },
      { version: 2, measurement: "user_events_queue", tags: [], timeNs: "1", host: "h" },
    );
    expect(line).toBe(
      `user_events_queue,host=h,queue_type=user_events ${fieldsV2.replace("kernel_rcvbuf_errors=7i,", "")} 1`,
    );
  });
});
