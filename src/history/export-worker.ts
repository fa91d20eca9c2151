/**
 * The history export Worker (reference §19): reads the range on its own read-only connection and
 * formats it, so a long export costs the main thread (UDP processing, API) nothing but passing bytes.
 * Protocol: `{ path, filter, format }` starts; each `"more"` allows one more chunk; it answers
 * `{ chunk }` (transferred), then `{ end: true }` or `{ error }`.
 */
import { EXPORT_FORMATS } from "./csv.ts";
import { createEventDecoder } from "./decode.ts";
import { exportEvents, type HistoryFilter } from "./events-query.ts";
import { openHistoryReader } from "./open.ts";

declare const self: Worker;

/** The start message. */
export interface ExportStart {
  path: string;
  filter: HistoryFilter;
  format: keyof typeof EXPORT_FORMATS;
}

let credit = 0;
let producing = false;
let pages: AsyncGenerator<string> | null = null;

async function* text(start: ExportStart): AsyncGenerator<string> {
  const db = openHistoryReader(start.path);
  try {
    const format = EXPORT_FORMATS[start.format];
    let header = format.header;
    let pages = 0;
    for await (const page of exportEvents(db, createEventDecoder(db), start.filter)) {
      // A collection now and then keeps the export's RSS flat: the garbage of a page is the whole page.
      if (++pages % 10 === 0) Bun.gc(true);
      let out = header;
      header = "";
      for (const e of page) out += format.row(e);
      yield out;
    }
    if (header !== "") yield header;
  } finally {
    db.close();
  }
}

async function produce(): Promise<void> {
  if (producing || pages === null) return;
  producing = true;
  const encoder = new TextEncoder();
  try {
    while (credit > 0 && pages !== null) {
      const started = performance.now();
      const next = await pages.next();
      if (next.done) {
        pages = null;
        self.postMessage({ end: true });
        break;
      }
      credit--;
      const chunk = encoder.encode(next.value);
      self.postMessage({ chunk }, [chunk.buffer]);
      // At most half of one core: as long a pause as the page took, so that on a small server the
      // receive thread, the processing and the history writer always find a core (reference §19).
      await Bun.sleep(performance.now() - started);
    }
  } catch (error) {
    pages = null;
    self.postMessage({ error: (error as Error).message });
  } finally {
    producing = false;
  }
}

self.onmessage = (event: MessageEvent<ExportStart | "more">) => {
  if (event.data === "more") credit++;
  else {
    pages = text(event.data);
    // One chunk ahead of the reader, so reading and sending overlap.
    credit = 2;
  }
  void produce();
};
