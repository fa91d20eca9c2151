/** A test seam at the spool's write boundary: throwing here acts like sqlite failing that write (e.g. disk full). */
export interface SpoolFaults {
  beforeWrite?(op: "append" | "prepend" | "remove" | "evict"): void;
}

/** The spool file is not a usable sqlite database (failed `quick_check`, bad header). */
export class SpoolCorruptError extends Error {}

/** True for sqlite's "database or disk is full" (SQLITE_FULL). */
export function isDiskFull(error: unknown): boolean {
  const e = error as { code?: string; message?: string } | null;
  return e?.code === "SQLITE_FULL" || /disk is full|ENOSPC/i.test(e?.message ?? "");
}

/** True for errors that mean the file's content is bad, rather than the disk or permissions. */
export function isCorrupt(error: unknown): boolean {
  const e = error as { code?: string } | null;
  return (
    error instanceof SpoolCorruptError ||
    e?.code === "SQLITE_CORRUPT" ||
    e?.code === "SQLITE_NOTADB" ||
    (e?.code?.startsWith("SQLITE_IOERR") ?? false) ||
    (e?.code?.startsWith("SQLITE_READONLY") ?? false)
  );
}
