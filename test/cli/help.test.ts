import { expect, test } from "bun:test";
import { helpText, usageErrorText, versionText } from "../../src/cli/help.ts";
import { VERSION } from "../../src/version.ts";

test("versionText is sense-events followed by the package version", () => {
  expect(versionText()).toBe(`sense-events ${VERSION}`);
  expect(VERSION).toMatch(/^\d+\.\d+\.\d+/);
});

test.each([
  "sense-events [run] [-c|--config|--configfile FILE]",
  "sense-events check-config -c FILE",
  "sense-events appender-xml --address HOST [--port 9997]",
  "sense-events send-test-events --to HOST:PORT [--count N] [--rate R]",
  "--version",
  "--help",
  "C:\\ProgramData\\Qlik\\Sense\\Proxy\\LocalLogConfig.xml on every",
  "without a restart",
  "78  invalid or unreadable configuration",
  "2   usage error",
  "sense-events service install -c FILE [--name NAME] [--print]",
  "sense-events service uninstall|start|stop|status [--name NAME]",
  "3   service status: installed but not running",
  "4   service status/start/stop/uninstall: not installed",
  "77  service install/uninstall: not elevated (Windows) or not root (Linux)",
])("helpText mentions %s", (text) => {
  expect(helpText()).toContain(text);
});

test("usageErrorText names the problem and points at --help", () => {
  expect(usageErrorText('unknown option "--x"')).toBe(
    'sense-events: unknown option "--x"\nRun "sense-events --help" for usage.\n',
  );
});
