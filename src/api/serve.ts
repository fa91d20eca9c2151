import { readFileSync } from "node:fs";
import { isLoopback } from "../config/rules.ts";
import type { Logger } from "../log.ts";
import { hostPort } from "../net.ts";

/** PEM file paths of `sense-events.api.tls` (already resolved against the config file's folder). */
export interface ApiTlsPaths {
  cert?: string | undefined;
  key?: string | undefined;
}

/** Options for {@link startApiServer}. */
export interface ApiServerOptions {
  host: string;
  port: number;
  tls?: ApiTlsPaths | undefined;
  fetch: (request: Request, server: Bun.Server<undefined>) => Response | Promise<Response>;
  log: Logger;
}

/** The HTTP(S) listener of the API and the dashboard. */
export interface ApiServer {
  /** `http://host:port` or `https://host:port`. */
  readonly url: string;
  /**
   * Re-reads the certificate and key (reload); when they or the TLS setting changed, the listener is
   * replaced on the same port. A file that cannot be used keeps the running listener and is logged.
   */
  applyTls(tls: ApiTlsPaths | undefined): void;
  /** Stops accepting, gives open responses a second to end, then cuts what is left. */
  stop(): Promise<void>;
}

interface Pem {
  cert: string;
  key: string;
}

/** Reads the PEM pair, or returns null without TLS; throws naming the file that cannot be read. */
function readPem(tls: ApiTlsPaths | undefined): Pem | null {
  if (!tls?.cert || !tls.key) return null;
  const read = (path: string) => {
    try {
      return readFileSync(path, "utf8");
    } catch (error) {
      throw new Error(`cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? error}`, {
        cause: error,
      });
    }
  };
  return { cert: read(tls.cert), key: read(tls.key) };
}

/**
 * Starts the API listener with Bun's own TLS when `tls` names a certificate and key (reference §20).
 * A listener reachable from other machines without TLS logs one warning: the token would travel in clear.
 */
export function startApiServer(options: ApiServerOptions): ApiServer {
  const { host, port, log } = options;
  const where = hostPort(host, port);
  const listen = (pem: Pem | null, bindPort: number) =>
    Bun.serve({
      hostname: host,
      port: bindPort,
      fetch: options.fetch,
      idleTimeout: 0,
      ...(pem ? { tls: { cert: pem.cert, key: pem.key } } : {}),
    });

  let pem: Pem | null;
  let server: Bun.Server<undefined>;
  try {
    pem = readPem(options.tls);
    server = listen(pem, port);
  } catch (error) {
    throw new Error(`cannot start the API on ${where}: ${(error as Error).message}`, { cause: error });
  }
  // Port 0 (tests) binds a free port; a replacement listener must take the same one.
  const boundPort = server.port ?? port;
  const url = `${pem ? "https" : "http"}://${hostPort(server.hostname ?? host, boundPort)}`;
  if (!pem && !isLoopback(host)) {
    log.warn(
      `[api] ${url} is reachable from other machines without TLS: the API token travels in clear text; set sense-events.api.tls`,
    );
  }
  /** Listeners replaced by a reload, still finishing their open responses (SSE streams). */
  const retired = new Set<Bun.Server<undefined>>();

  return {
    get url() {
      return `${pem ? "https" : "http"}://${hostPort(server.hostname ?? host, boundPort)}`;
    },
    applyTls(tls) {
      let next: Pem | null;
      try {
        next = readPem(tls);
      } catch (error) {
        log.error(`[api] TLS not reloaded, the current certificate stays: ${(error as Error).message}`);
        return;
      }
      if (next?.cert === pem?.cert && next?.key === pem?.key) return;
      // Stopping without force frees the port at once and lets open responses finish on the old listener.
      const old = server;
      retired.add(old);
      void old.stop(false).then(() => retired.delete(old));
      try {
        server = listen(next, boundPort);
      } catch (error) {
        log.error(`[api] TLS not reloaded, the current certificate stays: ${(error as Error).message}`);
        try {
          server = listen(pem, boundPort);
        } catch (again) {
          // Someone took the port in between: nothing to serve with until a restart.
          log.error(`[api] cannot listen on ${where} again: ${(again as Error).message}`);
        }
        return;
      }
      pem = next;
      log.info(`[api] ${pem ? "certificate reloaded" : "TLS turned off"}: listening on ${this.url}`);
      if (!pem && !isLoopback(host)) {
        log.warn(`[api] ${this.url} has no TLS any more: the API token travels in clear text`);
      }
    },
    async stop() {
      const all = [server, ...retired];
      // A graceful stop lets the ended SSE streams reach their clients (a forced one resets them);
      // connections still open after a second are cut.
      await Promise.race([Promise.all(all.map((s) => s.stop(false))), Bun.sleep(1000)]);
      await Promise.all(all.map((s) => s.stop(true)));
    },
  };
}
