import type { Config } from "../config/schema.ts";
import type { Destination } from "../destinations/destination.ts";
import { createOutbox } from "../destinations/outbox.ts";
import { openSpool } from "../destinations/spool-file.ts";
import type { Logger } from "../log.ts";
import type { DestinationStats } from "../stats.ts";
import { buildDestination, type DestinationPlan, planDestinations, samePlan } from "./destinations.ts";
import type { Part } from "./part.ts";

/** The outbox and the destinations of the config in force (reference §9–§12). */
export interface DeliveryPart extends Part<Record<string, DestinationStats>> {
  /** Queues serialised items for a destination; synchronous (datagram hot path). */
  enqueue(name: string, items: string[]): void;
  /** The destinations user events go to, in a fixed order. */
  readonly targets: readonly Destination[];
  /** The InfluxDB lane name, or null when InfluxDB is off. */
  readonly influx: string | null;
  /** True when the spool is configured but unusable (memory-only operation) or lost items. */
  readonly degraded: boolean;
  /** Why delivery is degraded, one sentence each (for /health). */
  problems(): string[];
}

/** How long a destination replaced by a reload may finish its request before it is closed. */
const REPLACED_CLOSE_DELAY_MS = 60_000;

interface Running {
  plan: DestinationPlan;
  destination: Destination;
}

/**
 * Creates the outbox (its bounds and spool path are fixed until a restart) and the destinations.
 * A reload rebuilds only the destinations whose own settings changed; the others keep their
 * connections and queues.
 */
export function createDeliveryPart(config: Config, log: Logger): DeliveryPart {
  const ob = config["sense-events"].outbox;
  const spool = ob.path === "" ? null : openSpool(ob.path, log);
  const outbox = createOutbox({
    spool,
    spoolFailed: ob.path !== "" && spool === null,
    memoryItems: ob.memoryItems,
    maxBytes: ob.maxBytes,
    log,
  });
  let current = config;
  let running: Running[] = [];
  let targets: Destination[] = [];

  /** Closes a replaced destination later, not now: a batch it is sending must finish rather than be aborted. */
  function retire(destination: Destination): void {
    // Requests time out after at most writeTimeout; 60 s covers the default 10 s with room.
    setTimeout(() => void destination.close().catch(() => {}), REPLACED_CLOSE_DELAY_MS).unref();
  }

  /** Puts the destinations of `next` in place; returns the names of those built anew. */
  function install(next: Config): string[] {
    const plans = planDestinations(next);
    const rebuilt: string[] = [];
    const kept: Running[] = plans.map((plan) => {
      const old = running.find((r) => r.plan.name === plan.name);
      if (old !== undefined && samePlan(old.plan, plan)) return { plan, destination: old.destination };
      const destination = buildDestination(plan, log);
      outbox.attach(destination);
      if (old !== undefined) retire(old.destination);
      rebuilt.push(plan.name);
      return { plan, destination };
    });
    for (const old of running) {
      if (plans.some((p) => p.name === old.plan.name)) continue;
      outbox.detach(old.plan.name);
      retire(old.destination);
    }
    running = kept;
    targets = kept.filter((r) => r.plan.forEvents).map((r) => r.destination);
    current = next;
    return rebuilt;
  }

  install(config);
  log.info(`[outbox] destinations: ${running.map((r) => r.plan.name).join(", ") || "none"}`);

  return {
    name: "delivery",
    enqueue: (name, items) => outbox.enqueue(name, items),
    get targets() {
      return targets;
    },
    get influx() {
      return running.find((r) => r.plan.kind === "influxdb")?.plan.name ?? null;
    },
    get degraded() {
      return outbox.degraded;
    },
    problems: () => outbox.problems(),
    async apply(next) {
      return { rebuilt: install(next) };
    },
    stats: () => outbox.stats(),
    async close() {
      // The outbox logs what it could neither deliver nor spool.
      await outbox.flush(current["sense-events"].outbox.shutdownTimeoutMs);
      await outbox.close();
    },
  };
}
