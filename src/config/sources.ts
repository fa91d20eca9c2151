import { isIP } from "node:net";
import { isHost } from "./fields.ts";

/** One `allowedSources` entry, classified (spec §8.3). */
export type AllowedSource =
  | { kind: "ip"; address: string }
  | { kind: "cidr"; network: string; prefix: number; family: 4 | 6 }
  | { kind: "hostname"; hostname: string }
  | { kind: "invalid"; entry: string };

/** Classifies an allow-list entry as an IP literal, a CIDR range, a hostname or invalid. */
export function classifySource(entry: string): AllowedSource {
  const text = entry.trim();
  if (isIP(text) !== 0) return { kind: "ip", address: text };
  const slash = text.indexOf("/");
  if (slash !== -1) {
    const network = text.slice(0, slash);
    const prefixText = text.slice(slash + 1);
    const family = isIP(network);
    const prefix = Number(prefixText);
    if ((family === 4 || family === 6) && /^\d{1,3}$/.test(prefixText) && prefix <= (family === 4 ? 32 : 128))
      return { kind: "cidr", network, prefix, family };
    return { kind: "invalid", entry };
  }
  // Digits and dots only is a malformed IPv4 literal (e.g. zero-padded), which resolvers read as octal.
  return isHost(text) && !/^[\d.]+$/.test(text)
    ? { kind: "hostname", hostname: text }
    : { kind: "invalid", entry };
}

/** Resolves a hostname to its A and AAAA addresses; rejects when it cannot. */
export type ResolveHost = (hostname: string) => Promise<string[]>;

/** What an allow-list amounts to after resolving its hostnames. */
export interface AllowListCheck {
  /** Usable entries: literals, ranges and hostnames that resolved to at least one address. */
  usable: number;
  /** One line per unusable entry, prefixed by its YAML path. */
  problems: string[];
}

const PATH = "Butler-SOS.userEvents.udpServerConfig.allowedSources";

/** Classifies every entry and resolves the hostnames (spec §8.3: failures make an entry unusable). */
export async function checkAllowList(
  entries: readonly string[],
  resolveHost: ResolveHost,
): Promise<AllowListCheck> {
  const results = await Promise.all(
    entries.map(async (entry, i): Promise<string | undefined> => {
      const source = classifySource(entry);
      if (source.kind === "invalid")
        return `${PATH}[${i}]: "${entry}" is not an IP address, CIDR range or hostname; ignored`;
      if (source.kind !== "hostname") return undefined;
      try {
        const addresses = await resolveHost(source.hostname);
        return addresses.length > 0 ? undefined : `${PATH}[${i}]: "${entry}" resolves to no address; ignored`;
      } catch (error) {
        const reason = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
        return `${PATH}[${i}]: cannot resolve "${entry}" (${reason}); ignored`;
      }
    }),
  );
  const problems = results.filter((r): r is string => r !== undefined);
  return { usable: entries.length - problems.length, problems };
}
