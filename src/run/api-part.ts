import { type ApiDeps, createApi } from "../api/app.ts";
import { redactConfig } from "../config/redact.ts";
import { type Config, fileSections } from "../config/schema.ts";
import type { UserEvent } from "../events/event.ts";
import { hostPort } from "../net.ts";
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
  const { host, port } = config["sense-events"].api;
  let server: ReturnType<typeof Bun.serve>;
  try {
    server = Bun.serve({ hostname: host, port, fetch: api.app.fetch, idleTimeout: 0 });
  } catch (error) {
    throw new Error(`cannot start the API on ${hostPort(host, port)}: ${(error as Error).message}`, {
      cause: error,
    });
  }
  const unsubscribe = events.subscribe(api.broadcast);
  const url = `http://${hostPort(server.hostname ?? host, server.port ?? port)}`;
  log.info(`[api] listening on ${url}`);
  return {
    name: "api",
    async apply(next) {
      current = next;
      return { rebuilt: [] };
    },
    stats: () => ({ url }),
    async close() {
      unsubscribe();
      api.closeStreams();
      // A graceful stop lets the ended SSE streams reach their clients (a forced one resets them);
      // connections still open after a second are cut.
      await Promise.race([server.stop(false), Bun.sleep(1000)]);
      await server.stop(true);
    },
  };
}
