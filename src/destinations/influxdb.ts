import type { DeliverableEvent } from "../events/event.ts";
import type { Logger } from "../log.ts";
import { hostPort } from "../net.ts";
import type { Destination, SendResult } from "./destination.ts";
import { classifyHttp, ERROR_BODY_CHARS, networkRetry } from "./http-result.ts";
import { partialWrite } from "./influx-partial.ts";
import { createUserEventSerializer, type InfluxVersion, type StaticTag } from "./line-protocol.ts";

/** Options for {@link influxDestination}, taken from `influxdbConfig` and `sense-events.influxdb` (reference §10.1). */
export interface InfluxDestinationOptions {
  version: InfluxVersion;
  host: string;
  port: number;
  useHttps: boolean;
  /** Lines per request. */
  maxBatchSize: number;
  /** Longest wait of the oldest unsent line, in ms. */
  flushIntervalMs: number;
  v1?: {
    dbName: string;
    auth: { enable: boolean; username: string; password: string };
    retentionPolicy: { name: string; duration: string };
  };
  v2?: { org: string; bucket: string; token: string; retentionDuration: string; description: string };
  v3?: { database: string; token: string; writeTimeout: number; v3WriteApi: "v2compat" | "native" };
  /** Prefix of the user agent tags; undefined writes both Butler SOS 15's and the `qs_` names. */
  uaTagPrefix: string | undefined;
  /** Write `userFull` and `userId` as tags too. @default true */
  userTags?: boolean;
  /** Static tags from `userEvents.tags`. */
  tags: readonly StaticTag[];
  /** Injectable for tests. */
  fetch?: typeof fetch;
  log: Logger;
}

/** The URL and headers of one write request, without body headers (reference §10.1). */
export interface InfluxWriteTarget {
  url: string;
  headers: Record<string, string>;
  timeoutMs: number;
}

const GZIP_THRESHOLD = 1024;
const GZIP_LEVEL = 1;
const WRITE_FAILED = "[influxdb] write failed: ";

function baseUrl(o: InfluxDestinationOptions): string {
  return `${o.useHttps ? "https" : "http"}://${hostPort(o.host, o.port)}`;
}

function section<K extends "v1" | "v2" | "v3">(
  o: InfluxDestinationOptions,
  key: K,
): NonNullable<InfluxDestinationOptions[K]> {
  const value = o[key];
  if (!value) throw new Error(`[influxdb] version ${o.version} needs the ${key} options`);
  return value;
}

/** Builds the write URL, auth header and timeout for the configured version (reference §10.1). */
export function influxWriteTarget(o: InfluxDestinationOptions): InfluxWriteTarget {
  const base = baseUrl(o);
  const q = encodeURIComponent;
  if (o.version === 1) {
    const v1 = section(o, "v1");
    const headers: Record<string, string> = {};
    if (v1.auth.enable) {
      headers.Authorization = `Basic ${Buffer.from(`${v1.auth.username}:${v1.auth.password}`).toString("base64")}`;
    }
    return { url: `${base}/write?db=${q(v1.dbName)}&precision=ns`, headers, timeoutMs: 10_000 };
  }
  if (o.version === 2) {
    const v2 = section(o, "v2");
    return {
      url: `${base}/api/v2/write?org=${q(v2.org)}&bucket=${q(v2.bucket)}&precision=ns`,
      headers: { Authorization: `Token ${v2.token}` },
      timeoutMs: 10_000,
    };
  }
  const v3 = section(o, "v3");
  if (v3.v3WriteApi === "native") {
    return {
      url: `${base}/api/v3/write_lp?db=${q(v3.database)}&precision=nanosecond`,
      headers: { Authorization: `Bearer ${v3.token}` },
      timeoutMs: v3.writeTimeout,
    };
  }
  return {
    url: `${base}/api/v2/write?bucket=${q(v3.database)}&precision=ns`,
    headers: { Authorization: `Token ${v3.token}` },
    timeoutMs: v3.writeTimeout,
  };
}

