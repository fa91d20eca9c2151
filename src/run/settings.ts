import { type ActiveFeatures, activeFeatures } from "../config/features.ts";
import type { Config } from "../config/schema.ts";
import { createAllowList, createSourceGate } from "../ingest/allow-list.ts";
import { createExcluder } from "../ingest/exclude.ts";
import {
  createRateLimiter,
  createTooLargeWarner,
  type RateLimiter,
  type TooLargeWarner,
} from "../ingest/limits.ts";
import type { PipelineSettings } from "../ingest/pipeline.ts";
import type { Logger } from "../log.ts";
import { createLogCap, type LogCap } from "../log-cap.ts";
import { type BuiltDestinations, buildDestinations } from "./destinations.ts";

/** Everything derived from one config that a reload replaces as a whole. */
export interface Settings {
  config: Config;
  features: ActiveFeatures;
  destinations: BuiltDestinations;
  pipeline: Omit<PipelineSettings, "eventCount">;
  isExcluded: (userDirectory: string, userId: string) => boolean;
  rateLimiter: RateLimiter | null;
  tooLarge: TooLargeWarner;
  /** True when source validation is on but no entry is usable (spec §8.3: fails closed). */
  allowListFailedClosed: boolean;
  allowListSummary: string | null;
  /** The process-wide cap on repeated warnings, carried over by every reload. */
  logCap: LogCap;
}

/**
 * Builds the reloadable parts from a validated config: allow-list (resolving hostnames), limits,
 * excludeUser matcher and destinations. Nothing here binds sockets or starts timers. With the
 * `previous` settings (a reload), unchanged limits keep their state.
 */
export async function buildSettings(config: Config, log: Logger, previous?: Settings): Promise<Settings> {
  const bs = config["Butler-SOS"];
  const udp = bs.userEvents.udpServerConfig;
  const features = activeFeatures(config);
  for (const warning of features.warnings) log.warn(`[config] ${warning}`);

  const logCap = previous?.logCap ?? createLogCap({ log });
  let allows: ((ip: string) => boolean) | null = null;
  let allowListFailedClosed = false;
  let allowListSummary: string | null = null;
  if (udp.enableSourceValidation) {
    const list = await createAllowList(udp.allowedSources, { log });
    const gateLog = logCap.for(
      "source_not_allowed",
      (n, sources) => `[udp] dropped ${n} datagrams from ${sources} sources not in allowedSources`,
    );
    const gate = createSourceGate(list, gateLog);
    allows = (ip) => {
      if (gate.admit(ip)) return true;
      gateLog.note(ip);
      return false;
    };
    allowListFailedClosed = list.failedClosed;
    allowListSummary = list.summary;
  }
  // A reload keeps the running rate-limit window and log throttle when their settings did not change,
  // so a reload during a flood does not admit a fresh window.
  const before = previous?.config["Butler-SOS"].userEvents.udpServerConfig;
  const sameLimit =
    before !== undefined &&
    before.rateLimit.enable === udp.rateLimit.enable &&
    before.rateLimit.maxMessagesPerMinute === udp.rateLimit.maxMessagesPerMinute;
  const rateLimiter =
    sameLimit && previous !== undefined
      ? previous.rateLimiter
      : udp.rateLimit.enable
        ? createRateLimiter({
            maxPerMinute: udp.rateLimit.maxMessagesPerMinute,
            log: logCap.for("rate_limited", (n) => `[udp] ${n} rate-limit warnings`),
          })
        : null;
  const tooLarge =
    previous !== undefined && before?.maxMessageSize === udp.maxMessageSize
      ? previous.tooLarge
      : createTooLargeWarner({
          maxMessageSize: udp.maxMessageSize,
          log: logCap.for(
            "too_large",
            (n, sources) => `[udp] dropped ${n} datagrams over maxMessageSize from ${sources} sources`,
          ),
        });
  const destinations = buildDestinations(config, features, log);
  return {
    config,
    features,
    destinations,
    pipeline: {
      allows,
      maxMessageSize: udp.maxMessageSize,
      rateLimit: rateLimiter,
      onTooLarge: (bytes, address) => tooLarge.record(bytes, address),
      targets: destinations.forEvents,
    },
    isExcluded: createExcluder(bs.userEvents.excludeUser),
    rateLimiter,
    tooLarge,
    allowListFailedClosed,
    allowListSummary,
    logCap,
  };
}
