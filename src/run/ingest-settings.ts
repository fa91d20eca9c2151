import type { Config } from "../config/schema.ts";
import { createAllowList, createSourceGate } from "../ingest/allow-list.ts";
import { createExcluder } from "../ingest/exclude.ts";
import {
  createRateLimiter,
  createTooLargeWarner,
  type RateLimiter,
  type TooLargeWarner,
} from "../ingest/limits.ts";
import type { Logger } from "../log.ts";
import { createLogCap, type LogCap } from "../log-cap.ts";

/** The datagram filters of one config: allow-list, size and rate limits, excludeUser. */
export interface IngestSettings {
  /** Source gate (logs throttled); null when source validation is off. */
  allows: ((ip: string) => boolean) | null;
  maxMessageSize: number;
  rateLimiter: RateLimiter | null;
  tooLarge: TooLargeWarner;
  isExcluded: (userDirectory: string, userId: string) => boolean;
  /** True when source validation is on but no entry is usable (reference §8.3: fails closed). */
  allowListFailedClosed: boolean;
  allowListSummary: string | null;
  /** The process-wide cap on repeated warnings, carried over by every reload. */
  logCap: LogCap;
}

/**
 * Builds the filters from `Butler-SOS.userEvents` (resolving allow-list hostnames). With the
 * `previous` settings (a reload), a rate limit and too-large warner whose settings did not change
 * keep their state, so a reload during a flood does not admit a fresh window.
 */
export async function buildIngestSettings(
  config: Config,
  log: Logger,
  previous?: { config: Config; settings: IngestSettings },
): Promise<IngestSettings> {
  const ue = config["Butler-SOS"].userEvents;
  const udp = ue.udpServerConfig;
  const logCap = previous?.settings.logCap ?? createLogCap({ log });
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
  const before = previous?.config["Butler-SOS"].userEvents.udpServerConfig;
  const sameLimit =
    before !== undefined &&
    before.rateLimit.enable === udp.rateLimit.enable &&
    before.rateLimit.maxMessagesPerMinute === udp.rateLimit.maxMessagesPerMinute;
  const rateLimiter =
    sameLimit && previous !== undefined
      ? previous.settings.rateLimiter
      : udp.rateLimit.enable
        ? createRateLimiter({
            maxPerMinute: udp.rateLimit.maxMessagesPerMinute,
            log: logCap.for("rate_limited", (n) => `[udp] ${n} rate-limit warnings`),
          })
        : null;
  const tooLarge =
    previous !== undefined && before?.maxMessageSize === udp.maxMessageSize
      ? previous.settings.tooLarge
      : createTooLargeWarner({
          maxMessageSize: udp.maxMessageSize,
          log: logCap.for(
            "too_large",
            (n, sources) => `[udp] dropped ${n} datagrams over maxMessageSize from ${sources} sources`,
          ),
        });
  return {
    allows,
    maxMessageSize: udp.maxMessageSize,
    rateLimiter,
    tooLarge,
    isExcluded: createExcluder(ue.excludeUser),
    allowListFailedClosed,
    allowListSummary,
    logCap,
  };
}
