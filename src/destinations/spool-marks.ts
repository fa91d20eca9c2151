import { closeSync, existsSync, fsyncSync, openSync, readSync, writeSync } from "node:fs";

/** Size of the marks file; written in place, so recording a mark needs no free disk space. */
const MARKS_BYTES = 4096;

/**
 * Per-destination "delivered up to seq" marks for spool rows that could not be deleted (disk full),
 * kept in a small preallocated file beside the spool so that a restart never replays them.
 */
export class DeliveredMarks {
  readonly #marks = new Map<string, number>();
  readonly #fd: number;

  /** Opens `path`, creating it at its full size when missing, and reads the marks it holds. */
  constructor(path: string) {
    const exists = existsSync(path);
    this.#fd = openSync(path, exists ? "r+" : "w+");
    if (!exists) this.#write();
    const buffer = Buffer.alloc(MARKS_BYTES);
    const n = readSync(this.#fd, buffer, 0, MARKS_BYTES, 0);
    try {
      const parsed = JSON.parse(buffer.subarray(0, n).toString("utf8").trim() || "{}") as Record<
        string,
        unknown
      >;
      for (const [name, seq] of Object.entries(parsed))
        if (typeof seq === "number") this.#marks.set(name, seq);
    } catch {
      // A torn or foreign file holds no usable marks: start without any.
    }
  }

  /** Number of destinations with a mark. */
  get size(): number {
    return this.#marks.size;
  }

  /** The mark of `destination`, if any. */
  get(destination: string): number | undefined {
    return this.#marks.get(destination);
  }

  /** The marks as [destination, seq] pairs. */
  entries(): [string, number][] {
    return [...this.#marks.entries()];
  }

  /** Records that the rows of `destination` up to `seq` are delivered, durably (fsync). */
  set(destination: string, seq: number): void {
    this.#marks.set(destination, Math.max(seq, this.#marks.get(destination) ?? seq));
    this.#write();
  }

  /** Forgets every mark (after the marked rows were deleted). */
  clear(): void {
    this.#marks.clear();
    this.#write();
  }

  /** Closes the file. */
  close(): void {
    closeSync(this.#fd);
  }

  #write(): void {
    const text = JSON.stringify(Object.fromEntries(this.#marks));
    if (Buffer.byteLength(text) > MARKS_BYTES) throw new Error("[outbox] too many delivered marks");
    // Padded to the full size and written at offset 0: the file never grows.
    const buffer = Buffer.alloc(MARKS_BYTES, " ");
    buffer.write(text, 0, "utf8");
    writeSync(this.#fd, buffer, 0, MARKS_BYTES, 0);
    fsyncSync(this.#fd);
  }
}
