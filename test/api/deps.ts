import type { ApiDeps, HealthState, ReloadOutcome } from "../../src/api/app.ts";
import { EventRing } from "../../src/events/ring.ts";
import { createSessionTracker } from "../../src/events/sessions.ts";
import { silentLogger } from "../../src/log.ts";
import type { StatsSnapshot } from "../../src/stats.ts";

/** A complete stats snapshot with distinct values, so a wrong field shows up in assertions. */
export function sampleStats(): StatsSnapshot {
  return {
    uptimeSeconds: 42,
    datagrams: {
      received: 100,
      accepted: 90,
      excluded: 3,
      processingErrors: 1,
      dropped: { source_not_allowed: 2, too_large: 1, rate_limited: 0, queue_full: 0 },
      rejected: { unknown_type: 2, malformed: 1 },
    },
    acceptedBySource: { "qseow-proxy-session": 30, "qseow-proxy-connection": 50, "proxy-user-event": 10 },
    processingMs: { avg: 0.05, p95: 0.1, max: 1.5 },
    udp: {
      address: "0.0.0.0:9997",
      receiveBufferRequested: 8388608,
      receiveBufferEffective: 425984,
      kernelRcvbufErrors: 7,
      kernelRcvbufErrorsSinceStart: 0,
    },
    events: { stored: 90, capacity: 10000 },
    sessions: { active: 4, evicted: 0 },
    appNames: { enabled: false, count: 0, lastRefreshAt: null, failures: 0, lastError: null },
    userAgentCache: { size: 5, hits: 80, misses: 5 },
    destinations: {
      influxdb: {
        state: "up",
        queued: { memory: 3, spool: 0 },
        enqueued: 92,
        sent: 87,
        retries: 1,
        dropped: { overflow: 0, rejected: 2, cardinality: 0, spool_lost: 0 },
        lastError: null,
        lastSuccessAt: "2025-01-01T00:00:00.000Z",
      },
      "newrelic:Prod": {
        state: "retrying",
        queued: { memory: 10, spool: 20 },
        enqueued: 39,
        sent: 5,
        retries: 9,
        dropped: { overflow: 4, rejected: 0, cardinality: 0, spool_lost: 0 },
        lastError: "[newrelic] send failed: 503",
        lastSuccessAt: null,
      },
    },
  };
}

/** Mutable test deps: change `state` fields between requests to simulate reloads and failures. */
export function testDeps(overrides: Partial<ApiDeps> = {}) {
  const state = {
    token: undefined as string | undefined,
    health: { listening: true, address: "0.0.0.0:9997", degraded: false, destinations: {} } as HealthState,
    reload: {
      status: 200,
      body: { reloaded: true, changed: [], udpRebound: false, restartRequired: [] },
    } as ReloadOutcome,
    now: Date.UTC(2025, 0, 1, 0, 1, 1, 500),
  };
  const ring = new EventRing(1000);
  const sessions = createSessionTracker({ idleTimeoutMinutes: 30, now: () => state.now });
  const deps: ApiDeps = {
    ring,
    sessions,
    rejected: () => ({ rejected: [{ reason: "malformed" }], counts: { unknown_type: 0, malformed: 1 } }),
    stats: sampleStats,
    health: () => state.health,
    config: () => ({ "sense-events": { api: { token: "***" } } }),
    reload: async () => state.reload,
    token: () => state.token,
    version: "1.2.3",
    startedAt: Date.UTC(2025, 0, 1),
    log: silentLogger,
    now: () => state.now,
    ...overrides,
  };
  return { deps, state, ring, sessions };
}
