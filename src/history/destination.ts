import type { Destination, SendResult } from "../destinations/destination.ts";
import type { Logger } from "../log.ts";
import { decodeHistoryItem, encodeHistoryItem, type HistoryItem } from "./item.ts";
import type { HistoryWriter } from "./writer.ts";

/** The history lane's name in the outbox, /api/stats and /metrics. */
export const HISTORY_DESTINATION = "history";

/** Options for {@link historyDestination}. */
export interface HistoryDestinationOptions {
  writer: HistoryWriter;
  log: Logger;
  /** Counts items that are not history items (never expected: they are dropped). */
  onMalformed?: () => void;
  /** Called with the number of events a batch added to the file. */
  onWritten?: (count: number) => void;
}

/**
 * The history file as an outbox destination: each event becomes one item, and a batch becomes one
 * SQLite transaction. A write error (disk full, file locked) is a retry: the outbox keeps the items.
 */
export function historyDestination(options: HistoryDestinationOptions): Destination {
  const { writer } = options;
  return {
    name: HISTORY_DESTINATION,
    maxBatchItems: 5000,
    maxBatchBytes: Number.POSITIVE_INFINITY,
    flushIntervalMs: 250,
    serialize: (event) => [encodeHistoryItem(event)],
    async send(items: string[]): Promise<SendResult> {
      const decoded: HistoryItem[] = [];
      for (const item of items) {
        const one = decodeHistoryItem(item);
        if (one === null) options.onMalformed?.();
        else decoded.push(one);
      }
      try {
        options.onWritten?.(writer.write(decoded));
        return { kind: "ok" };
      } catch (error) {
        return { kind: "retry", error: `[history] write failed: ${(error as Error).message}` };
      }
    },
    // The file belongs to the history part, which closes it after the outbox has flushed.
    close: async () => {},
  };
}
