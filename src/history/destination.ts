import type { Destination, SendResult } from "../destinations/destination.ts";
import { encodeHistoryItem } from "./item.ts";
import type { HistoryWriteClient } from "./write-client.ts";
import type { Written } from "./write-protocol.ts";

/** The history lane's name in the outbox, /api/stats and /metrics. */
export const HISTORY_DESTINATION = "history";

/**
 * Items the history lane keeps in memory before the spool, whatever `outbox.memoryItems` says: the
 * lane writes a local file, so a backlog is a burst being written, which the spool would only slow.
 */
export const HISTORY_MEMORY_ITEMS = 100_000;

/** Options for {@link historyDestination}. */
export interface HistoryDestinationOptions {
  client: HistoryWriteClient;
  /** Called with the outcome of every batch written. */
  onWritten: (written: Written) => void;
}

/**
 * The history file as an outbox destination: each event becomes one item, and a batch becomes one
 * SQLite transaction in the write Worker. A write error (disk full, file locked, the Worker gone) is a
 * retry: the outbox keeps the items.
 */
export function historyDestination(options: HistoryDestinationOptions): Destination {
  const { client } = options;
  return {
    name: HISTORY_DESTINATION,
    // One transaction per batch; each batch waits for the Worker's answer, so larger batches keep up better.
    maxBatchItems: 10_000,
    maxBatchBytes: Number.POSITIVE_INFINITY,
    flushIntervalMs: 250,
    memoryItems: HISTORY_MEMORY_ITEMS,
    serialize: (event) => [encodeHistoryItem(event)],
    async send(items: string[]): Promise<SendResult> {
      try {
        options.onWritten(await client.write(items));
        return { kind: "ok" };
      } catch (error) {
        return { kind: "retry", error: `[history] write failed: ${(error as Error).message}` };
      }
    },
    // The file belongs to the history part, which closes it after the outbox has flushed.
    close: async () => {},
  };
}
