import { createApi } from "../api/app.ts";
import { redactConfig } from "../config/redact.ts";
import type { Config } from "../config/schema.ts";
import { createEventCounter } from "../destinations/influx-metrics.ts";
import { createOutbox } from "../destinations/outbox.ts";
import { openSpool } from "../destinations/spool-file.ts";
import { EventRing } from "../events/ring.ts";
import { createSessionTracker } from "../events/sessions.ts";
import { type AppNames, createAppNames } from "../ingest/app-names.ts";
import { createKernelDropMonitor, type KernelDropMonitor } from "../ingest/kernel-drops.ts";
import { createPipeline } from "../ingest/pipeline.ts";
import { createProcessor } from "../ingest/process.ts";
import { ProcessingTimes } from "../ingest/processing-time.ts";
import { RejectedLog } from "../ingest/rejected.ts";
import { startUdpThread, type UdpThread } from "../ingest/udp-thread.ts";
import { createUserAgentParser } from "../ingest/user-agent.ts";
import type { Logger } from "../log.ts";
import { createDatagramCounters, type StatsSnapshot } from "../stats.ts";
import { VERSION } from "../version.ts";
import { createInfluxMetricsWriter, every } from "./influx-metrics-writer.ts";
import { createReloader } from "./reload.ts";
import { buildSettings, type Settings } from "./settings.ts";

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
  /** Graceful shutdown (spec §9): UDP and API first, then flush and spool the outbox. */
  close(): Promise<void>;
}

