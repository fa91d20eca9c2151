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
  let allows: ((ip: string) => boolean) | null = null;
  let allowListFailedClosed = false;
  let allowListSummary: string | null = null;
  if (udp.enableSourceValidation) {
    const list = await createAllowList(udp.allowedSources, { log });
    const gate = createSourceGate(list, log);
    allows = (ip) => gate.admit(ip);
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
        ? createRateLimiter({ maxPerMinute: udp.rateLimit.maxMessagesPerMinute, log })
        : null;
  const tooLarge =
    previous !== undefined && before?.maxMessageSize === udp.maxMessageSize
      ? previous.settings.tooLarge
      : createTooLargeWarner({ maxMessageSize: udp.maxMessageSize, log });
  return {
    allows,
    maxMessageSize: udp.maxMessageSize,
    rateLimiter,
    tooLarge,
    isExcluded: createExcluder(ue.excludeUser),
    allowListFailedClosed,
    allowListSummary,
  };
}
