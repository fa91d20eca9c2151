import { createHash } from "node:crypto";
import type { Tag } from "../config/tags.ts";
import { type DeliverableEvent, destinationAppName } from "../events/event.ts";
import type { Logger } from "../log.ts";
import type { Destination } from "./destination.ts";
import { classifyHttp, networkRetry } from "./http-result.ts";

/** Options for {@link newRelicDestination}: one New Relic account. */
export interface NewRelicDestinationOptions {
  accountName: string;
  accountId: string | number;
  insertApiKey: string;
  /** Event API base URL, e.g. `https://insights-collector.eu01.nr-data.net`. */
  url: string;
  /** `newRelic.event.header[]`, sent before `Api-Key`. */
  headers: Tag[];
  /** `newRelic.event.attribute.static`. */
  staticAttributes: Tag[];
  /** `userEvents.tags`. */
  tags: Tag[];
  /** Hash the user attributes (`sendToNewRelic.scramble`). */
  scramble: boolean;
  flushIntervalMs: number;
  /** Injectable for tests. */
  fetch?: typeof fetch;
  log: Logger;
  /** Request timeout. @default 10000 */
  timeoutMs?: number;
}

/** New Relic's Event API limits per request: 1000 events, 1 MB of uncompressed JSON. */
export const NEW_RELIC_MAX_EVENTS = 1000;
export const NEW_RELIC_MAX_BODY_BYTES = 1_000_000;

/** Lower-case hex SHAKE256 (8 bytes) of a value; an empty value stays empty (reference §12). */
export function scrambleValue(value: string): string {
  if (value === "") return "";
  let hex = scrambled.get(value);
  if (hex === undefined) {
    // Users repeat: hash each value once (per process, shared by every account); bounded by clearing.
    if (scrambled.size >= SCRAMBLE_CACHE_LIMIT) scrambled.clear();
    hex = createHash("shake256", { outputLength: 8 }).update(value).digest("hex");
    scrambled.set(value, hex);
  }
  return hex;
}

const SCRAMBLE_CACHE_LIMIT = 10_000;
const scrambled = new Map<string, string>();

/** Builds the reference §12 event attributes in order; `eventType` is always last and cannot be overridden. */
export function newRelicEvent(
  deliverable: DeliverableEvent,
  options: Pick<NewRelicDestinationOptions, "staticAttributes" | "tags" | "scramble">,
): Record<string, string | number> {
  const { event } = deliverable;
  const user = options.scramble ? scrambleValue : (value: string) => value;
  const attributes: Record<string, string | number> = {
    timestamp: deliverable.receivedAtMs,
    qs_host: event.host,
    qs_event_action: event.action,
    qs_userFull: user(deliverable.userFull),
    qs_userDirectory: user(event.userDirectory),
    qs_userId: user(event.userId),
    qs_origin: event.origin,
  };
  if (event.appId !== null) {
    attributes.qs_appId = event.appId;
    attributes.qs_appName = destinationAppName(event);
  }
  const ua = event.userAgent;
  if (ua?.browserName != null) attributes.qs_uaBrowserName = ua.browserName;
  if (ua?.browserMajorVersion != null) attributes.qs_uaBrowserMajorVersion = ua.browserMajorVersion;
  if (ua?.osName != null) attributes.qs_uaOsName = ua.osName;
  if (ua?.osVersion != null) attributes.qs_uaOsVersion = ua.osVersion;
  // Assigning an existing key keeps its first position, which is what reference §12 asks for.
  for (const list of [options.staticAttributes, options.tags]) {
    for (const { name, value } of list) if (name !== "eventType") attributes[name] = value;
  }
  attributes.eventType = "qs_userEvent";
  return attributes;
}

/** Joins `base` and `v1/accounts/<id>/events` with exactly one `/` added when missing. */
export function newRelicEventsUrl(base: string, accountId: string | number): string {
  return `${base.endsWith("/") ? base : `${base}/`}v1/accounts/${accountId}/events`;
}

/** Creates the destination for one New Relic account (reference §12): JSON arrays of events, gzip, POST. */
export function newRelicDestination(options: NewRelicDestinationOptions): Destination {
  const doFetch = options.fetch ?? fetch;
  const timeoutMs = options.timeoutMs ?? 10_000;
  const url = newRelicEventsUrl(options.url, options.accountId);
  const name = `newrelic:${options.accountName}`;
  const headers = new Headers({ "Content-Type": "application/json", "Content-Encoding": "gzip" });
  for (const header of options.headers) headers.set(header.name, header.value);
  // Set last so that a configured header of the same name never replaces the key.
  headers.set("Api-Key", options.insertApiKey);

  return {
    name,
    maxBatchItems: NEW_RELIC_MAX_EVENTS,
    // Items are summed by the outbox; `[`, `]` and the commas add n + 1 bytes, so leave room for them.
    maxBatchBytes: NEW_RELIC_MAX_BODY_BYTES - NEW_RELIC_MAX_EVENTS - 1,
    flushIntervalMs: options.flushIntervalMs,

    serialize: (deliverable) => [JSON.stringify(newRelicEvent(deliverable, options))],

    async send(items) {
      const body = `[${items.join(",")}]`;
      const bytes = Buffer.byteLength(body);
      if (bytes > NEW_RELIC_MAX_BODY_BYTES) {
        return {
          kind: "too_large",
          error: `[${name}] body of ${bytes} bytes is over New Relic's 1 MB limit`,
        };
      }
      let response: Response;
      try {
        response = await doFetch(url, {
          method: "POST",
          headers,
          body: Bun.gzipSync(body),
          signal: AbortSignal.timeout(timeoutMs),
        });
      } catch (error) {
        return networkRetry(error, `[${name}] request failed: `, timeoutMs);
      }
      const result = await classifyHttp(response, (status, text) => `[${name}] HTTP ${status}: ${text}`);
      if (result.kind !== "ok") return result;
      options.log.debug(`[${name}] sent ${items.length} events`);
      return result;
    },

    async close() {},
  };
}
