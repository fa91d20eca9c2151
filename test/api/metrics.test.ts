import { expect, test } from "bun:test";
import { renderMetrics } from "../../src/api/metrics.ts";
import { sampleStats } from "./deps.ts";

test("renders every reference §13 metric family with HELP and TYPE lines", () => {
  expect(renderMetrics(sampleStats())).toBe(
    `# HELP sense_events_datagrams_received_total Datagrams read from the UDP socket.
# TYPE sense_events_datagrams_received_total counter
sense_events_datagrams_received_total 100
# HELP sense_events_datagrams_dropped_total Datagrams dropped before parsing, by reason.
# TYPE sense_events_datagrams_dropped_total counter
sense_events_datagrams_dropped_total{reason="source_not_allowed"} 2
sense_events_datagrams_dropped_total{reason="too_large"} 1
sense_events_datagrams_dropped_total{reason="rate_limited"} 0
sense_events_datagrams_dropped_total{reason="queue_full"} 0
# HELP sense_events_datagrams_rejected_total Datagrams rejected by the parser, by reason.
# TYPE sense_events_datagrams_rejected_total counter
sense_events_datagrams_rejected_total{reason="unknown_type"} 2
sense_events_datagrams_rejected_total{reason="malformed"} 1
# HELP sense_events_events_excluded_total Events dropped by excludeUser.
# TYPE sense_events_events_excluded_total counter
sense_events_events_excluded_total 3
# HELP sense_events_events_accepted_total Events accepted, by source.
# TYPE sense_events_events_accepted_total counter
sense_events_events_accepted_total{source="qseow-proxy-session"} 30
sense_events_events_accepted_total{source="qseow-proxy-connection"} 50
sense_events_events_accepted_total{source="proxy-user-event"} 10
# HELP sense_events_processing_errors_total Datagrams whose processing threw.
# TYPE sense_events_processing_errors_total counter
sense_events_processing_errors_total 1
# HELP sense_events_kernel_udp_rcvbuf_errors_total Kernel UDP receive-buffer errors (Linux RcvbufErrors).
# TYPE sense_events_kernel_udp_rcvbuf_errors_total counter
sense_events_kernel_udp_rcvbuf_errors_total 7
# HELP sense_events_events_stored Events held in the recent-events ring.
# TYPE sense_events_events_stored gauge
sense_events_events_stored 90
# HELP sense_events_sessions_active Active user sessions.
# TYPE sense_events_sessions_active gauge
sense_events_sessions_active 4
# HELP sense_events_sessions_evicted_total Sessions evicted by sessions.maxActive.
# TYPE sense_events_sessions_evicted_total counter
sense_events_sessions_evicted_total 0
# HELP sense_events_destination_up 1 when the destination is up, else 0.
# TYPE sense_events_destination_up gauge
sense_events_destination_up{destination="influxdb"} 1
sense_events_destination_up{destination="newrelic:Prod"} 0
# HELP sense_events_destination_enqueued_total Items queued, by destination (sent + dropped + queued).
# TYPE sense_events_destination_enqueued_total counter
sense_events_destination_enqueued_total{destination="influxdb"} 92
sense_events_destination_enqueued_total{destination="newrelic:Prod"} 39
# HELP sense_events_destination_sent_total Items delivered, by destination.
# TYPE sense_events_destination_sent_total counter
sense_events_destination_sent_total{destination="influxdb"} 87
sense_events_destination_sent_total{destination="newrelic:Prod"} 5
# HELP sense_events_destination_retries_total Delivery retries, by destination.
# TYPE sense_events_destination_retries_total counter
sense_events_destination_retries_total{destination="influxdb"} 1
sense_events_destination_retries_total{destination="newrelic:Prod"} 9
# HELP sense_events_destination_dropped_total Items dropped, by destination and reason.
# TYPE sense_events_destination_dropped_total counter
sense_events_destination_dropped_total{destination="influxdb",reason="overflow"} 0
sense_events_destination_dropped_total{destination="influxdb",reason="rejected"} 2
sense_events_destination_dropped_total{destination="influxdb",reason="cardinality"} 0
sense_events_destination_dropped_total{destination="influxdb",reason="spool_lost"} 0
sense_events_destination_dropped_total{destination="newrelic:Prod",reason="overflow"} 4
sense_events_destination_dropped_total{destination="newrelic:Prod",reason="rejected"} 0
sense_events_destination_dropped_total{destination="newrelic:Prod",reason="cardinality"} 0
sense_events_destination_dropped_total{destination="newrelic:Prod",reason="spool_lost"} 0
# HELP sense_events_destination_queue_items Items waiting, by destination and tier.
# TYPE sense_events_destination_queue_items gauge
sense_events_destination_queue_items{destination="influxdb",tier="memory"} 3
sense_events_destination_queue_items{destination="influxdb",tier="spool"} 0
sense_events_destination_queue_items{destination="newrelic:Prod",tier="memory"} 10
sense_events_destination_queue_items{destination="newrelic:Prod",tier="spool"} 20
`,
  );
});

test("leaves the kernel error family without a sample when the platform has no counter", () => {
  const stats = sampleStats();
  stats.udp.kernelRcvbufErrors = null;
  expect(renderMetrics(stats)).toContain(
    "# TYPE sense_events_kernel_udp_rcvbuf_errors_total counter\n# HELP sense_events_events_stored",
  );
});

test("escapes backslashes, quotes and newlines in label values", () => {
  const stats = sampleStats();
  const influx = stats.destinations.influxdb;
  if (influx === undefined) throw new Error("fixture lacks influxdb");
  stats.destinations = { 'newrelic:a\\b"c\nd': influx };
  expect(renderMetrics(stats)).toContain(
    'sense_events_destination_sent_total{destination="newrelic:a\\\\b\\"c\\nd"} 87\n',
  );
});
