import type { Logger } from "../log.ts";

/** Client certificate files for the Qlik Repository Service (Butler-SOS.cert.*), as resolved paths. */
export interface AppNamesCert {
  /** PEM client certificate path. */
  clientCert: string;
  /** PEM client key path. */
  clientCertKey: string;
  /** PEM CA path; used only when verifying the server certificate. */
  clientCertCA?: string;
  /** Key passphrase; ignored when empty. */
  clientCertPassphrase?: string;
}

/** Options for {@link createAppNames}. */
export interface AppNamesOptions {
  /** False: never fetch, every lookup misses. */
  enabled: boolean;
  /** Qlik Sense host running the repository service (`appNames.hostIP`). */
  hostIP: string;
  /** Milliseconds between fetches (`appNames.extractInterval`). */
  intervalMs: number;
  cert: AppNamesCert;
  /** Verify the QRS server certificate against `clientCertCA` (reference §4.2: off by default). */
  verifyServerCert: boolean;
  log: Logger;
  /** Injectable for tests. */
  fetch?: typeof fetch;
  /** QRS port. @default 4242 */
  port?: number;
  /** Per-fetch timeout in ms. @default 30000 */
  timeoutMs?: number;
}

/** Counters exposed by {@link AppNames.stats}. */
export interface AppNamesStats {
  enabled: boolean;
  /** Number of names currently known. */
  count: number;
  /** ISO time of the last successful fetch, or null. */
  lastRefreshAt: string | null;
  failures: number;
  lastError: string | null;
}

/** The app-id → app-name lookup kept fresh from the QRS (reference §4.2). */
export interface AppNames {
  /** Name of a lower-cased app id, or undefined when unknown or disabled. */
  lookup(appId: string): string | undefined;
  /** Runs the first fetch now (without waiting for it) and then one every interval. */
  start(): void;
  /** Fetches once; resolves after the map was replaced or the failure recorded. Never rejects. */
  refresh(): Promise<void>;
  stats(): AppNamesStats;
  /** Stops the timer; an in-flight fetch is aborted. */
  close(): void;
}

const XRF_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/** Returns 16 random `[A-Za-z0-9]` characters for the Qlik `xrfkey` (unbiased: 248 = 4 × 62). */
export function createXrfKey(): string {
  let key = "";
  while (key.length < 16) {
    for (const byte of crypto.getRandomValues(new Uint8Array(24))) {
      if (byte < 248 && key.length < 16) key += XRF_CHARS[byte % 62];
    }
  }
  return key;
}

/** Turns a QRS `/qrs/app` response body into a map of lower-cased id → name, skipping bad entries. */
export function parseAppList(body: unknown): Map<string, string> {
  if (!Array.isArray(body)) throw new Error("response is not a JSON array");
  const names = new Map<string, string>();
  for (const app of body) {
    if (typeof app !== "object" || app === null) continue;
    const { id, name } = app as { id?: unknown; name?: unknown };
    if (typeof id === "string" && typeof name === "string") names.set(id.toLowerCase(), name);
  }
  return names;
}

/** Creates the app-name lookup; nothing is fetched before `start()` or `refresh()`. */
export function createAppNames(options: AppNamesOptions): AppNames {
  const doFetch = options.fetch ?? fetch;
  const port = options.port ?? 4242;
  const timeoutMs = options.timeoutMs ?? 30_000;
  let names = new Map<string, string>();
  let lastRefreshAt: string | null = null;
  let failures = 0;
  let lastError: string | null = null;
  let inFlight: Promise<void> | null = null;
  let timer: ReturnType<typeof setInterval> | null = null;
  const closing = new AbortController();

  async function fetchOnce(): Promise<void> {
    const key = createXrfKey();
    const { cert } = options;
    const [clientCert, clientKey, ca] = await Promise.all([
      Bun.file(cert.clientCert).text(),
      Bun.file(cert.clientCertKey).text(),
      options.verifyServerCert && cert.clientCertCA ? Bun.file(cert.clientCertCA).text() : undefined,
    ]);
    const response = await doFetch(`https://${options.hostIP}:${port}/qrs/app?xrfkey=${key}`, {
      headers: {
        "X-Qlik-Xrfkey": key,
        "X-Qlik-User": "UserDirectory=Internal; UserId=sa_repository",
      },
      signal: AbortSignal.any([closing.signal, AbortSignal.timeout(timeoutMs)]),
      tls: {
        cert: clientCert,
        key: clientKey,
        ...(cert.clientCertPassphrase ? { passphrase: cert.clientCertPassphrase } : {}),
        ...(ca === undefined ? {} : { ca }),
        rejectUnauthorized: options.verifyServerCert,
      },
    });
    if (!response.ok) {
      throw new Error(`HTTP ${response.status}: ${(await response.text()).slice(0, 512)}`);
    }
    names = parseAppList(await response.json());
    lastRefreshAt = new Date().toISOString();
  }

  async function refreshNow(): Promise<void> {
    try {
      await fetchOnce();
      options.log.verbose(`[appnames] loaded ${names.size} app names`);
    } catch (error) {
      if (closing.signal.aborted) return;
      failures++;
      lastError = error instanceof Error ? error.message : String(error);
      options.log.warn(
        `[appnames] fetch from ${options.hostIP}:${port} failed, keeping ${names.size} known names: ${lastError}`,
      );
    }
  }

  // Fetches never overlap: a refresh while one runs joins it.
  function refresh(): Promise<void> {
    if (!options.enabled) return Promise.resolve();
    inFlight ??= refreshNow().finally(() => {
      inFlight = null;
    });
    return inFlight;
  }

  return {
    lookup: (appId) => (options.enabled ? names.get(appId) : undefined),
    start() {
      if (!options.enabled || timer) return;
      void refresh();
      timer = setInterval(() => void refresh(), options.intervalMs);
      timer.unref();
    },
    refresh,
    stats: () => ({ enabled: options.enabled, count: names.size, lastRefreshAt, failures, lastError }),
    close() {
      if (timer) clearInterval(timer);
      timer = null;
      closing.abort();
    },
  };
}
