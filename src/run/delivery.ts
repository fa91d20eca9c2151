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

interface Running {
  plan: DestinationPlan;
  destination: Destination;
  /** Resolves once no send of `destination` is in flight. */
  idle(): Promise<void>;
}

/** Builds the destination of `plan` with its sends counted, so a replaced one is closed as soon as it is idle. */
function build(plan: DestinationPlan, log: Logger): Running {
  const inner = buildDestination(plan, log);
  let sending = 0;
  const waiting: (() => void)[] = [];
  // Everything but `send` is the destination's own (getters included).
  const destination: Destination = Object.create(inner, {
    send: {
      value: async (items: string[]) => {
        sending++;
        try {
          return await inner.send(items);
        } finally {
          if (--sending === 0) for (const wake of waiting.splice(0)) wake();
        }
      },
    },
  });
  const idle = () => (sending === 0 ? Promise.resolve() : new Promise<void>((wake) => waiting.push(wake)));
  return { plan, destination, idle };
}

/**
 * Creates the outbox (its bounds and spool path are fixed until a restart) and the destinations.
 * A reload rebuilds only the destinations whose own settings changed; the others keep their
 * connections and queues.
 */
export function createDeliveryPart(config: Config, log: Logger, extra: Destination[] = []): DeliveryPart {
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

  /**
   * Closes a replaced destination once its send in flight (bounded by its own timeout) has ended, not
   * before: a batch it is sending finishes rather than being aborted. Meanwhile it reports no faults.
   */
  function retire(old: Running): void {
    old.destination.retire?.();
    void old
      .idle()
      .then(() => old.destination.close())
      .then(
        () => log.debug(`[outbox] the replaced ${old.plan.name} destination is closed`),
        (error: Error) =>
          log.debug(`[outbox] closing the replaced ${old.plan.name} destination: ${error.message}`),
      );
  }

  /** Puts the destinations of `next` in place; returns the names of those built anew. */
  function install(next: Config): string[] {
    const plans = planDestinations(next);
    const rebuilt: string[] = [];
    const kept: Running[] = plans.map((plan) => {
      const old = running.find((r) => r.plan.name === plan.name);
      if (old !== undefined && samePlan(old.plan, plan)) return { ...old, plan };
      const built = build(plan, log);
      outbox.attach(built.destination);
      if (old !== undefined) retire(old);
      rebuilt.push(plan.name);
      return built;
    });
    for (const old of running) {
      if (plans.some((p) => p.name === old.plan.name)) continue;
      outbox.detach(old.plan.name);
      retire(old);
    }
    running = kept;
    targets = [...kept.filter((r) => r.plan.forEvents).map((r) => r.destination), ...extra];
    current = next;
    return rebuilt;
  }

  // Destinations that live as long as the service (the embedded history), not built from a plan.
  for (const destination of extra) outbox.attach(destination);
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
