import type { Config } from "../config/schema.ts";
import { createEventCounter } from "../destinations/influx-metrics.ts";
import type { UserEvent } from "../events/event.ts";
import { startGcAfterBurst } from "../gc-after-burst.ts";
import { createPipeline, type PipelineSettings, type PipelineTarget } from "../ingest/pipeline.ts";
import { createProcessor } from "../ingest/process.ts";
import { ProcessingTimes } from "../ingest/processing-time.ts";
import { RejectedLog } from "../ingest/rejected.ts";
import { createUserAgentParser } from "../ingest/user-agent.ts";
import type { Logger } from "../log.ts";
import { createDatagramCounters, type DatagramCounters, type StatsSnapshot } from "../stats.ts";
import { every } from "./every.ts";
import { createInfluxMetricsWriter } from "./influx-metrics-writer.ts";
import { buildIngestSettings, type IngestSettings } from "./ingest-settings.ts";
import type { Part } from "./part.ts";
import { createUdpBinding } from "./udp-binding.ts";

/** Figures of the ingest part for `/api/stats` and `/metrics`. */
export type IngestStats = Pick<
  StatsSnapshot,
  "datagrams" | "acceptedBySource" | "processingMs" | "udp" | "userAgentCache"
>;

/** UDP ingest: the receive thread, the datagram pipeline, kernel drops and the InfluxDB ingest metrics. */
export interface IngestPart extends Part<IngestStats> {
  /** What `/health` needs: whether UDP listens, where, and whether the allow-list failed closed. */
  health(): { listening: boolean; address: string | null; allowListFailedClosed: boolean };
  /** The last rejected datagrams, newest first, and their counts per reason. */
  rejected(): { rejected: unknown[]; counts: { unknown_type: number; malformed: number } };
}

/** What ingest hands accepted events and serialised items to, and where app names come from. */
export interface IngestDeps {
  log: Logger;
  /** Stores an accepted event (ring, sessions, live streams). */
  store: (event: UserEvent) => void;
  delivery: {
    enqueue(name: string, items: string[]): void;
    readonly targets: readonly PipelineTarget[];
    readonly influx: string | null;
  };
  appName: (appId: string) => string | undefined;
}

/** How often throttled warnings whose window ended are written. */
const HOUSEKEEPING_MS = 10_000;

