// The "Health" section: UDP, counters by outcome and drop reason, kernel drops, destinations and their
// queues, and every proxy node with its last event (silent nodes marked, from /api/hosts when history is on).
import { api } from "./api.js";
import { byId, fillTable, formatCount, formatDuration, formatTime, setText } from "./dom.js";

const OUTCOMES = [
  ["Received", (d) => d.received],
  ["Accepted", (d) => d.accepted],
  ["Excluded (excludeUser)", (d) => d.excluded],
  ["Rejected: unknown type", (d) => d.rejected.unknown_type],
  ["Rejected: malformed", (d) => d.rejected.malformed],
  ["Dropped: source not allowed", (d) => d.dropped.source_not_allowed],
  ["Dropped: too large", (d) => d.dropped.too_large],
  ["Dropped: rate limited", (d) => d.dropped.rate_limited],
  ["Dropped: queue full", (d) => d.dropped.queue_full],
  ["Processing errors", (d) => d.processingErrors],
];

/**
 * Starts the section; with `hostsApi` proxy nodes come from /api/hosts, otherwise `recentHosts()` gives
 * host → last event time from the live feed.
 */
export function startHealth({ recentHosts, hostsApi }) {
  let hostsFromHistory = hostsApi;

  /** Shows one /health body and one /api/stats snapshot. */
  function update(health, stats) {
    const status = byId("health-status");
    status.textContent = health.status;
    status.className = `state-${health.status}`;
    setText("health-udp", health.udp.listening ? `listening on ${health.udp.address}` : "not listening");
    byId("health-udp").className = health.udp.listening ? "state-ok" : "state-unavailable";
    const kernel = stats.udp.kernelRcvbufErrorsSinceStart;
    setText("health-kernel", kernel === null ? "not measured" : formatCount(kernel));
    byId("health-kernel").className = kernel ? "state-degraded" : "";
    setText("health-uptime", formatDuration(stats.uptimeSeconds));
    fillTable(byId("counters-table"), OUTCOMES, ([label, get]) => {
      const value = get(stats.datagrams);
      const bad = value > 0 && /Dropped|Rejected|errors/.test(label);
      return [label, { text: formatCount(value), className: bad ? "state-degraded" : "" }];
    });
    const destinations = Object.entries(stats.destinations);
    fillTable(byId("dest-table"), destinations, ([name, d]) => [
      name,
      { text: d.state, className: `state-${d.state}` },
      {
        text: formatCount(d.queued.memory + d.queued.spool),
        title: `memory ${d.queued.memory}, spool ${d.queued.spool}`,
      },
      formatCount(d.sent),
      d.lastError ?? "–",
    ]);
    byId("dest-table").hidden = destinations.length === 0;
    byId("dest-none").hidden = destinations.length !== 0;
  }

  async function loadHosts() {
    const table = byId("hosts-table");
    if (hostsFromHistory) {
      try {
        const { hosts } = await api("/api/hosts");
        hosts.sort((a, b) => a.host.localeCompare(b.host));
        fillTable(table, hosts, (h) => [
          h.host,
          formatTime(h.lastSeen),
          formatCount(h.eventsLastHour),
          formatCount(h.eventsLastDay),
          h.silent
            ? { text: "silent", className: "state-silent" }
            : { text: "sending", className: "state-ok" },
        ]);
        setText("hosts-note", hosts.length ? "" : "No proxy node has sent an event yet.");
        return;
      } catch (error) {
        if (error.status !== 404) throw error;
        hostsFromHistory = false;
      }
    }
    // Without history: the nodes seen in the live feed since the page opened (no silent detection).
    const hosts = [...recentHosts()].sort((a, b) => a[0].localeCompare(b[0]));
    fillTable(table, hosts, ([host, last]) => [host, formatTime(last), "–", "–", "–"]);
    setText("hosts-note", "History is off: nodes seen in recent events only, without the silent mark.");
  }

  return { update, loadHosts };
}
