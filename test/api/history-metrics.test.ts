import { afterEach, expect, test } from "bun:test";
import { renderMetrics } from "../../src/api/metrics.ts";
import type { HistoryPart } from "../../src/history/part.ts";
import { events, KNOWN, MIN, openPart, store, T0 } from "../history/support.ts";
import type { TempDir } from "../support/process.ts";
import { sampleStats } from "./deps.ts";

const open: { part: HistoryPart; dir: TempDir }[] = [];
afterEach(async () => {
  for (const o of open.splice(0)) {
    await o.part.close();
    o.dir.cleanup();
  }
});

test("/metrics has the history families and the last event time of every host (reference §19)", async () => {
  const o = await openPart({ history: { retentionDays: 1 }, now: () => T0 + 60 * MIN });
  open.push(o);
  await store(o.part, events(KNOWN));
  const text = renderMetrics({ ...sampleStats(), history: o.part.stats() });
  const history = text.slice(text.indexOf("# HELP sense_events_history_events"));
  expect(history).toMatch(/^sense_events_history_bytes \d+$/m);
  expect(history.replace(/^sense_events_history_bytes \d+$/m, "sense_events_history_bytes N")).toBe(
    `# HELP sense_events_history_events Events in the history file.
# TYPE sense_events_history_events gauge
sense_events_history_events 8
# HELP sense_events_history_bytes Bytes the history file uses.
# TYPE sense_events_history_bytes gauge
sense_events_history_bytes N
# HELP sense_events_history_pruned_total Events deleted from the history, by reason.
# TYPE sense_events_history_pruned_total counter
sense_events_history_pruned_total{reason="retention"} 0
sense_events_history_pruned_total{reason="size"} 0
# HELP sense_events_host_last_event_timestamp_seconds Time of the last event from each proxy node, epoch seconds.
# TYPE sense_events_host_last_event_timestamp_seconds gauge
sense_events_host_last_event_timestamp_seconds{host="node1"} ${(T0 + 40 * MIN) / 1000}
sense_events_host_last_event_timestamp_seconds{host="node2"} ${(T0 + 25 * MIN) / 1000}
`,
  );
});
