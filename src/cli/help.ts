import { VERSION } from "../version.ts";

/** The `--version` output: `sense-events <semver>`. */
export function versionText(): string {
  return `sense-events ${VERSION}`;
}

/** The `--help` output: commands, options, exit codes and where the appender XML goes. */
export function helpText(): string {
  return `${versionText()} - receive Qlik Sense user events over UDP and forward them

Usage:
  sense-events [run] [-c|--config|--configfile FILE]
      Run the receiver. Without -c the embedded default configuration is used.
  sense-events check-config -c FILE
      Validate FILE: print warnings and a summary of enabled features (exit 0),
      or print the errors (exit 78).
  sense-events appender-xml --address HOST [--port 9997]
      Print a Log4Net LocalLogConfig.xml that sends user events to HOST:PORT.
      Save it as C:\\ProgramData\\Qlik\\Sense\\Proxy\\LocalLogConfig.xml on every
      proxy node; Sense picks it up without a restart.
  sense-events send-test-events --to HOST:PORT [--count N] [--rate R]
      Send N sample user-event datagrams (default 40) at R per second
      (default 10; 0 = as fast as possible). IPv6: --to [::1]:9997
  sense-events service install -c FILE [--name NAME] [--print]
  sense-events service uninstall|start|stop|status [--name NAME]
      Run as a service (default name sense-events): on Windows through NSSM
      (automatic start, restart on exit, log in logs\\ beside FILE; needs an
      elevated prompt), on Linux as a systemd unit in /etc/systemd/system
      (needs root; --print only prints the unit or NSSM commands).
      status prints running, stopped or not installed and exits 0, 3 or 4.
  sense-events --version | -v
  sense-events --help | -h

Options also accept the form --option=value.

Exit codes:
  0   success
  1   runtime failure (bind, fatal I/O)
  2   usage error (unknown option, missing value, bad --to)
  3   service status: installed but not running
  4   service status/start/stop/uninstall: not installed
  77  service install/uninstall: not elevated (Windows) or not root (Linux)
  78  invalid or unreadable configuration
`;
}

/** The two lines printed on stderr for a usage error. */
export function usageErrorText(message: string): string {
  return `sense-events: ${message}\nRun "sense-events --help" for usage.\n`;
}
