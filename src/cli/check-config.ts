import { featureSummary } from "../config/features.ts";
import { formatConfigIssue, loadConfigFile } from "../config/load.ts";
import { createAllowList, FAILED_CLOSED, type ResolveHost } from "../ingest/allow-list.ts";
import { EXIT } from "./args.ts";
import { cardinalityHint } from "./cardinality-hint.ts";

/** Where `check-config` writes, and how it resolves allow-list hostnames (injectable for tests). */
export interface CheckConfigIo {
  /** Writes one line to stdout. */
  out: (line: string) => void;
  /** Writes one line to stderr. */
  err: (line: string) => void;
  /** Resolves a hostname to its addresses. @default A and AAAA records via the system resolver */
  resolveHost?: ResolveHost;
}

/**
 * `sense-events check-config -c FILE` (reference §15): prints each error and returns 78, or prints the
 * warnings and a one-line feature summary and returns 0. Checks the allow-list exactly as the
 * receiver does at startup, and warns when it fails closed.
 */
export async function checkConfig(path: string, io: CheckConfigIo): Promise<number> {
  const result = await loadConfigFile(path);
  if (!result.ok) {
    for (const issue of result.errors) io.err(formatConfigIssue(issue));
    return EXIT.config;
  }
  const { config } = result;
  const warnings = [...result.warnings];
  const udp = config["Butler-SOS"].userEvents.udpServerConfig;
  if (config.features.userEvents && udp.enableSourceValidation) {
    const allow = await createAllowList(udp.allowedSources, { resolve: io.resolveHost });
    warnings.push(...allow.problems);
    if (allow.failedClosed) warnings.push(FAILED_CLOSED);
  }
  for (const warning of warnings) io.err(`warning: ${warning}`);
  const hint = cardinalityHint(config);
  if (hint !== null) io.err(hint);
  io.out(featureSummary(config));
  return 0;
}
