/**
 * URLs of the Worker scripts. Resolved here, beside src/main.ts, because in a compiled binary every
 * module's `import.meta.url` is the binary itself, whose embedded files keep their paths below src/;
 * from this file the same relative path works in both `bun src/main.ts` and the binary.
 * scripts/build.ts adds each script as an extra entry point.
 */
export const UDP_WORKER_URL: string = new URL("./ingest/udp-worker.ts", import.meta.url).href;

/** The config-load thread of a reload (src/config/load-worker.ts). */
export const CONFIG_WORKER_URL: string = new URL("./config/load-worker.ts", import.meta.url).href;

/** The history export Worker (reference §19). */
export const HISTORY_EXPORT_WORKER_URL: string = new URL("./history/export-worker.ts", import.meta.url).href;

/** The history write Worker: the file's writing connection (reference §19). */
export const HISTORY_WRITE_WORKER_URL: string = new URL("./history/write-worker.ts", import.meta.url).href;
