import type { DeliverableEvent } from "../events/event.ts";

/**
 * Outcome of one delivery attempt of a batch (reference §9 result classes).
 * - `ok`: every item delivered.
 * - `retry`: network error, timeout, 5xx, 408, 429; keep and back off (honour `retryAfterMs`).
 * - `blocked`: 401/403/404 or MQTT auth refusal; keep and back off, state `blocked`.
 * - `too_large`: 413; the outbox splits the batch in half (a single item becomes `rejected`).
 * - `rejected`: other 4xx; the batch is dropped and counted as `rejected` (or `cardinality`).
 * - `partial`: delivered except `dropped` items the server reports refusing (InfluxDB "partial write").
 */
export type SendResult =
  | { kind: "ok" }
  | { kind: "retry"; error: string; retryAfterMs?: number }
  | { kind: "blocked"; error: string; retryAfterMs?: number }
  | { kind: "too_large"; error: string }
  | { kind: "rejected"; error: string; reason?: "rejected" | "cardinality" }
  | { kind: "partial"; error: string; dropped: number; reason: "rejected" | "cardinality" };

/**
 * One destination (InfluxDB, MQTT, one New Relic account). Destinations only serialise and send;
 * batching, retry, backoff, spooling and ordering live once in the outbox.
 */
export interface Destination {
  /** `influxdb`, `mqtt` or `newrelic:<accountName>`; also the outbox and spool key. */
  readonly name: string;
  /** Most items sent in one `send` call. */
  readonly maxBatchItems: number;
  /** Most payload bytes (UTF-8, summed over items) in one `send` call; Infinity when unbounded. */
  readonly maxBatchBytes: number;
  /** Items kept in memory before the spool when more than `outbox.memoryItems` (a local file's lane). */
  readonly memoryItems?: number;
  /** How long the oldest unsent item may wait for a fuller batch, in ms. */
  readonly flushIntervalMs: number;
  /** Serialise one accepted event into zero or more outbox items (e.g. one per MQTT publish). */
  serialize(event: DeliverableEvent): string[];
  /** Deliver a batch of items in order; never throws, classifies failures instead. */
  send(items: string[]): Promise<SendResult>;
  /** Optional one-off work at start (create the database/bucket); must not throw. */
  start?(): Promise<void>;
  /** Optional: replaced by a reload, it may end its send in flight but reports no more faults (it is closed next). */
  retire?(): void;
  /** Release clients and sockets. */
  close(): Promise<void>;
}
