import type { StatsSnapshot } from "../stats.ts";

type Labels = Record<string, string>;
type Sample = [labels: Labels, value: number];

const escapeLabel = (value: string): string =>
  value.replaceAll("\\", "\\\\").replaceAll('"', '\\"').replaceAll("\n", "\\n");

function family(name: string, type: "counter" | "gauge", help: string, samples: Sample[]): string {
  let text = `# HELP sense_events_${name} ${help}\n# TYPE sense_events_${name} ${type}\n`;
  for (const [labels, value] of samples) {
    const pairs = Object.entries(labels).map(([k, v]) => `${k}="${escapeLabel(v)}"`);
    text += `sense_events_${name}${pairs.length > 0 ? `{${pairs.join(",")}}` : ""} ${value}\n`;
  }
  return text;
}

const byKey = (label: string, values: Record<string, number>): Sample[] =>
  Object.entries(values).map(([key, value]) => [{ [label]: key }, value]);

/** Renders the stats snapshot in Prometheus text format 0.0.4 (reference §13 `/metrics`). */
export function renderMetrics(stats: StatsSnapshot): string {
  const d = stats.datagrams;
  const dests = Object.entries(stats.destinations);
  const perDestination = (pick: (s: (typeof dests)[number][1]) => number): Sample[] =>
    dests.map(([destination, s]) => [{ destination }, pick(s)]);
  const rcvbuf = stats.udp.kernelRcvbufErrors;
  return [
    family("datagrams_received_total", "counter", "Datagrams read from the UDP socket.", [[{}, d.received]]),
    family(
      "datagrams_dropped_total",
      "counter",
      "Datagrams dropped before parsing, by reason.",
      byKey("reason", d.dropped),
    ),
    family(
      "datagrams_rejected_total",
      "counter",
      "Datagrams rejected by the parser, by reason.",
      byKey("reason", d.rejected),
    ),
    family("events_excluded_total", "counter", "Events dropped by excludeUser.", [[{}, d.excluded]]),
    family(
      "events_accepted_total",
      "counter",
      "Events accepted, by source.",
      byKey("source", stats.acceptedBySource),
    ),
    family("processing_errors_total", "counter", "Datagrams whose processing threw.", [
      [{}, d.processingErrors],
    ]),
    // Only Linux exposes RcvbufErrors; elsewhere the family has no sample.
    family(
      "kernel_udp_rcvbuf_errors_total",
      "counter",
      "Kernel UDP receive-buffer errors (Linux RcvbufErrors).",
      rcvbuf === null ? [] : [[{}, rcvbuf]],
    ),
    family("events_stored", "gauge", "Events held in the recent-events ring.", [[{}, stats.events.stored]]),
    family("sessions_active", "gauge", "Active user sessions.", [[{}, stats.sessions.active]]),
    family("sessions_evicted_total", "counter", "Sessions evicted by sessions.maxActive.", [
      [{}, stats.sessions.evicted],
    ]),
    family(
      "destination_up",
      "gauge",
      "1 when the destination is up, else 0.",
      perDestination((s) => (s.state === "up" ? 1 : 0)),
    ),
    family(
      "destination_enqueued_total",
      "counter",
      "Items queued, by destination (sent + dropped + queued).",
      perDestination((s) => s.enqueued),
    ),
    family(
      "destination_sent_total",
      "counter",
      "Items delivered, by destination.",
      perDestination((s) => s.sent),
    ),
    family(
      "destination_retries_total",
      "counter",
      "Delivery retries, by destination.",
      perDestination((s) => s.retries),
    ),
    family(
      "destination_dropped_total",
      "counter",
      "Items dropped, by destination and reason.",
      dests.flatMap(([destination, s]) =>
        byKey("reason", s.dropped).map(([l, v]): Sample => [{ destination, ...l }, v]),
      ),
    ),
    family(
      "destination_queue_items",
      "gauge",
      "Items waiting, by destination and tier.",
      dests.flatMap(([destination, s]) =>
        byKey("tier", s.queued).map(([l, v]): Sample => [{ destination, ...l }, v]),
      ),
    ),
    ...historyFamilies(stats),
  ].join("");
}

/** The history families (reference §19): stored events, bytes, prunes and the last event per host. */
function historyFamilies(stats: StatsSnapshot): string[] {
  const h = stats.history;
  if (h === undefined) return [];
  return [
    family("history_events", "gauge", "Events in the history file.", [[{}, h.events]]),
    family("history_bytes", "gauge", "Bytes the history file uses.", [[{}, h.bytes]]),
    family(
      "history_pruned_total",
      "counter",
      "Events deleted from the history, by reason.",
      byKey("reason", h.pruned),
    ),
    family(
      "host_last_event_timestamp_seconds",
      "gauge",
      "Time of the last event from each proxy node, epoch seconds.",
      byKey("host", h.hostLastEventSeconds),
    ),
  ];
}