/** Creates the ingest part and binds UDP for `config`; rejects when the address cannot be bound. */
export async function createIngestPart(config: Config, deps: IngestDeps): Promise<IngestPart> {
  const { log, delivery } = deps;
  const counters = createDatagramCounters();
  const statsTimes = new ProcessingTimes();
  const intervalTimes = new ProcessingTimes();
  const userAgents = createUserAgentParser(1000);
  const eventCounter = createEventCounter();
  let current = config;
  let settings: IngestSettings = await buildIngestSettings(config, log);
  const rejected = new RejectedLog({
    log: settings.logCap.for(
      "rejected",
      (n, sources) => `[udp] rejected ${n} datagrams (unknown_type or malformed) from ${sources} sources`,
    ),
  });
  const processor = createProcessor({ appName: deps.appName, userAgents, isExcluded: settings.isExcluded });

  const pipelineSettings = (): PipelineSettings => ({
    allows: settings.allows,
    maxMessageSize: settings.maxMessageSize,
    rateLimit: settings.rateLimiter,
    onTooLarge: (bytes, address) => settings.tooLarge.record(bytes, address),
    eventCount: current.features.eventCount ? eventCounter : null,
    targets: [...delivery.targets],
  });
  const pipeline = createPipeline(
    {
      counters,
      processor,
      rejected,
      store: deps.store,
      enqueue: delivery.enqueue,
      processingTimes: {
        record(ms) {
          statsTimes.record(ms);
          intervalTimes.record(ms);
        },
      },
      log: settings.logCap.for("processing_error", (n) => `[ingest] processing failed for ${n} datagrams`),
    },
    pipelineSettings(),
  );

  const udp = createUdpBinding({ onDatagram: pipeline.handle, log });
  /** The counters with the receive thread's queue_full drops, which were read from the socket too. */
  const totals = (): Omit<DatagramCounters, "acceptedBySource"> => {
    const queueFull = udp.queueFull;
    return {
      received: counters.received + queueFull,
      accepted: counters.accepted,
      excluded: counters.excluded,
      processingErrors: counters.processingErrors,
      dropped: { ...counters.dropped, queue_full: queueFull },
      rejected: { ...counters.rejected },
    };
  };
  const metrics = createInfluxMetricsWriter({
    config: () => current,
    influx: () => delivery.influx,
    totals,
    eventCounter,
    intervalTimes,
    rateLimitCurrent: () => settings.rateLimiter?.currentRate() ?? 0,
    enqueue: delivery.enqueue,
    kernelErrors: () => udp.kernel?.snapshot().raw ?? null,
  });
  const housekeeping = every(HOUSEKEEPING_MS, () => {
    rejected.flushExpired();
    settings.tooLarge.flush();
    settings.logCap.flush();
  });
  const trim = startGcAfterBurst({ received: () => counters.received });

  /** Binds for `next`; a new kernel drop monitor starts the kernel-error baseline afresh. */
  async function bind(next: Config): Promise<boolean> {
    const kernel = udp.kernel;
    const rebound = await udp.bind(next);
    if (udp.kernel !== kernel) metrics.resetKernelBaseline();
    return rebound;
  }

  try {
    await bind(config);
  } catch (error) {
    clearInterval(housekeeping);
    trim.close();
    throw error;
  }
  metrics.start();
  if (settings.allowListSummary) log.info(`[udp] allow-list: ${settings.allowListSummary}`);

  return {
    name: "ingest",
    health: () => ({
      listening: udp.thread?.listening ?? false,
      address: udp.thread?.address ?? null,
      allowListFailedClosed: settings.allowListFailedClosed,
    }),
    rejected: () => ({ rejected: rejected.list(), counts: { ...rejected.counts } }),
    async apply(next) {
      const nextSettings = await buildIngestSettings(next, log, { config: current, settings });
      // Rebind first: if it fails, nothing of ingest has changed yet.
      const rebound = await bind(next);
      const metricsChanged = !Bun.deepEquals(metricSettings(next), metricSettings(current), true);
      current = next;
      settings = nextSettings;
      processor.update({ isExcluded: settings.isExcluded });
      pipeline.configure(pipelineSettings());
      if (metricsChanged) metrics.start();
      return { rebuilt: rebound ? ["udp"] : [] };
    },
    stats() {
      const thread = udp.thread;
      const kernel = udp.kernel?.snapshot() ?? { raw: null, sinceStart: null };
      return {
        datagrams: totals(),
        acceptedBySource: { ...counters.acceptedBySource },
        processingMs: statsTimes.summary(),
        udp: {
          address: thread?.address ?? null,
          receiveBufferRequested: current["sense-events"].udp.receiveBufferBytes,
          receiveBufferEffective: thread?.receiveBufferEffective ?? null,
          kernelRcvbufErrors: kernel.raw,
          kernelRcvbufErrorsSinceStart: kernel.sinceStart,
        },
        userAgentCache: userAgents.stats(),
      };
    },
    async close() {
      // Everything the thread received is processed before it closes, so the last counts include it.
      await udp.close();
      clearInterval(housekeeping);
      trim.close();
      // The last partial interval's counts are deltas: queue them so they are sent or spooled, not lost.
      metrics.final();
    },
  };
}

/** The settings the InfluxDB metrics timers depend on. */
function metricSettings(config: Config) {
  const bs = config["Butler-SOS"];
  const f = config.features;
  return {
    eventCount: f.eventCount,
    queueMetrics: f.queueMetrics,
    eventCountEvery: bs.qlikSenseEvents.influxdb.writeFrequency,
    queueMetricsEvery: bs.userEvents.udpServerConfig.queueMetrics.influxdb.writeFrequency,
  };
}
