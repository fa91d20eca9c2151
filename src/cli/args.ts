import { isIPv6 } from "node:net";
import { parseServiceArgs, type ServiceArgs } from "../service/args.ts";

/** Process exit codes (reference §15); 78 is EX_CONFIG from sysexits.h. */
export const EXIT = { ok: 0, runtime: 1, usage: 2, config: 78 } as const;

/** A successfully parsed command line, one variant per command. */
export type ParsedArgs =
  | { command: "run"; configFile: string | undefined }
  | { command: "check-config"; configFile: string }
  | { command: "appender-xml"; address: string; port: number }
  | { command: "send-test-events"; host: string; port: number; count: number; rate: number }
  | HistoryArgs
  | { command: "version" }
  | { command: "help" }
  | ServiceArgs;

/** A command line that cannot be run; `message` is one line, printed before exiting with `EXIT.usage`. */
export type UsageError = { command: "usage-error"; message: string };

/** `sense-events history export|stats -c FILE …` (reference §19). */
export type HistoryArgs =
  | {
      command: "history";
      action: "export";
      configFile: string;
      from: string | undefined;
      to: string | undefined;
      format: "csv" | "ndjson";
      out: string | undefined;
    }
  | { command: "history"; action: "stats"; configFile: string };

/** A `--to` target split into host (without brackets) and port. */
export type HostPort = { host: string; port: number };

const COMMANDS = ["run", "check-config", "appender-xml", "send-test-events", "history"] as const;
type Command = (typeof COMMANDS)[number];

// Value-taking options per command, mapped to their canonical name.
const OPTIONS: Record<Command, Record<string, string>> = {
  run: { "-c": "config", "--config": "config", "--configfile": "config" },
  "check-config": { "-c": "config", "--config": "config", "--configfile": "config" },
  "appender-xml": { "--address": "address", "--port": "port" },
  "send-test-events": { "--to": "to", "--count": "count", "--rate": "rate" },
  history: {
    "-c": "config",
    "--config": "config",
    "--configfile": "config",
    "--from": "from",
    "--to": "to",
    "--format": "format",
    "--out": "out",
  },
};

const HELP_FLAGS = new Set(["--help", "-h"]);
const VERSION_FLAGS = new Set(["--version", "-v"]);

/**
 * Parses the arguments after the executable and script (`process.argv.slice(2)`); never throws.
 * `--help`/`-h` and `--version`/`-v` anywhere win over everything else; a repeated option keeps its last value.
 */
export function parseArgs(argv: string[]): ParsedArgs | UsageError {
  if (argv.some((a) => HELP_FLAGS.has(a))) return { command: "help" };
  if (argv.some((a) => VERSION_FLAGS.has(a))) return { command: "version" };

  let rest = argv;
  let command: Command = "run";
  const first = argv[0];
  if (first === "help") return { command: "help" };
  if (first === "version") return { command: "version" };
  if (first === "service") {
    const service = parseServiceArgs(argv.slice(1));
    return "message" in service ? usageError(service.message) : service;
  }
  if (first !== undefined && !first.startsWith("-")) {
    if (!(COMMANDS as readonly string[]).includes(first)) return usageError(`unknown command "${first}"`);
    command = first as Command;
    rest = argv.slice(1);
  }
  let sub: string | undefined;
  if (command === "history") {
    sub = rest[0];
    if (sub !== "export" && sub !== "stats") return usageError('history needs "export" or "stats"');
    rest = rest.slice(1);
  }

  const values = readOptions(rest, OPTIONS[command]);
  if ("message" in values) return values;
  if (sub !== undefined) return buildHistory(sub, values);
  return buildCommand(command, values);
}

