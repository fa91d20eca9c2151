import * as v from "valibot";
import { LOG_LEVELS } from "../log.ts";
import { bool, host, int, obj, oneOf, port, scalar, section, sectionKeys, str, timerMs } from "./fields.ts";

/** The `sense-events` section: the project's own keys (reference §14.3). */
export const SenseEventsSchema = section({
  /** HTTP API (reference §13). */
  api: section({
    /** Serve the HTTP API. @default true */
    enable: v.optional(bool(), true),
    /** Listen address; a non-loopback address needs `token`. @default "127.0.0.1" */
    host: v.optional(host(), "127.0.0.1"),
    /** Listen port. @default 9995 */
    port: v.optional(port(), 9995),
    /** Bearer token for `/api/*` and `/metrics`; surrounding whitespace is an error (presented tokens are trimmed). @default none */
    token: v.optional(
      v.pipe(
        scalar(),
        v.check(
          (s) => s.trim() === s,
          "must not start or end with whitespace (a presented token is trimmed)",
        ),
      ),
    ),
    /** HTTPS for the API and the dashboard (reference §20): PEM paths relative to the config file; re-read on reload. @default none */
    tls: v.optional(
      obj({
        /** Server certificate chain (PEM path). */
        cert: v.optional(str()),
        /** Its private key (PEM path, unencrypted). */
        key: v.optional(str()),
      }),
    ),
  }),
  /** Recent-events ring. */
  events: section({
    /** Events kept in memory. @default 10000 */
    capacity: v.optional(int(100, 1_000_000), 10000),
  }),
  /** Session tracking. */
  sessions: section({
    /** Minutes without events before a session with no connections expires. @default 30 */
    idleTimeoutMinutes: v.optional(int(1), 30),
    /** Most active sessions kept; past it the least recently active is evicted and counted. @default 100000 */
    maxActive: v.optional(int(1, 10_000_000), 100_000),
  }),
  /** UDP socket. */
  udp: section({
    /** Requested `SO_RCVBUF` in bytes. @default 8388608 */
    receiveBufferBytes: v.optional(int(1, 2_147_483_647), 8388608),
  }),
  /** Per-destination outbox (reference §9). */
  outbox: section({
    /** sqlite spool file, relative to the config file; `""` disables the spool. @default "sense-events-outbox.sqlite" */
    path: v.optional(str(), "sense-events-outbox.sqlite"),
    /** Items kept in memory per destination. @default 10000 */
    memoryItems: v.optional(int(1), 10000),
    /** Payload bytes over all destinations, memory and spool. @default 268435456 */
    maxBytes: v.optional(int(1), 268435456),
    /** Flush time at shutdown in ms. @default 5000 */
    shutdownTimeoutMs: v.optional(timerMs(0), 5000),
  }),
  /** Logging (reference §16). */
  log: section({
    /** Most verbose level written. @default `Butler-SOS.logLevel`, else "info" */
    level: v.optional(oneOf(LOG_LEVELS)),
    /** `text` or `json`. @default "text" */
    format: v.optional(oneOf(["text", "json"]), "text"),
  }),
  /** InfluxDB options Butler SOS does not have. */
  influxdb: section({
    /** Prefix of the user-agent tags: `""` Butler SOS 15's names, `"qs_"` the documented ones. @default unset: both sets */
    uaTagPrefix: v.optional(str()),
    /** Write `userFull` and `userId` as tags as well as fields (Butler SOS's schema). @default true */
    userTags: v.optional(bool(), true),
    /** Longest wait before a partial batch is sent, in ms. @default 1000 */
    flushIntervalMs: v.optional(timerMs(1), 1000),
    /** Use https. @default false */
    useHttps: v.optional(bool(), false),
    /** v3 write endpoint: `/api/v2/write` or `/api/v3/write_lp`. @default "v2compat" */
    v3WriteApi: v.optional(oneOf(["v2compat", "native"]), "v2compat"),
  }),
  /** New Relic options. */
  newRelic: section({
    /** Longest wait before a partial batch is sent, in ms. @default 1000 */
    flushIntervalMs: v.optional(timerMs(1), 1000),
  }),
  /** Embedded event history (reference §19). */
  history: section({
    /** Keep every accepted event in a local sqlite file. @default true */
    enable: v.optional(bool(), true),
    /** The history file, relative to the config file (working directory without one). @default "sense-events-history.sqlite" */
    path: v.optional(str(), "sense-events-history.sqlite"),
    /** Events older than this many days are deleted (hourly and at start). @default 90 */
    retentionDays: v.optional(int(1, 36500), 90),
    /** Past this many bytes on disk the oldest events are deleted. @default 1073741824 */
    maxBytes: v.optional(int(1_048_576), 1073741824),
  }),
  /** Proxy nodes heard from (reference §19). */
  hosts: section({
    /** Minutes without events after which a host is reported silent; 0 = never. @default 0 */
    silentAfterMinutes: v.optional(int(0), 0),
  }),
  /** App name options. */
  appNames: section({
    /** Verify the QRS certificate against `Butler-SOS.cert.clientCertCA`. @default false */
    verifyServerCert: v.optional(bool(), false),
  }),
});

/** Every key of the `sense-events` section, for the unknown-key warning; `true` marks a leaf. */
export const SENSE_EVENTS_KEYS: Record<string, Record<string, true>> = sectionKeys(SenseEventsSchema);