/** Parses an InfluxDB duration (`30d`, `1h30m`, `0`, `INF`) into seconds; 0 means keep forever. */
export function parseDurationSeconds(duration: string): number {
  const units: Record<string, number> = {
    ns: 1e-9,
    us: 1e-6,
    µs: 1e-6,
    ms: 1e-3,
    s: 1,
    m: 60,
    h: 3600,
    d: 86400,
    w: 604800,
  };
  const text = duration.trim().toLowerCase();
  if (text === "" || text === "0" || text === "inf") return 0;
  let total = 0;
  let i = 0;
  while (i < text.length) {
    let j = i;
    while (j < text.length && text.charCodeAt(j) >= 48 && text.charCodeAt(j) <= 57) j++;
    let k = j;
    while (k < text.length && !(text.charCodeAt(k) >= 48 && text.charCodeAt(k) <= 57)) k++;
    const factor = units[text.slice(j, k)];
    if (j === i || factor === undefined) throw new Error(`[influxdb] invalid duration "${duration}"`);
    total += Number(text.slice(i, j)) * factor;
    i = k;
  }
  return Math.round(total);
}

function quoteIdent(name: string): string {
  return `"${name.replaceAll("\\", "\\\\").replaceAll('"', '\\"')}"`;
}

async function createV1Database(
  o: InfluxDestinationOptions,
  doFetch: typeof fetch,
  signal: AbortSignal,
): Promise<boolean> {
  const v1 = section(o, "v1");
  const headers = influxWriteTarget(o).headers;
  const run = async (
    q: string,
  ): Promise<{ results?: { error?: string; series?: { values?: unknown[][] }[] }[] }> => {
    const res = await doFetch(`${baseUrl(o)}/query`, {
      method: "POST",
      headers,
      body: new URLSearchParams({ q }),
      signal,
    });
    if (!res.ok) throw new Error(`${res.status} ${(await res.text()).slice(0, ERROR_BODY_CHARS)}`);
    const json = (await res.json()) as {
      results?: { error?: string; series?: { values?: unknown[][] }[] }[];
    };
    const error = json.results?.find((r) => r.error)?.error;
    if (error) throw new Error(error);
    return json;
  };
  const shown = await run("SHOW DATABASES");
  const names = shown.results?.[0]?.series?.[0]?.values?.map((row) => row[0]) ?? [];
  if (names.includes(v1.dbName)) return false;
  const rp = v1.retentionPolicy;
  const duration = rp.duration.trim() || "INF";
  await run(
    `CREATE DATABASE ${quoteIdent(v1.dbName)} WITH DURATION ${duration} REPLICATION 1 NAME ${quoteIdent(rp.name || "autogen")}`,
  );
  return true;
}

async function createV2Bucket(
  o: InfluxDestinationOptions,
  doFetch: typeof fetch,
  signal: AbortSignal,
): Promise<boolean> {
  const v2 = section(o, "v2");
  const headers = { Authorization: `Token ${v2.token}`, "Content-Type": "application/json" };
  const base = baseUrl(o);
  const get = async (path: string): Promise<Record<string, unknown>> => {
    const res = await doFetch(`${base}${path}`, { headers, signal });
    if (!res.ok) throw new Error(`${res.status} ${(await res.text()).slice(0, ERROR_BODY_CHARS)}`);
    return (await res.json()) as Record<string, unknown>;
  };
  const q = encodeURIComponent;
  const found = await get(`/api/v2/buckets?org=${q(v2.org)}&name=${q(v2.bucket)}`);
  if (Array.isArray(found.buckets) && found.buckets.length > 0) return false;
  const orgs = await get(`/api/v2/orgs?org=${q(v2.org)}`);
  const orgID = Array.isArray(orgs.orgs) ? (orgs.orgs[0] as { id?: string } | undefined)?.id : undefined;
  if (!orgID) throw new Error(`organisation "${v2.org}" not found`);
  const everySeconds = parseDurationSeconds(v2.retentionDuration);
  const body = {
    orgID,
    name: v2.bucket,
    description: v2.description,
    retentionRules: everySeconds > 0 ? [{ type: "expire", everySeconds }] : [],
  };
  const res = await doFetch(`${base}/api/v2/buckets`, {
    method: "POST",
    headers,
    body: JSON.stringify(body),
    signal,
  });
  if (!res.ok) throw new Error(`${res.status} ${(await res.text()).slice(0, ERROR_BODY_CHARS)}`);
  return true;
}