function buildHistory(sub: string, values: Map<string, string>): HistoryArgs | UsageError {
  const configFile = values.get("config");
  if (configFile === undefined) return usageError(`history ${sub} needs "-c FILE"`);
  if (sub === "stats") return { command: "history", action: "stats", configFile };
  const format = values.get("format") ?? "csv";
  if (format !== "csv" && format !== "ndjson")
    return usageError(`--format must be csv or ndjson, got "${format}"`);
  return {
    command: "history",
    action: "export",
    configFile,
    from: values.get("from"),
    to: values.get("to"),
    format,
    out: values.get("out"),
  };
}

/** Splits `host:port` or `[v6]:port` into its parts, or returns a usage error. */
export function parseHostPort(text: string): HostPort | UsageError {
  const bad = usageError(`--to must be host:port or [ipv6]:port, got "${text}"`);
  let host: string;
  let portText: string;
  if (text.startsWith("[")) {
    const close = text.indexOf("]");
    if (close < 0 || text[close + 1] !== ":") return bad;
    host = text.slice(1, close);
    portText = text.slice(close + 2);
    if (!isIPv6(host)) return bad;
  } else {
    const colon = text.indexOf(":");
    // A second colon means a bare IPv6 address, which is ambiguous without brackets.
    if (colon <= 0 || text.indexOf(":", colon + 1) >= 0) return bad;
    host = text.slice(0, colon);
    portText = text.slice(colon + 1);
    if (/[\s[\]/]/.test(host)) return bad;
  }
  const port = parsePort(portText);
  return port === undefined ? bad : { host, port };
}

function readOptions(args: string[], known: Record<string, string>): Map<string, string> | UsageError {
  const values = new Map<string, string>();
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] as string;
    if (!arg.startsWith("-") || arg === "-") return usageError(`unexpected argument "${arg}"`);
    const eq = arg.indexOf("=");
    const flag = eq < 0 ? arg : arg.slice(0, eq);
    const name = known[flag];
    if (name === undefined) return usageError(`unknown option "${flag}"`);
    let value: string | undefined;
    if (eq >= 0) value = arg.slice(eq + 1);
    else {
      value = args[i + 1];
      // A following option is a missing value, not a value that starts with "-".
      if (value?.startsWith("-") && value.length > 1) value = undefined;
      else i++;
    }
    if (value === undefined || value === "") return usageError(`option "${flag}" needs a value`);
    values.set(name, value);
  }
  return values;
}

function buildCommand(command: Command, values: Map<string, string>): ParsedArgs | UsageError {
  switch (command) {
    case "run":
      return { command, configFile: values.get("config") };
    case "history":
      return usageError('history needs "export" or "stats"');
    case "check-config": {
      const configFile = values.get("config");
      if (configFile === undefined) return usageError('check-config needs "-c FILE"');
      return { command, configFile };
    }
    case "appender-xml": {
      const address = values.get("address");
      if (address === undefined) return usageError('appender-xml needs "--address HOST"');
      const portText = values.get("port");
      const port = portText === undefined ? 9997 : parsePort(portText);
      if (port === undefined) return usageError(`--port must be an integer 1-65535, got "${portText}"`);
      return { command, address, port };
    }
    case "send-test-events": {
      const to = values.get("to");
      if (to === undefined) return usageError('send-test-events needs "--to HOST:PORT"');
      const target = parseHostPort(to);
      if ("message" in target) return target;
      const countText = values.get("count") ?? "40";
      const count = /^\d{1,9}$/.test(countText) ? Number(countText) : 0;
      if (count < 1) return usageError(`--count must be a positive integer, got "${countText}"`);
      const rateText = values.get("rate") ?? "10";
      if (!/^\d{1,9}(\.\d+)?$/.test(rateText)) {
        return usageError(
          `--rate must be a number of datagrams per second (0 = unthrottled), got "${rateText}"`,
        );
      }
      return { command, host: target.host, port: target.port, count, rate: Number(rateText) };
    }
  }
}

function parsePort(text: string): number | undefined {
  if (!/^\d{1,5}$/.test(text)) return undefined;
  const port = Number(text);
  return port >= 1 && port <= 65535 ? port : undefined;
}

function usageError(message: string): UsageError {
  return { command: "usage-error", message };
}
