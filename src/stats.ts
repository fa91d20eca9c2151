import type { DropCounts } from "./destinations/lane-queue.ts";
import type { EventSource } from "./events/event.ts";
import type { HistoryStats } from "./history/part.ts";

/** Destination states (reference §9). */
export type DestinationState = "up" | "retrying" | "blocked" | "disabled";

/** Per-destination figures shown in /health, /api/stats and /metrics (reference §13). */
export interface DestinationStats {
  state: DestinationState;
  /** `spool` is what is committed on disk; `memory` includes items waiting for their spool transaction. */
  queued: { memory: number; spool: number };
  /** Items ever queued; always `sent + dropped (all reasons) + queued`. */
  enqueued: number;
  sent: number;
  retries: number;
  dropped: DropCounts;
  lastError: string | null;
  lastSuccessAt: string | null;
}

/** Datagram counters kept by the ingest pipeline (reference §2); mutated in place on the hot path. */
export interface DatagramCounters {
  received: number;
  accepted: number;
  excluded: number;
  processingErrors: number;
  /** `queue_full`: dropped by the receive thread while processing was behind by its whole backlog. */
  dropped: { source_not_allowed: number; too_large: number; rate_limited: number; queue_full: number };
  rejected: { unknown_type: number; malformed: number };
  /** Accepted events per source, for `sense_events_events_accepted_total{source}`. */
  acceptedBySource: Record<EventSource, number>;
}

/** Creates zeroed datagram counters. */
export function createDatagramCounters(): DatagramCounters {
  return {
    received: 0,
    accepted: 0,
    excluded: 0,
    processingErrors: 0,
    dropped: { source_not_allowed: 0, too_large: 0, rate_limited: 0, queue_full: 0 },
    rejected: { unknown_type: 0, malformed: 0 },
    acceptedBySource: { "qseow-proxy-session": 0, "qseow-proxy-connection": 0, "proxy-user-event": 0 },
  };
}

/** The `/api/stats` body (reference §13), also the source of `/metrics`. */
export interface StatsSnapshot {
  uptimeSeconds: number;
  datagrams: Omit<DatagramCounters, "acceptedBySource">;
  acceptedBySource: Record<EventSource, number>;
  processingMs: { avg: number; p95: number; max: number };
  udp: {
    address: string | null;
    receiveBufferRequested: number;
    /** The usable receive buffer in bytes, comparable with the request (Linux reports it doubled; halved here). */
    receiveBufferEffective: number | null;
    kernelRcvbufErrors: number | null;
    kernelRcvbufErrorsSinceStart: number | null;
  };
  events: { stored: number; capacity: number };
  /** Active sessions, and sessions evicted by the `sessions.maxActive` bound since start. */
  sessions: { active: number; evicted: number };
  appNames: {
    enabled: boolean;
    count: number;
    lastRefreshAt: string | null;
    failures: number;
    lastError: string | null;
  };
  userAgentCache: { size: number; hits: number; misses: number };
  destinations: Record<string, DestinationStats>;
  /** The embedded history (reference §19), absent when it is off. */
  history?: HistoryStats;
}
