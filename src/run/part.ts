import type { Config } from "../config/schema.ts";

/** What a part did with a new config: the names of what it rebuilt (empty when nothing changed). */
export interface Applied {
  /** What was rebuilt, e.g. `["udp"]` or `["mqtt"]`; empty when the part kept everything. */
  rebuilt: string[];
}

/**
 * One long-lived part of the service (events, delivery, app names, ingest, API). The service starts
 * parts in list order, applies a reloaded config to them in the same order and closes them in
 * reverse. Each part reads only its own slice of the config and decides what to rebuild.
 */
export interface Part<Stats = unknown> {
  /** Short name used in logs and in the reload answer. */
  readonly name: string;
  /**
   * Applies a new validated config. Throws, with nothing of this part changed, when the new config
   * cannot be put in force (e.g. a UDP address that cannot be bound).
   */
  apply(next: Config): Promise<Applied>;
  /** The part's figures for `/api/stats`, `/health` and `/metrics`; never changes any state. */
  stats(): Stats;
  /** Releases everything the part opened (sockets, timers, files); safe to call once. */
  close(): Promise<void>;
}
