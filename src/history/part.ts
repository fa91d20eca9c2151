import type { Database } from "bun:sqlite";
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import type { Config } from "../config/schema.ts";
import type { Destination } from "../destinations/destination.ts";
import { type FileLock, lockFile } from "../destinations/file-lock.ts";
import { moveAside } from "../destinations/spool-file.ts";
import type { EventRing } from "../events/ring.ts";
import type { SessionTracker } from "../events/sessions.ts";
import type { Logger } from "../log.ts";
import type { Applied, Part } from "../run/part.ts";
import { createEventDecoder, EVENT_COLUMNS, type EventRow } from "./decode.ts";
import { historyDestination } from "./destination.ts";
import { extentOf } from "./extent.ts";
import { isSilent } from "./hosts.ts";
import { openHistoryReader } from "./open.ts";
import { createHistoryQueries, type HistoryQueries } from "./queries.ts";
import { usedBytes } from "./retention.ts";
import { createHistoryWriteClient, type HistoryWriteClient } from "./write-client.ts";
import type { Opened } from "./write-protocol.ts";
import type { HostSeen } from "./writer.ts";

/** The history figures of /api/stats and /metrics. */
export interface HistoryStats {
  path: string;
  events: number;
  bytes: number;
  oldest: string | null;
  newest: string | null;
  pruned: { retention: number; size: number };
  /** Outbox items that were not history items (dropped; never expected). */
  malformed: number;
  /** Last event time per host, epoch seconds (the `host_last_event_timestamp_seconds` gauge). */
  hostLastEventSeconds: Record<string, number>;
}

/** The history store as one long-lived part of the service (reference §19). */
export interface HistoryPart extends Part<HistoryStats> {
  readonly name: "history";
  /** The outbox destination that writes the file (attach it once; it lives as long as the part). */
  readonly destination: Destination;
  /** Read-side queries for the API. */
  readonly queries: HistoryQueries;
  /** The id of the newest stored event, so the processor continues numbering after it. */
  lastId(): number;
  /** Refills the ring with the newest events and the tracker with the sessions open now. */
  restore(ring: EventRing, sessions: SessionTracker): void;
  /** Applies a reloaded config (retention, size cap, silence, idle timeout); path and enable need a restart. */
  apply(next: Config): Promise<Applied>;
  /** Deletes by age and size now (also hourly and at start). */
  prune(): Promise<void>;
  /** Logs hosts that went silent or came back (also every 30 s). */
  checkHosts(): void;
  /** Why the history is degraded, one sentence each (for /health): a file moved aside at start. */
  problems(): string[];
}

/** Options for {@link createHistoryPart}. */
export interface HistoryPartOptions {
  config: Config;
  log: Logger;
  /** Clock in epoch ms. @default Date.now */
  now?: () => number;
  /** The write Worker's script (tests start one that fails). @default src/history/write-worker.ts */
  writeWorkerUrl?: string;
}

const HOUR_MS = 3_600_000;

/** Opens the file in a new write Worker and reads it once through (dictionaries, sessions, count), so damage shows now. */
async function openFile(
  path: string,
  idleTimeoutMinutes: number,
  workerUrl: string | undefined,
): Promise<{ client: HistoryWriteClient; opened: Opened }> {
  const client = createHistoryWriteClient(workerUrl);
  try {
    return { client, opened: await client.open(path, idleTimeoutMinutes) };
  } catch (error) {
    await client.close().catch(() => {});
    throw error;
  }
}

/** True when the file's content is not a usable database (garbage, truncated); not for a newer schema or permissions. */
function isUnreadable(error: unknown): boolean {
  const code = (error as { code?: string } | null)?.code;
  return code === "SQLITE_NOTADB" || code === "SQLITE_CORRUPT";
}

