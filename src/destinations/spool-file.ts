import { closeSync, existsSync, mkdirSync, openSync, readSync, renameSync, statSync } from "node:fs";
import { dirname } from "node:path";
import type { Logger } from "../log.ts";
import { type FileLock, lockFile } from "./file-lock.ts";
import { createSqliteSpool, type Spool, type SpoolRemoval, type SpoolRow } from "./spool.ts";
import { isCorrupt, type SpoolFaults } from "./spool-errors.ts";

/** A spool backed by a file that is watched and can be replaced when it was tampered with. */
export interface SpoolFile extends Spool {
  /** The spool file. */
  readonly path: string;
  /** What is wrong with the file on disk (deleted, replaced, truncated, corrupted), or null when it is sound. */
  check(): string | null;
  /** Closes the database, moves its files aside with a timestamped name and starts an empty spool; returns the new name. */
  recreate(): string;
  /** Closes the database after a failed write (disk full) but keeps the lock, so `resume` can reopen it. */
  suspend(): void;
  /** Reopens a suspended spool (applying delivered marks); throws while it still cannot be used. */
  resume(): void;
}

const HEADER = "SQLite format 3\0";

/** Identity of a file, to notice when it is replaced. */
function identity(path: string): string {
  const stat = statSync(path);
  return `${stat.dev}:${stat.ino}`;
}

/** Moves `path` and its WAL and shared-memory files to `<path>.bad-<UTC timestamp>`; returns that name. */
export function moveAside(path: string, now: Date): string {
  const stamp = now
    .toISOString()
    .replace(/[-:]/g, "")
    .replace(/\.\d+Z$/, "Z");
  const aside = `${path}.bad-${stamp}`;
  for (const suffix of ["", "-wal", "-shm", "-delivered"]) {
    if (existsSync(path + suffix)) renameSync(path + suffix, aside + suffix);
  }
  return aside;
}

/** Checks the sqlite header on disk: magic text, and a file at least as long as the pages it declares. */
function headerProblem(path: string): string | null {
  const fd = openSync(path, "r");
  try {
    const size = statSync(path).size;
    const header = Buffer.alloc(100);
    const n = readSync(fd, header, 0, 100, 0);
    if (n < 100) return `was truncated to ${size} bytes`;
    if (header.toString("latin1", 0, 16) !== HEADER) return "was overwritten (not a sqlite header)";
    const rawPageSize = header.readUInt16BE(16);
    const pageSize = rawPageSize === 1 ? 65536 : rawPageSize;
    const pages = header.readUInt32BE(28);
    if (size < pages * pageSize) return `was truncated to ${size} bytes (${pages * pageSize} expected)`;
    return null;
  } finally {
    closeSync(fd);
  }
}

/** The {@link SpoolFile} implementation: delegates to the current sqlite spool. */
class WatchedSpool implements SpoolFile {
  #inner: Spool;
  #identity: string;

  constructor(
    readonly path: string,
    inner: Spool,
    readonly lock: FileLock,
    readonly now: () => number,
    readonly faults: SpoolFaults,
  ) {
    this.#inner = inner;
    this.#identity = identity(path);
  }

  append(destination: string, payloads: string[], sizes?: number[]): void {
    this.#inner.append(destination, payloads, sizes);
  }
  prepend(destination: string, payloads: string[], sizes?: number[]): void {
    this.#inner.prepend(destination, payloads, sizes);
  }
  peek(destination: string, n: number): SpoolRow[] {
    return this.#inner.peek(destination, n);
  }
  remove(destination: string, uptoSeq: number): SpoolRemoval {
    return this.#inner.remove(destination, uptoSeq);
  }
  count(destination: string): number {
    return this.#inner.count(destination);
  }
  destinations(): string[] {
    return this.#inner.destinations();
  }
  totalBytes(): number {
    return this.#inner.totalBytes();
  }
  evict(bytes: number): SpoolRemoval[] {
    return this.#inner.evict(bytes);
  }
  compact(): void {
    this.#inner.compact();
  }
  fileBytes(): number {
    return this.#inner.fileBytes();
  }

  check(): string | null {
    if (!existsSync(this.path)) return "was deleted";
    try {
      if (identity(this.path) !== this.#identity) return "was replaced by another file";
      return headerProblem(this.path);
    } catch (error) {
      return `cannot be read: ${(error as Error).message}`;
    }
  }

  recreate(): string {
    try {
      this.#inner.close();
    } catch {
      // Already broken.
    }
    const aside = moveAside(this.path, new Date(this.now()));
    this.#inner = createSqliteSpool(this.path, this.faults);
    this.#identity = identity(this.path);
    return aside;
  }

  suspend(): void {
    try {
      this.#inner.close();
    } catch {
      // Already broken.
    }
  }

  resume(): void {
    this.#inner = createSqliteSpool(this.path, this.faults);
    this.#identity = identity(this.path);
  }

  close(): void {
    try {
      this.#inner.close();
    } finally {
      this.lock.release();
    }
  }
}

/**
 * Opens the spool file at `path` (reference §9): creates its folder, takes the exclusive lock (a
 * second instance gets {@link FileLockedError}, which is thrown), and checks the file. A file that is
 * not a sound sqlite database is moved aside with a timestamped name, logged, and replaced by an empty
 * spool; a spool that cannot be created at all is logged and gives null (memory-only, degraded).
 */
export function openSpool(
  path: string,
  log: Logger,
  now: () => number = Date.now,
  faults: SpoolFaults = {},
): SpoolFile | null {
  try {
    mkdirSync(dirname(path), { recursive: true });
  } catch (error) {
    log.error(
      `[outbox] cannot create the folder of spool file ${path}, running memory-only: ${(error as Error).message}`,
    );
    return null;
  }
  const lock = lockFile(path);
  try {
    let spool: Spool;
    try {
      spool = createSqliteSpool(path, faults);
    } catch (error) {
      if (!isCorrupt(error)) throw error;
      const aside = moveAside(path, new Date(now()));
      log.error(
        `[outbox] spool file ${path} is not a sound sqlite database (${(error as Error).message}): moved aside to ${aside}; its items are lost; starting an empty spool`,
      );
      spool = createSqliteSpool(path, faults);
    }
    return new WatchedSpool(path, spool, lock, now, faults);
  } catch (error) {
    lock.release();
    log.error(`[outbox] cannot use spool file ${path}, running memory-only: ${(error as Error).message}`);
    return null;
  }
}