/** Starts UDP ingest, the outbox and destinations, and the HTTP API for a validated config. */
export async function startService(options: ServiceOptions): Promise<Service> {
  const { log } = options;
  const startedAt = Date.now();
  const counters = createDatagramCounters();
  const statsTimes = new ProcessingTimes();
  const intervalTimes = new ProcessingTimes();
  const userAgents = createUserAgentParser(1000);
  const rejected = new RejectedLog({ log });
  const eventCounter = createEventCounter();
  let settings: Settings = await buildSettings(options.config, log);
  const se = () => settings.config["sense-events"];

  let appNames: AppNames = startAppNames(settings.config, log);
  const processor = createProcessor({
    appName: (id) => appNames.lookup(id),
    userAgents,
    isExcluded: settings.isExcluded,
  });
  const ring = new EventRing(se().events.capacity);
  const sessions = createSessionTracker({ idleTimeoutMinutes: se().sessions.idleTimeoutMinutes });

  const spoolPath = se().outbox.path;
  const spool = spoolPath === "" ? null : openSpool(spoolPath, log);
  const outbox = createOutbox({
    spool,
    spoolFailed: spoolPath !== "" && spool === null,
    memoryItems: se().outbox.memoryItems,
    maxBytes: se().outbox.maxBytes,
    log,
  });
  for (const destination of settings.destinations.all) outbox.attach(destination);

  let udp: UdpThread | null = null;
  /** queue_full drops of receive threads already replaced by a rebind. */
  let queueFullBefore = 0;
  let kernel: KernelDropMonitor | null = null;
  const api = se().api.enable
    ? createApi({
        ring,
        sessions,
        rejected: () => ({ rejected: rejected.list(), counts: { ...rejected.counts } }),
        stats: () => stats(),
        health: () => ({
          listening: udp?.listening ?? false,
          address: udp?.address ?? null,
          degraded: outbox.degraded || settings.allowListFailedClosed,
          problems: outbox.problems(),
          destinations: Object.fromEntries(
            Object.entries(outbox.stats()).map(([name, s]) => [name, s.state]),
          ),
        }),
        config: () => redactConfig(settings.config),
        reload: () => reloader.reload(),
        token: () => se().api.token || undefined,
        version: VERSION,
        startedAt,
        log,
      })
    : null;

  const pipeline = createPipeline(
    {
      counters,
      processor,
      rejected,
      store: (event) => {
        ring.push(event);
        sessions.update(event);
        api?.broadcast(event);
      },
      enqueue: (name, items) => outbox.enqueue(name, items),
      processingTimes: {
        record(ms) {
          statsTimes.record(ms);
          intervalTimes.record(ms);
        },
      },
      log,
    },
    pipelineSettings(settings),
  );

  function pipelineSettings(s: Settings) {
    const f = s.features;
    return { ...s.pipeline, eventCount: f.eventCount ? eventCounter : null };
  }

  async function bindUdp(config: Config): Promise<UdpThread | null> {
    const ue = config["Butler-SOS"].userEvents;
    if (!ue.enable) {
      log.warn("[udp] user events are disabled (Butler-SOS.userEvents.enable: false): no UDP listener");
      return null;
    }
    const bound = await startUdpThread({
      host: ue.udpServerConfig.serverHost,
      port: ue.udpServerConfig.portUserActivityEvents,
      receiveBufferBytes: config["sense-events"].udp.receiveBufferBytes,
      onDatagram: pipeline.handle,
      logLevel: se().log.level,
      log,
    });
    return bound;
  }

  /** Copies the receive thread's queue_full drops into the counters; they were read from the socket too. */
  function syncQueueFull(): void {
    const total = queueFullBefore + (udp?.queueFull ?? 0);
    counters.received += total - counters.dropped.queue_full;
    counters.dropped.queue_full = total;
  }

  function stats(): StatsSnapshot {
    syncQueueFull();
    const kernelSnap = kernel?.snapshot() ?? { raw: null, sinceStart: null };
    const { acceptedBySource, ...datagrams } = counters;
    return {
      uptimeSeconds: Math.floor((Date.now() - startedAt) / 1000),
      datagrams,
      acceptedBySource,
      processingMs: statsTimes.summary(),
      udp: {
        address: udp?.address ?? null,
        receiveBufferRequested: se().udp.receiveBufferBytes,
        receiveBufferEffective: udp?.receiveBufferEffective ?? null,
        kernelRcvbufErrors: kernelSnap.raw,
        kernelRcvbufErrorsSinceStart: kernelSnap.sinceStart,
      },
      events: { stored: ring.size, capacity: ring.capacity },
      sessions: { active: sessions.count },
      appNames: appNames.stats(),
      userAgentCache: userAgents.stats(),
      destinations: outbox.stats(),
    };
  }

  // Periodic work: event counts and ingest metrics (§10.5, §10.6), throttled-log flushes, session expiry.
  const metrics = createInfluxMetricsWriter({
    settings: () => settings,
    counters,
    eventCounter,
    intervalTimes,
    outbox,
    kernelErrors: () => kernel?.snapshot().raw ?? null,
    sync: syncQueueFull,
  });
  metrics.start();
  const housekeeping = every(10_000, () => {
    rejected.flushExpired();
    settings.tooLarge.flush();
    sessions.expire();
  });

  /** Starts the kernel drop monitor for the bound socket, or restarts it when the address family changed. */
  function watchKernel(): void {
    if (udp === null) return;
    const ipv6 = udp.address.startsWith("[");
    if (kernel !== null && kernelIpv6 === ipv6) return;
    kernel?.close();
    kernel = createKernelDropMonitor({ ipv6, log });
    kernelIpv6 = ipv6;
    metrics.resetKernelBaseline();
  }
  let kernelIpv6 = false;

  let server: ReturnType<typeof Bun.serve> | null = null;
  try {
    udp = await bindUdp(settings.config);
    watchKernel();
    if (api) {
      const { host, port } = se().api;
      try {
        server = Bun.serve({ hostname: host, port, fetch: api.app.fetch, idleTimeout: 0 });
      } catch (error) {
        throw new Error(`cannot start the API on ${formatHost(host)}:${port}: ${(error as Error).message}`, {
          cause: error,
        });
      }
    }
  } catch (error) {
    // Startup failed: release what is already open (socket, timers, spool) before reporting.
    await udp?.close();
    // Assigned inside watchKernel(), which TypeScript's narrowing does not see.
    (kernel as KernelDropMonitor | null)?.close();
    clearInterval(housekeeping);
    metrics.stop();
    await outbox.close();
    throw error;
  }
  appNames.start();

  const apiUrl = server ? `http://${formatHost(server.hostname ?? se().api.host)}:${server.port}` : null;
  if (apiUrl) log.info(`[api] listening on ${apiUrl}`);
  log.info(`[outbox] destinations: ${settings.destinations.all.map((d) => d.name).join(", ") || "none"}`);
  if (settings.allowListSummary) log.info(`[udp] allow-list: ${settings.allowListSummary}`);

  const reloader = createReloader({
    configFile: options.configFile,
    log,
    current: () => settings,
    apply: async (next, changed) => {
      // Rebind first: if it fails, nothing else has changed yet.
      const nextUe = next.config["Butler-SOS"].userEvents;
      const prevUe = settings.config["Butler-SOS"].userEvents;
      const rebind =
        nextUe.enable !== prevUe.enable ||
        nextUe.udpServerConfig.serverHost !== prevUe.udpServerConfig.serverHost ||
        nextUe.udpServerConfig.portUserActivityEvents !== prevUe.udpServerConfig.portUserActivityEvents ||
        next.config["sense-events"].udp.receiveBufferBytes !== se().udp.receiveBufferBytes;
      if (rebind) await rebindUdp(next.config);
      const previous = settings;
      settings = next;
      processor.update({ isExcluded: next.isExcluded });
      pipeline.configure(pipelineSettings(next));
      const names = new Set(next.destinations.all.map((d) => d.name));
      for (const d of next.destinations.all) outbox.attach(d);
      for (const d of previous.destinations.all) {
        if (!names.has(d.name)) outbox.detach(d.name);
        // Closed later, not now: a batch it is sending must finish rather than be aborted (requests
        // time out after at most writeTimeout; 60 s covers the default 10 s with room).
        setTimeout(() => void d.close().catch(() => {}), REPLACED_CLOSE_DELAY_MS).unref();
      }
      ring.resize(se().events.capacity);
      sessions.setIdleTimeout(se().sessions.idleTimeoutMinutes);
      if (changed.some(affectsAppNames)) {
        appNames.close();
        appNames = startAppNames(next.config, log);
        appNames.start();
      }
      metrics.start();
      return rebind;
    },
  });

  /** Rebinds UDP for a reload; on failure the old binding is restored and the error re-thrown. */
  async function rebindUdp(config: Config): Promise<void> {
    const old = udp;
    const ue = config["Butler-SOS"].userEvents.udpServerConfig;
    const samePort = old !== null && old.port === ue.portUserActivityEvents;
    /** Closes the old listener, keeping its queue_full drops in the totals. */
    const retire = async (thread: UdpThread) => {
      syncQueueFull();
      queueFullBefore += thread.queueFull;
      await thread.close();
    };
    // On the same port the old socket must go first, or the new bind fails with EADDRINUSE.
    if (samePort) {
      await retire(old);
      udp = null;
    }
    try {
      udp = await bindUdp(config);
    } catch (error) {
      if (samePort) udp = await bindUdp(settings.config);
      throw error;
    }
    if (!samePort && old !== null) await retire(old);
    // A listener enabled by reload (or moved between IPv4 and IPv6) needs its kernel counter too.
    watchKernel();
  }

  let closing: Promise<void> | null = null;
  return {
    get udpAddress() {
      return udp?.address ?? null;
    },
    apiUrl,
    reload: () => reloader.reload(),
    close() {
      closing ??= (async () => {
        await udp?.close();
        kernel?.close();
        api?.closeStreams();
        if (server) {
          // A graceful stop lets the ended SSE streams reach their clients (a forced one resets them);
          // connections still open after a second are cut.
          await Promise.race([server.stop(false), Bun.sleep(1000)]);
          await server.stop(true);
        }
        clearInterval(housekeeping);
        // The last partial interval's counts are deltas: queue them so they are sent or spooled, not lost.
        metrics.final();
        appNames.close();
        const { lost } = await outbox.flush(se().outbox.shutdownTimeoutMs);
        if (lost > 0) log.warn(`[outbox] ${lost} items lost at shutdown (no spool)`);
        await outbox.close();
      })();
      return closing;
    },
  };
}

