import { describe, expect, test } from "bun:test";
import { EXIT, parseArgs, parseHostPort } from "../../src/cli/args.ts";

describe("parseArgs", () => {
  test.each([
    [[], { command: "run", configFile: undefined }],
    [["run"], { command: "run", configFile: undefined }],
    [["-c", "a.yaml"], { command: "run", configFile: "a.yaml" }],
    [["run", "--config", "a.yaml"], { command: "run", configFile: "a.yaml" }],
    [["--configfile", "a.yaml"], { command: "run", configFile: "a.yaml" }],
    [["--configfile=a=b.yaml"], { command: "run", configFile: "a=b.yaml" }],
    [["-c", "a.yaml", "-c", "b.yaml"], { command: "run", configFile: "b.yaml" }],
    [["check-config", "-c", "x.yaml"], { command: "check-config", configFile: "x.yaml" }],
    [["check-config", "--config=x.yaml"], { command: "check-config", configFile: "x.yaml" }],
    [["appender-xml", "--address", "10.0.0.5"], { command: "appender-xml", address: "10.0.0.5", port: 9997 }],
    [
      ["appender-xml", "--address=sense.lab", "--port", "9000"],
      { command: "appender-xml", address: "sense.lab", port: 9000 },
    ],
    [
      ["send-test-events", "--to", "127.0.0.1:9997"],
      { command: "send-test-events", host: "127.0.0.1", port: 9997, count: 40, rate: 10 },
    ],
    [
      ["send-test-events", "--to=[::1]:9997", "--count", "100", "--rate=0"],
      { command: "send-test-events", host: "::1", port: 9997, count: 100, rate: 0 },
    ],
    [
      ["send-test-events", "--rate", "2.5", "--to", "sense.lab:1"],
      { command: "send-test-events", host: "sense.lab", port: 1, count: 40, rate: 2.5 },
    ],
    [["--version"], { command: "version" }],
    [["-v"], { command: "version" }],
    [["version"], { command: "version" }],
    [["--help"], { command: "help" }],
    [["-h"], { command: "help" }],
    [["help"], { command: "help" }],
    [["send-test-events", "--help"], { command: "help" }],
    [["--bogus", "--help"], { command: "help" }],
  ])("parses %j", (argv, expected) => {
    expect(parseArgs(argv)).toStrictEqual(expected as ReturnType<typeof parseArgs>);
  });

  test.each([
    [["frobnicate"], 'unknown command "frobnicate"'],
    [["--bogus"], 'unknown option "--bogus"'],
    [["run", "--to", "a:1"], 'unknown option "--to"'],
    [["appender-xml", "--address", "h", "--count", "1"], 'unknown option "--count"'],
    [["-c"], 'option "-c" needs a value'],
    [["-c", "--config", "x"], 'option "-c" needs a value'],
    [["--config="], 'option "--config" needs a value'],
    [["run", "extra"], 'unexpected argument "extra"'],
    [["check-config"], 'check-config needs "-c FILE"'],
    [["appender-xml"], 'appender-xml needs "--address HOST"'],
    [["appender-xml", "--address", "h", "--port", "0"], '--port must be an integer 1-65535, got "0"'],
    [["appender-xml", "--address", "h", "--port", "70000"], '--port must be an integer 1-65535, got "70000"'],
    [["appender-xml", "--address", "h", "--port", "99x"], '--port must be an integer 1-65535, got "99x"'],
    [["send-test-events"], 'send-test-events needs "--to HOST:PORT"'],
    [["send-test-events", "--to", "h:1", "--count", "ten"], '--count must be a positive integer, got "ten"'],
    [["send-test-events", "--to", "h:1", "--count", "0"], '--count must be a positive integer, got "0"'],
    [["send-test-events", "--to", "h:1", "--count", "1e3"], '--count must be a positive integer, got "1e3"'],
    [
      ["send-test-events", "--to", "h:1", "--rate", "fast"],
      '--rate must be a number of datagrams per second (0 = unthrottled), got "fast"',
    ],
    [["send-test-events", "--to", "h"], '--to must be host:port or [ipv6]:port, got "h"'],
  ])("rejects %j", (argv, message) => {
    expect(parseArgs(argv)).toStrictEqual({ command: "usage-error", message });
  });
});

describe("parseHostPort", () => {
  test.each([
    ["127.0.0.1:9997", { host: "127.0.0.1", port: 9997 }],
    ["sense-events.lab:1", { host: "sense-events.lab", port: 1 }],
    ["[::1]:9997", { host: "::1", port: 9997 }],
    ["[fd00::15]:65535", { host: "fd00::15", port: 65535 }],
  ])("accepts %s", (text, expected) => {
    expect(parseHostPort(text)).toStrictEqual(expected);
  });

  test.each([
    "host",
    ":9997",
    "host:",
    "host:0",
    "host:65536",
    "host:-1",
    "host:12ab",
    "::1:9997",
    "[::1]9997",
    "[::1]:",
    "[::1",
    "[not-v6]:9997",
    "[]:9997",
    "ho st:1",
  ])("rejects %j", (text) => {
    expect(parseHostPort(text)).toStrictEqual({
      command: "usage-error",
      message: `--to must be host:port or [ipv6]:port, got "${text}"`,
    });
  });
});

test("EXIT holds the reference §15 exit codes", () => {
  expect(EXIT).toStrictEqual({ ok: 0, runtime: 1, usage: 2, config: 78 });
});
