import { Database } from "bun:sqlite";

/** A held exclusive lock; released by `release()` or when the process ends (even by kill -9). */
export interface FileLock {
  /** The lock file (`<path>.lock`). */
  readonly path: string;
  /** Releases the lock. */
  release(): void;
}

/** Another process (or another open in this one) holds the lock of `file`. */
export class FileLockedError extends Error {}

/**
 * Takes an exclusive lock for `file` (the spool, the history store) through `<file>.lock`, using
 * sqlite's own OS-level locking so it works the same on Linux and Windows and never goes stale.
 * Throws {@link FileLockedError} naming the file when it is already held.
 */
export function lockFile(file: string): FileLock {
  const path = `${file}.lock`;
  const db = new Database(path, { create: true });
  try {
    db.exec("PRAGMA locking_mode = EXCLUSIVE; PRAGMA busy_timeout = 0;");
    // The first write of an exclusive-mode connection takes the lock and keeps it until close.
    db.exec("BEGIN EXCLUSIVE");
  } catch (error) {
    db.close();
    const busy = (error as { code?: string }).code === "SQLITE_BUSY";
    if (!busy) throw error;
    throw new FileLockedError(`${file} is in use by another sense-events process (lock ${path} is held)`, {
      cause: error,
    });
  }
  return {
    path,
    release: () => db.close(),
  };
}
