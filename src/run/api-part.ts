import { type ApiDeps, createApi } from "../api/app.ts";
import { startApiServer } from "../api/serve.ts";
import { redactConfig } from "../config/redact.ts";
import { type Config, fileSections } from "../config/schema.ts";
import type { UserEvent } from "../events/event.ts";
import type { Part } from "./part.ts";

/** Figures of the API part. */
export interface ApiStats {
  /** Base URL the API listens on. */
  url: string;
}

/** The HTTP API (reference §13) as a part; a reload changes its token and shown config, never its address. */
export type ApiPart = Part<ApiStats>;

/** What the API part needs besides its config: the other parts' figures and the reload. */
export type ApiPartDeps = Omit<ApiDeps, "config" | "token" | "sse" | "now" | "ring" | "sessions"> & {
  events: Pick<ApiDeps, "ring" | "sessions"> & {
    subscribe(listener: (event: UserEvent) => void): () => void;
  };
};

/**
 * Serves the API on `sense-events.api.host:port` (restart-only settings); rejects naming the
 * address when it cannot listen. Returns null when the API is off.
 */
export function createApiPart(config: Config, deps: ApiPartDeps): ApiPart | null {
  if (!config["sense-events"].api.enable) return null;
  let current = config;
  const { events, log, ...rest } = deps;
  const api = createApi({
    ...rest,
    ring: events.ring,
    sessions: events.sessions,
    config: () => redactConfig(fileSections(current)),
    token: () => current["sense-events"].api.token || undefined,
    log,
  });
  // HTTP or HTTPS listener (reference §20, src/api/serve.ts); throws naming the address it cannot use.
  const server = startApiServer({ ...config["sense-events"].api, fetch: api.app.fetch, log });
  const unsubscribe = events.subscribe(api.broadcast);
  log.info(`[api] listening on ${server.url}`);
  return {
    name: "api",
    async apply(next) {
      current = next;
      // Reference §20: the certificate is re-read on every reload (a renewed file at the same path too).
      server.applyTls(next["sense-events"].api.tls);
      return { rebuilt: [] };
    },
    stats: () => ({ url: server.url }),
    async close() {
      unsubscribe();
      api.closeStreams();
      // Graceful for a second (ended SSE streams reach their clients), then forced.
      await server.stop();
    },
  };
}