/** Opens the history file of `config` (null when history is off) and prunes it once. */
export async function createHistoryPart(options: HistoryPartOptions): Promise<HistoryPart | null> {
  const { log } = options;
  const now = options.now ?? Date.now;
  let config = options.config["sense-events"];
  const path = config.history.path;
  if (!config.history.enable || path === "") return null;
  // One writer per file (reference §19): `<path>.lock`, so readers such as `history export` are not blocked.
  let lock: FileLock;
  try {
    mkdirSync(dirname(path), { recursive: true });
    lock = lockFile(path);
  } catch (error) {
    throw new Error(`[history] ${(error as Error).message}`, { cause: error });
  }
  const problems: string[] = [];
  let file: { client: HistoryWriteClient; opened: Opened };
  try {
    try {
      file = await openFile(path, config.sessions.idleTimeoutMinutes, options.writeWorkerUrl);
    } catch (error) {
      // A file that is not a database, or a damaged one, must not stop event forwarding (reference §19).
      if (!isUnreadable(error)) throw error;
      const aside = moveAside(path, new Date(now()));
      const message = `history file ${path} cannot be opened (${(error as Error).message}): moved aside to ${aside}; started a fresh history file`;
      log.error(`[history] ${message}`);
      problems.push(`${new Date(now()).toISOString()}: ${message}`);
      file = await openFile(path, config.sessions.idleTimeoutMinutes, options.writeWorkerUrl);
    }
  } catch (error) {
    lock.release();
    throw new Error(`[history] cannot open ${path}: ${(error as Error).message}`, { cause: error });
  }
  const { client, opened } = file;
  let reader: Database;
  let queries: HistoryQueries;
  try {
    reader = openHistoryReader(path);
    queries = createHistoryQueries(
      reader,
      path,
      () => ({
        idleTimeoutMinutes: config.sessions.idleTimeoutMinutes,
        silentAfterMinutes: config.hosts.silentAfterMinutes,
      }),
      now,
    );
  } catch (error) {
    // Nothing may outlive a failed start: the writer thread and the lock go with it.
    await client.close().catch(() => {});
    lock.release();
    throw new Error(`[history] cannot read ${path}: ${(error as Error).message}`, { cause: error });
  }
  const pruned = { retention: 0, size: 0 };
  let malformed = 0;
  let count = opened.count;
  let lastId = opened.lastId;
  const hosts = new Map<string, HostSeen>();
  const seen = (list: [string, number, number][]) => {
    for (const [host, first, last] of list) hosts.set(host, { first, last });
  };
  seen(opened.hosts);
  const destination = historyDestination({
    client,
    onWritten: (written) => {
      count += written.added;
      malformed += written.malformed;
      lastId = Math.max(lastId, written.lastId);
      seen(written.hosts);
    },
  });
  const silent = new Set<string>();
  let pruning: Promise<void> | null = null;

  async function runPrune(): Promise<void> {
    pruning ??= (async () => {
      try {
        const counts = await client.prune({
          now: now(),
          retentionDays: config.history.retentionDays,
          maxBytes: config.history.maxBytes,
        });
        pruned.retention += counts.retention;
        pruned.size += counts.size;
        count -= counts.retention + counts.size;
        if (counts.retention > 0)
          log.info(
            `[history] deleted ${counts.retention} events older than ${config.history.retentionDays} days`,
          );
        if (counts.size > 0)
          log.warn(`[history] deleted the ${counts.size} oldest events: the file reached history.maxBytes`);
      } catch (error) {
        log.warn(`[history] prune failed: ${(error as Error).message}`);
      } finally {
        pruning = null;
      }
    })();
    return pruning;
  }

  function checkHosts(): void {
    const at = now();
    for (const [host, seen] of hosts) {
      const quiet = isSilent(seen.last, at, config.hosts.silentAfterMinutes);
      if (quiet && !silent.has(host)) {
        silent.add(host);
        log.warn(`[hosts] ${host} is silent: no event since ${new Date(seen.last).toISOString()}`);
      } else if (!quiet && silent.delete(host)) {
        log.info(`[hosts] ${host} is sending events again`);
      }
    }
  }

  await runPrune();
  const pruneTimer = setInterval(() => void runPrune(), HOUR_MS);
  pruneTimer.unref();
  const hostTimer = setInterval(checkHosts, 30_000);
  hostTimer.unref();
  log.info(`[history] ${path}: ${count} events`);

  let closed = false;
  return {
    name: "history",
    destination,
    queries,
    lastId: () => lastId,
    restore(ring, sessions) {
      const rows = reader
        .query(`SELECT ${EVENT_COLUMNS} FROM events e ORDER BY e.id DESC LIMIT ?`)
        .values(ring.capacity) as unknown as EventRow[];
      const decoder = createEventDecoder(reader);
      for (let i = rows.length - 1; i >= 0; i--) ring.push(decoder.decode(rows[i] as EventRow));
      sessions.restore(opened.sessions);
    },
    async apply(next) {
      const before = config;
      config = next["sense-events"];
      // A writer that stopped must not fail the reload of everything else (its reason is in /health).
      if (
        config.sessions.idleTimeoutMinutes !== before.sessions.idleTimeoutMinutes &&
        client.failure === null
      )
        await client
          .setIdleTimeout(config.sessions.idleTimeoutMinutes)
          .catch((error: Error) => log.warn(`[history] idle timeout not applied: ${error.message}`));
      // enable and path are restart-only (reference §19.1): the reload answer lists them as such.
      if (
        config.history.retentionDays !== before.history.retentionDays ||
        config.history.maxBytes !== before.history.maxBytes
      ) {
        await runPrune();
      }
      checkHosts();
      return { rebuilt: [] };
    },
    stats() {
      const range = extentOf(reader);
      const hostLastEventSeconds: Record<string, number> = {};
      for (const [host, seen] of hosts) hostLastEventSeconds[host] = seen.last / 1000;
      return {
        path,
        events: count,
        bytes: usedBytes(reader),
        oldest: range.lo === null ? null : new Date(range.lo).toISOString(),
        newest: range.hi === null ? null : new Date(range.hi).toISOString(),
        pruned: { ...pruned },
        malformed,
        hostLastEventSeconds,
      };
    },
    prune: runPrune,
    checkHosts,
    problems: () => (client.failure === null ? [...problems] : [...problems, client.failure]),
    /** Saves the sessions and closes the file; runs after the outbox has flushed into it. */
    async close() {
      if (closed) return;
      closed = true;
      clearInterval(pruneTimer);
      clearInterval(hostTimer);
      await pruning;
      try {
        await client.close();
      } catch (error) {
        log.warn(`[history] could not save the sessions: ${(error as Error).message}`);
      }
      queries.close();
      lock.release();
    },
  };
}