/**
 * Creates the InfluxDB destination: one `user_events` line per event, one POST per batch (reference §10).
 * Metric lines (`event_count`, `user_events_queue`) are ordinary items: enqueue their formatted lines as they are.
 */
export function influxDestination(options: InfluxDestinationOptions): Destination {
  const doFetch = options.fetch ?? globalThis.fetch;
  const target = influxWriteTarget(options);
  const serializeLine = createUserEventSerializer({
    version: options.version,
    uaTagPrefix: options.uaTagPrefix,
    userTags: options.userTags,
    tags: options.tags,
  });
  const lifetime = new AbortController();
  let started: Promise<boolean> | undefined;
  let failedChecks = 0;

  /** Checks for (and creates) the database or bucket; false when InfluxDB could not be asked. */
  const create = async (): Promise<boolean> => {
    if (options.version === 3) return true; // a v3 database appears on its first write
    const what = options.version === 1 ? "database" : "bucket";
    const name = options.version === 1 ? options.v1?.dbName : options.v2?.bucket;
    try {
      const signal = AbortSignal.any([lifetime.signal, AbortSignal.timeout(target.timeoutMs)]);
      const created =
        options.version === 1
          ? await createV1Database(options, doFetch, signal)
          : await createV2Bucket(options, doFetch, signal);
      if (created) options.log.info(`[influxdb] created ${what} "${name}"`);
      return true;
    } catch (error) {
      const message = `[influxdb] could not check or create ${what} "${name}": ${(error as Error).message}`;
      if (failedChecks++ === 0) options.log.warn(message);
      else options.log.debug(message);
      return false;
    }
  };

  return {
    name: "influxdb",
    maxBatchItems: options.maxBatchSize,
    // Well below InfluxDB 1.x's default 25 MB max-body-size, so a batch of huge lines is split before a 413.
    maxBatchBytes: 8 * 1024 * 1024,
    flushIntervalMs: options.flushIntervalMs,
    serialize(event: DeliverableEvent): string[] {
      return [serializeLine(event)];
    },
    async send(lines: string[]): Promise<SendResult> {
      const { result, status } = await write(lines);
      // The startup check failed (InfluxDB down) and the database is missing: check again, or every
      // write would answer 404 until the next restart.
      if (status !== 404) return result;
      if (started === undefined || (await started)) return result;
      started = create();
      return (await started) ? (await write(lines)).result : result;
    },
    async start(): Promise<void> {
      started ??= create();
      await started;
    },
    async close(): Promise<void> {
      lifetime.abort();
      await started;
    },
  };

  /** Sends one write request; `status` is the HTTP status, or null when no response came. */
  async function write(lines: string[]): Promise<{ result: SendResult; status: number | null }> {
    const text = lines.join("\n");
    const headers: Record<string, string> = {
      ...target.headers,
      "Content-Type": "text/plain; charset=utf-8",
    };
    let body: string | Uint8Array = text;
    // UTF-8 never has fewer bytes than UTF-16 code units, so a long text needs no measuring.
    if (text.length > GZIP_THRESHOLD || Buffer.byteLength(text) > GZIP_THRESHOLD) {
      // Level 1 costs a third of the default's CPU on the main thread; loopback and LAN bandwidth are cheap.
      body = Bun.gzipSync(text, { level: GZIP_LEVEL });
      headers["Content-Encoding"] = "gzip";
    }
    try {
      const signal = AbortSignal.any([lifetime.signal, AbortSignal.timeout(target.timeoutMs)]);
      const res = await doFetch(target.url, { method: "POST", headers, body, signal });
      const result = await classifyHttp(
        res,
        (status, text) => `${WRITE_FAILED}${status}${text ? ` ${text}` : ""}`,
      );
      return { result: partialWrite(result, lines.length), status: res.status };
    } catch (error) {
      return { result: networkRetry(error, WRITE_FAILED, target.timeoutMs), status: null };
    }
  }
}