/** How long a destination replaced by a reload may finish its request before it is closed. */
const REPLACED_CLOSE_DELAY_MS = 60_000;

/** Whether a changed config path is read by {@link startAppNames}, so the lookup must be rebuilt. */
function affectsAppNames(path: string): boolean {
  return (
    path.startsWith("Butler-SOS.appNames") ||
    path.startsWith("Butler-SOS.cert") ||
    path.startsWith("sense-events.appNames") ||
    path === "Butler-SOS.userEvents.enable" ||
    path === "Butler-SOS.userEvents" ||
    path === "Butler-SOS" ||
    path === "sense-events"
  );
}

/** Creates the app-name lookup for a config (disabled when app names are off). */
function startAppNames(config: Config, log: Logger): AppNames {
  const bs = config["Butler-SOS"];
  const enabled = bs.userEvents.enable && bs.appNames.enableAppNameExtract;
  return createAppNames({
    enabled,
    hostIP: bs.appNames.hostIP ?? "",
    intervalMs: bs.appNames.extractInterval,
    cert: {
      clientCert: bs.cert.clientCert ?? "",
      clientCertKey: bs.cert.clientCertKey ?? "",
      clientCertCA: bs.cert.clientCertCA,
      clientCertPassphrase: bs.cert.clientCertPassphrase,
    },
    verifyServerCert: config["sense-events"].appNames.verifyServerCert,
    log,
  });
}

/** Brackets an IPv6 host for a URL. */
function formatHost(host: string): string {
  return host.includes(":") ? `[${host}]` : host;
}
