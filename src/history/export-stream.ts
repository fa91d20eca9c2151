import { HISTORY_EXPORT_WORKER_URL } from "../workers.ts";
import type { EXPORT_FORMATS } from "./csv.ts";
import type { HistoryFilter } from "./events-query.ts";

type Reply = { chunk: Uint8Array } | { end: true } | { error: string };

/**
 * Streams the events of `filter` from the history file at `path` in `format`, read and formatted by
 * a Worker (src/history/export-worker.ts); at most two chunks are in flight, so memory stays flat.
 */
export function workerExportStream(
  path: string,
  filter: HistoryFilter,
  format: keyof typeof EXPORT_FORMATS,
  workerUrl = HISTORY_EXPORT_WORKER_URL,
): ReadableStream<Uint8Array> {
  let worker: Worker | null = null;
  const inbox: Reply[] = [];
  let waiting: ((reply: Reply) => void) | null = null;
  const deliver = (reply: Reply) => {
    const w = waiting;
    waiting = null;
    if (w) w(reply);
    else inbox.push(reply);
  };
  const stop = () => {
    worker?.terminate();
    worker = null;
  };
  return new ReadableStream<Uint8Array>({
    start() {
      worker = new Worker(workerUrl);
      worker.onmessage = (event: MessageEvent<Reply>) => deliver(event.data);
      worker.onerror = (event) => deliver({ error: event.message });
      worker.postMessage({ path, filter, format });
    },
    async pull(controller) {
      const reply = inbox.shift() ?? (await new Promise<Reply>((resolve) => (waiting = resolve)));
      if ("chunk" in reply) {
        controller.enqueue(reply.chunk);
        worker?.postMessage("more");
      } else if ("end" in reply) {
        controller.close();
        stop();
      } else {
        controller.error(new Error(`[history] export failed: ${reply.error}`));
        stop();
      }
    },
    cancel: stop,
  });
}
