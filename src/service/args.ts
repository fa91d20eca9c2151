/** The `sense-events service` subcommands. */
export const SERVICE_ACTIONS = ["install", "uninstall", "start", "stop", "status"] as const;

/** One `sense-events service` subcommand. */
export type ServiceAction = (typeof SERVICE_ACTIONS)[number];

/** A parsed `sense-events service ACTION [--name NAME] [-c FILE] [--print]` command line. */
export type ServiceArgs = {
  command: "service";
  action: ServiceAction;
  /** Service (Windows) or unit (systemd) name. @default "sense-events" */
  name: string;
  /** The config file the service runs with (install only). */
  configFile: string | undefined;
  /** Print what install would do instead of doing it (install only). */
  print: boolean;
};

/** The default service name. */
export const DEFAULT_SERVICE_NAME = "sense-events";

// A name that is a valid Windows service name and systemd unit name without escaping.
const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,79}$/;

/** Parses the arguments after `service`; returns a one-line message for a usage error. */
export function parseServiceArgs(argv: string[]): ServiceArgs | { message: string } {
  const [action, ...rest] = argv;
  if (action === undefined) return { message: `service needs one of: ${SERVICE_ACTIONS.join(", ")}` };
  if (!(SERVICE_ACTIONS as readonly string[]).includes(action)) {
    return { message: `unknown service action "${action}" (expected ${SERVICE_ACTIONS.join(", ")})` };
  }
  const args: ServiceArgs = {
    command: "service",
    action: action as ServiceAction,
    name: DEFAULT_SERVICE_NAME,
    configFile: undefined,
    print: false,
  };
  for (let i = 0; i < rest.length; i++) {
    const arg = rest[i] as string;
    const eq = arg.indexOf("=");
    const flag = eq < 0 ? arg : arg.slice(0, eq);
    if (flag === "--print" && eq < 0 && action === "install") {
      args.print = true;
      continue;
    }
    const isConfig = flag === "-c" || flag === "--config" || flag === "--configfile";
    if (flag !== "--name" && !(isConfig && action === "install")) {
      return {
        message: arg.startsWith("-")
          ? `unknown option "${flag}" for service ${action}`
          : `unexpected argument "${arg}"`,
      };
    }
    let value = eq >= 0 ? arg.slice(eq + 1) : rest[++i];
    if (value?.startsWith("-") && eq < 0) value = undefined;
    if (value === undefined || value === "") return { message: `option "${flag}" needs a value` };
    if (isConfig) args.configFile = value;
    else if (!NAME.test(value)) {
      return {
        message: `--name must be 1-80 letters, digits, ".", "_" or "-" (starting with a letter or digit), got "${value}"`,
      };
    } else args.name = value;
  }
  if (action === "install" && args.configFile === undefined)
    return { message: 'service install needs "-c FILE"' };
  return args;
}
