import { lookup } from "node:dns/promises";
import { featureSummary } from "../config/features.ts";
import { EXIT_CONFIG, formatConfigIssue, loadConfigFile } from "../config/load.ts";
import { checkAllowList, type ResolveHost } from "../config/sources.ts";
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

/** The system resolver: every A and AAAA address of `hostname`. */
const systemResolve: ResolveHost = async (hostname) =>
  (await lookup(hostname, { all: true, verbatim: true })).map((a) => a.address);

/**
 * `sense-events check-config -c FILE` (spec §15): prints each error and returns 78, or prints the
 * warnings and a one-line feature summary and returns 0. Warns when the allow-list fails closed.
 */
export async function checkConfig(path: string, io: CheckConfigIo): Promise<number> {
  const result = await loadConfigFile(path);
  if (!result.ok) {
    for (const issue of result.errors) io.err(formatConfigIssue(issue));
    return EXIT_CONFIG;
  }
  const { config } = result;
  const warnings = [...result.warnings];
  const udp = config["Butler-SOS"].userEvents.udpServerConfig;
  if (config["Butler-SOS"].userEvents.enable && udp.enableSourceValidation) {
    const allow = await checkAllowList(udp.allowedSources, io.resolveHost ?? systemResolve);
    warnings.push(...allow.problems);
    if (allow.usable === 0)
      warnings.push(
        "Butler-SOS.userEvents.udpServerConfig.allowedSources: no usable entry, so the allow-list fails closed and every datagram will be dropped",
      );
  }
  for (const warning of warnings) io.err(`warning: ${warning}`);
  const hint = cardinalityHint(config);
  if (hint !== null) io.err(hint);
  io.out(featureSummary(config));
  return 0;
}
