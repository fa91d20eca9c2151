import type { Config } from "../config/schema.ts";
import { createHistoryPart } from "../history/part.ts";
import type { Logger } from "../log.ts";
import type { StatsSnapshot } from "../stats.ts";
import { VERSION } from "../version.ts";
import { createApiPart } from "./api-part.ts";
import { createAppNamesPart } from "./app-names-part.ts";
import { createDeliveryPart } from "./delivery.ts";
import { createEventsPart } from "./events-part.ts";
import { createIngestPart } from "./ingest.ts";
import type { Part } from "./part.ts";
import { createReloader } from "./reload.ts";

/** Options for {@link startService}. */
export interface ServiceOptions {
  config: Config;
  /** The config file, or null for the embedded default (reload then answers 409). */
  configFile: string | null;
  log: Logger;
}

/** A running receiver. */
export interface Service {
  /** Bound UDP address (`0.0.0.0:9997`), or null when user events are off. */
  readonly udpAddress: string | null;
  /** API base URL, or null when the API is off. */
  readonly apiUrl: string | null;
  /** Re-reads the config file (SIGHUP, POST /api/config/reload). */
  reload(): ReturnType<ReturnType<typeof createReloader>["reload"]>;
  /** Graceful shutdown (reference §9): API and UDP first, then flush and spool the outbox. */
  close(): Promise<void>;
}

/**
 * Starts the receiver as a list of parts (drawn in docs/architecture.md) — events, delivery, app names, ingest, API — in that
 * order. A reload applies the new config to each part in the same order; shutdown closes them in
 * reverse, so UDP stops before the outbox is flushed.
 */
export async function startService(options: ServiceOptions): Promise<Service> {
  const { log } = options;
  const startedAt = Date.now();
  let config = options.config;
  const parts: Part[] = [];
  const reloader = createReloader({ configFile: options.configFile, log, current: () => config, apply });

  let closing: Promise<void> | null = null;
  /** The reload being applied; shutdown waits for it so that it cannot rebind or rebuild after the parts closed. */
  let applying: Promise<string[]> | null = null;

  /** Applies `next` unless shutting down; a shutdown that starts meanwhile waits for it to finish. */
  async function apply(next: Config): Promise<string[]> {
    if (closing !== null) throw new Error("the receiver is shutting down");
    applying = applyParts(next);
    try {
      return await applying;
    } finally {
      applying = null;
    }
  }

  /** Applies `next` to every part in order; when one throws, those already changed get the old config back. */
  async function applyParts(next: Config): Promise<string[]> {
    const rebuilt: string[] = [];
    for (const [i, part] of parts.entries()) {
      try {
        rebuilt.push(...(await part.apply(next)).rebuilt);
      } catch (error) {
        // The failing part changed nothing; it is re-applied too so it sees the others' restored state.
        for (const earlier of parts.slice(0, i + 1).reverse()) {
          await earlier
            .apply(config)
            .catch((e: Error) => log.error(`[${earlier.name}] rollback failed: ${e.message}`));
        }
        throw error;
      }
    }
    config = next;
    return rebuilt;
  }

  async function closeAll(): Promise<void> {
    for (const part of parts.splice(0).reverse()) {
      await part.close().catch((e: Error) => log.error(`[${part.name}] close failed: ${e.message}`));
    }
  }

  /** Adds a started part to the list. */
  const add = <P extends Part>(part: P): P => {
    parts.push(part);
    return part;
  };

  try {
    const events = add(createEventsPart(config));
    // history part (reference §19): before delivery, so it is closed after the outbox has flushed into it.
    const history = await createHistoryPart({ config, log });
    if (history !== null) add(history).restore(events.ring, events.sessions);
    const delivery = add(createDeliveryPart(config, log, history ? [history.destination] : []));
    const appNames = add(createAppNamesPart(config, log));
    const ingest = add(
      await createIngestPart(config, {
        log,
        store: (event) => events.add(event),
        delivery,
        appName: (appId) => appNames.lookup(appId),
        lastId: history?.lastId() ?? 0, // history part: ids continue after the stored ones
      }),
    );
    const stats = (): StatsSnapshot => {
      const i = ingest.stats();
      const e = events.stats();
      return {
        uptimeSeconds: Math.floor((Date.now() - startedAt) / 1000),
        datagrams: i.datagrams,
        acceptedBySource: i.acceptedBySource,
        processingMs: i.processingMs,
        udp: i.udp,
        events: e.events,
        sessions: e.sessions,
        appNames: appNames.stats(),
        userAgentCache: i.userAgentCache,
        destinations: delivery.stats(),
        ...(history ? { history: history.stats() } : {}), // history part
      };
    };
    const api = createApiPart(config, {
      events,
      rejected: () => ingest.rejected(),
      stats,
      health: () => {
        const h = ingest.health();
        return {
          listening: h.listening,
          address: h.address,
          degraded: delivery.degraded || h.allowListFailedClosed || (history?.problems().length ?? 0) > 0,
          problems: [...delivery.problems(), ...(history?.problems() ?? [])],
          destinations: Object.fromEntries(
            Object.entries(delivery.stats()).map(([name, s]) => [name, s.state]),
          ),
        };
      },
      reload: () => reloader.reload(),
      history: () => history?.queries ?? null, // history part
      version: VERSION,
      startedAt,
      log,
    });
    if (api !== null) add(api);

    return {
      get udpAddress() {
        return ingest.health().address;
      },
      apiUrl: api?.stats().url ?? null,
      reload: () => reloader.reload(),
      close() {
        closing ??= (async () => {
          await applying?.catch(() => {});
          await closeAll();
        })();
        return closing;
      },
    };
  } catch (error) {
    // Startup failed: release what is already open (sockets, timers, spool) before reporting.
    await closeAll();
    throw error;
  }
}
