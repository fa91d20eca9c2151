/**
 * `sense-events service` (reference §21): command line, the Windows decisions around NSSM and sc.exe
 * (the full Windows cycle runs under Wine in test/windows/service.test.ts), and the Linux systemd unit.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { chmodSync, existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "../../src/cli/args.ts";
import type { ServiceArgs } from "../../src/service/args.ts";
import { runServiceCommand } from "../../src/service/command.ts";
import type { ServiceDeps } from "../../src/service/deps.ts";
import { decodeOutput, type ExecResult } from "../../src/service/exec.ts";
import { nssmParameters, nssmRegistryFile } from "../../src/service/nssm.ts";
import type { InstallSpec } from "../../src/service/spec.ts";
import { parseSystemctlShow, systemdQuote, systemdUnit } from "../../src/service/systemd.ts";
import { parseElevation, parseScQuery } from "../../src/service/windows.ts";
import { BUN, runToEnd, tempDir } from "../support/process.ts";
import { ensureDebianPackages } from "../support/wine.ts";

const dir = tempDir("sense-events-service-");
afterAll(() => dir.cleanup());

const WINDOWS_SPEC: InstallSpec = {
  name: "sense-events",
  configFile: "C:\\ProgramData\\sense-events\\config.yaml",
  executable: "C:\\Program Files\\sense-events\\sense-events.exe",
  script: null,
  udpPort: 9997,
  spoolPath: "C:\\ProgramData\\sense-events\\outbox.sqlite",
  stopGraceMs: 15_000,
};

/** Fake collaborators: `answers` maps a command's first words to its result; every command is recorded. */
function fakeDeps(answers: Record<string, Partial<ExecResult>> = {}, extra: Partial<ServiceDeps> = {}) {
  const ran: string[] = [];
  const out: string[] = [];
  const err: string[] = [];
  const deps: ServiceDeps = {
    async exec(cmd) {
      const line = cmd.join(" ");
      ran.push(line);
      const key = Object.keys(answers).find((prefix) => line.startsWith(prefix));
      return { code: 0, stdout: "", stderr: "", ...(key === undefined ? {} : answers[key]) };
    },
    out: (line) => out.push(line),
    err: (line) => err.push(line),
    unitDir: dir.path,
    isRoot: true,
    nssm: null,
    systemRoot: "C:\\Windows",
    sleep: async () => {},
    ...extra,
  };
  return { deps, ran, out, err };
}

function service(action: ServiceArgs["action"], more: Partial<ServiceArgs> = {}): ServiceArgs {
  return { command: "service", action, name: "sense-events", configFile: undefined, print: false, ...more };
}

const SC = "C:\\Windows\\System32\\sc.exe";
const WHOAMI = "C:\\Windows\\System32\\whoami.exe";
const scState = (n: number, label: string) => ({
  stdout: `\r\nSERVICE_NAME: sense-events\r\n        TYPE               : 10  WIN32_OWN_PROCESS\r\n        STATE              : ${n}  ${label}\r\n`,
});
const NOT_INSTALLED = {
  code: 1060,
  stdout:
    "[SC] EnumQueryServicesStatus:OpenService FAILED 1060:\r\n\r\nThe specified service does not exist.\r\n",
};

describe("command line", () => {
  test.each([
    [
      ["service", "install", "-c", "config.yaml"],
      { action: "install", name: "sense-events", configFile: "config.yaml", print: false },
    ],
    [
      ["service", "install", "--print", "--name", "qs-events", "--config=c.yaml"],
      { action: "install", name: "qs-events", configFile: "c.yaml", print: true },
    ],
    [
      ["service", "status", "--name=other"],
      { action: "status", name: "other", configFile: undefined, print: false },
    ],
    [
      ["service", "uninstall"],
      { action: "uninstall", name: "sense-events", configFile: undefined, print: false },
    ],
  ])("parses %j", (argv, expected) => {
    expect(parseArgs(argv)).toStrictEqual({ command: "service", ...expected } as ServiceArgs);
  });

  test.each([
    [["service"], "service needs one of: install, uninstall, start, stop, status"],
    [["service", "restart"], 'unknown service action "restart"'],
    [["service", "install"], 'service install needs "-c FILE"'],
    [["service", "start", "-c", "x.yaml"], 'unknown option "-c" for service start'],
    [["service", "status", "--print"], 'unknown option "--print" for service status'],
    [["service", "stop", "--name", "bad name"], "--name must be 1-80 letters"],
    [["service", "stop", "--name"], 'option "--name" needs a value'],
  ])("rejects %j", (argv, message) => {
    const parsed = parseArgs(argv);
    expect(parsed.command).toBe("usage-error");
    expect((parsed as { message: string }).message).toContain(message);
  });
});

describe("Windows", () => {
  test.each([
    ["UTF-16LE as NSSM writes it when redirected", Buffer.from("\uFEFFdbg: START: Success.\r\n", "utf16le")],
    ["UTF-8", Buffer.from("dbg: START: Success.\r\n")],
  ])("decodes %s", (_, bytes) => {
    expect(decodeOutput(bytes)).toBe("dbg: START: Success.\r\n");
  });

  test.each([
    [0, scState(4, "RUNNING").stdout, "running"],
    [0, scState(1, "STOPPED").stdout, "stopped"],
    [0, scState(2, "START_PENDING").stdout, "starting"],
    [0, scState(3, "STOP_PENDING").stdout, "stopping"],
    [1060, NOT_INSTALLED.stdout, "not installed"],
    // Wine's sc.exe: exit 1 and no output.
    [1, "", "not installed"],
  ])("sc query exit %d reads as the state %#", (code, stdout, state) => {
    expect<string>(parseScQuery(code, stdout)).toBe(state);
  });

  test.each([
    ["Mandatory Label\\High Mandatory Level   Label   S-1-16-12288", true],
    ["Mandatory Label\\System Mandatory Level Label   S-1-16-16384", true],
    ["Mandatory Label\\Medium Mandatory Level Label   S-1-16-8192", false],
    // Wine's whoami prints only the user name: no level, so NSSM decides.
    ["VM\\root", null],
  ])("whoami /groups %s is elevated: %p", (stdout, elevated) => {
    expect(parseElevation(0, `GROUP INFORMATION\r\n-----------------\r\n${stdout}\r\n`)).toBe(elevated);
  });

  test("the NSSM registry file holds the production parameters as nssm set would store them", () => {
    const reg = nssmRegistryFile(WINDOWS_SPEC);
    const value = (name: string) => new RegExp(`^"${name}"=(.*)$`, "m").exec(reg)?.[1];
    const expandSz = (text: string | undefined) =>
      Buffer.from(
        (text ?? "")
          .replace("hex(2):", "")
          .split(",")
          .map((h) => Number.parseInt(h, 16)),
      )
        .toString("utf16le")
        .replace(/\0$/, "");
    expect(reg.startsWith("Windows Registry Editor Version 5.00\r\n")).toBe(true);
    expect({
      Application: expandSz(value("Application")),
      AppParameters: expandSz(value("AppParameters")),
      AppDirectory: expandSz(value("AppDirectory")),
      AppStdout: expandSz(value("AppStdout")),
      AppStderr: expandSz(value("AppStderr")),
      AppStopMethodConsole: value("AppStopMethodConsole"),
      AppThrottle: value("AppThrottle"),
      AppRotateOnline: value("AppRotateOnline"),
      AppRotateBytes: value("AppRotateBytes"),
    }).toStrictEqual({
      Application: "C:\\Program Files\\sense-events\\sense-events.exe",
      AppParameters: 'run -c "C:\\ProgramData\\sense-events\\config.yaml"',
      AppDirectory: "C:\\ProgramData\\sense-events",
      AppStdout: "C:\\ProgramData\\sense-events\\logs\\sense-events.log",
      AppStderr: "C:\\ProgramData\\sense-events\\logs\\sense-events.log",
      AppStopMethodConsole: "dword:00003a98",
      AppThrottle: "dword:000005dc",
      AppRotateOnline: "dword:00000001",
      AppRotateBytes: "dword:00a00000",
    });
    expect(reg).toContain(
      '[HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Services\\sense-events\\Parameters\\AppExit]\r\n@="Restart"',
    );
    expect(nssmParameters(WINDOWS_SPEC)).toHaveLength(17);
  });

  test("install from a non-elevated prompt refuses with exit 77 and runs nothing else", async () => {
    const config = dir.write("win.yaml", "sense-events: {}\n");
    const fake = fakeDeps({
      [WHOAMI]: { stdout: "Mandatory Label\\Medium Mandatory Level Label S-1-16-8192" },
    });
    const code = await runServiceCommand(service("install", { configFile: config }), fake.deps, "win32");
    expect({ code, ran: fake.ran }).toStrictEqual({ code: 77, ran: [`${WHOAMI} /groups`] });
    expect(fake.err.join("\n")).toContain('"Run as administrator"');
  });

  test("install refuses a service name that exists, with exit 1", async () => {
    const config = dir.write("win.yaml", "sense-events: {}\n");
    const fake = fakeDeps({ [SC]: scState(4, "RUNNING") });
    const code = await runServiceCommand(
      service("install", { configFile: config, name: "qs" }),
      fake.deps,
      "win32",
    );
    expect(code).toBe(1);
    expect(fake.err).toStrictEqual([
      'sense-events: a service named "qs" already exists; choose another --name, or remove it first with "sense-events service uninstall --name qs"',
    ]);
  });

  test("install with an invalid config exits 78 before touching the service manager", async () => {
    const config = dir.write("bad.yaml", "sense-events:\n  api:\n    port: 99999\n");
    const fake = fakeDeps();
    expect(await runServiceCommand(service("install", { configFile: config }), fake.deps, "win32")).toBe(78);
    expect(fake.ran).toStrictEqual([]);
    expect(fake.err[0]).toStartWith("config error: sense-events.api.port");
  });

  test.each([
    [scState(4, "RUNNING"), 0, "sense-events: running"],
    [scState(1, "STOPPED"), 3, "sense-events: stopped"],
    [scState(2, "START_PENDING"), 3, "sense-events: starting"],
    [NOT_INSTALLED, 4, "sense-events: not installed"],
  ])("status of %j exits %d", async (answer, exit, line) => {
    const fake = fakeDeps({ [SC]: answer });
    expect(await runServiceCommand(service("status"), fake.deps, "win32")).toBe(exit);
    expect(fake.out).toStrictEqual([line]);
  });

  test("stop waits while the service manager reports stop pending", async () => {
    const states = [
      scState(4, "RUNNING"),
      scState(3, "STOP_PENDING"),
      scState(3, "STOP_PENDING"),
      scState(1, "STOPPED"),
    ];
    const fake = fakeDeps();
    fake.deps.exec = async (cmd) => {
      fake.ran.push(cmd.slice(1).join(" "));
      const answer = cmd[1] === "query" ? states.shift() : {};
      return { code: 0, stdout: "", stderr: "", ...answer };
    };
    expect(await runServiceCommand(service("stop"), fake.deps, "win32")).toBe(0);
    expect(fake.ran).toStrictEqual([
      "query sense-events",
      "stop sense-events",
      "query sense-events",
      "query sense-events",
      "query sense-events",
    ]);
    expect(fake.out).toStrictEqual(["sense-events: stopped"]);
  });
});

describe("Linux (systemd)", () => {
  const linuxSpec = (more: Partial<InstallSpec> = {}): InstallSpec => ({
    name: "sense-events",
    configFile: "/etc/sense-events/config.yaml",
    executable: "/usr/local/bin/sense-events",
    script: null,
    udpPort: 9997,
    spoolPath: "/var/lib/sense-events/outbox.sqlite",
    stopGraceMs: 15_000,
    ...more,
  });

  test.each([
    ["/usr/local/bin/sense-events", "/usr/local/bin/sense-events"],
    ["/opt/Sense Events/config.yaml", '"/opt/Sense Events/config.yaml"'],
    ["/srv/100%/x", "/srv/100%%/x"],
    ["/srv/$HOME", "/srv/$$HOME"],
    ["/srv/it's", '"/srv/it\'s"'],
  ])("systemdQuote(%s) is %s", (word, quoted) => {
    expect(systemdQuote(word)).toBe(quoted);
  });

  test("the unit restarts on failure, reloads by SIGHUP and runs sandboxed as a dynamic user", () => {
    const unit = systemdUnit(linuxSpec());
    for (const line of [
      "ExecStart=/usr/local/bin/sense-events run -c /etc/sense-events/config.yaml",
      "ExecReload=/bin/kill -s HUP $MAINPID",
      "Restart=on-failure",
      "TimeoutStopSec=15s",
      "DynamicUser=yes",
      "StateDirectory=sense-events",
      "ProtectSystem=strict",
      "RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX AF_NETLINK",
      "WantedBy=multi-user.target",
    ]) {
      expect(unit.split("\n")).toContain(line);
    }
    // JavaScriptCore's JIT needs W+X memory: this option would kill the process at start.
    expect(unit).not.toMatch(/^MemoryDenyWriteExecute=/m);
  });

  test.each([
    ["LoadState=loaded\nActiveState=active\n", "running"],
    ["LoadState=loaded\nActiveState=inactive\n", "stopped"],
    ["LoadState=loaded\nActiveState=failed\n", "stopped"],
    ["LoadState=not-found\nActiveState=inactive\n", "not installed"],
  ])("systemctl show %j reads as %s", (stdout, state) => {
    expect<string>(parseSystemctlShow(stdout)).toBe(state);
  });

  test("install --print prints a unit that systemd-analyze verify accepts", async () => {
    await ensureDebianPackages([{ path: "/usr/bin/systemd-analyze", pkg: "systemd" }]);
    const config = dir.write(
      "verify.yaml",
      "sense-events:\n  outbox:\n    path: /var/lib/se-verify/outbox.sqlite\n",
    );
    const printed = await runToEnd([
      BUN,
      "src/main.ts",
      "service",
      "install",
      "--print",
      "--name",
      "se-verify",
      "-c",
      config,
    ]);
    expect({ code: printed.code, stderr: printed.stderr }).toStrictEqual({ code: 0, stderr: "" });
    expect(printed.stdout).toContain(`run -c ${config}\n`);
    const unitFile = join(dir.path, "se-verify.service");
    writeFileSync(unitFile, printed.stdout);
    const verify = await runToEnd(["systemd-analyze", "verify", unitFile]);
    // verify exits 0 on unknown keys too, naming them on stderr: both must be clean.
    expect({ code: verify.code, stderr: verify.stderr }).toStrictEqual({ code: 0, stderr: "" });
    expect(existsSync(join(dir.path, "unit-dir", "se-verify.service"))).toBe(false);
  });

  test("install writes NAME.service, prints the systemctl commands, and refuses the same name again", async () => {
    const config = dir.write(
      "linux.yaml",
      "sense-events:\n  outbox:\n    path: /var/lib/qs-events/outbox.sqlite\n",
    );
    chmodSync(config, 0o644);
    const fake = fakeDeps();
    const args = service("install", { configFile: config, name: "qs-events" });
    expect(await runServiceCommand(args, fake.deps, "linux")).toBe(0);
    expect(readFileSync(join(dir.path, "qs-events.service"), "utf8")).toContain("StateDirectory=qs-events\n");
    expect(fake.out).toStrictEqual([
      `Wrote ${join(dir.path, "qs-events.service")}. Next:`,
      "  systemctl daemon-reload",
      "  systemctl enable --now qs-events.service",
      "  systemctl status qs-events.service",
      "  journalctl -u qs-events.service -f",
    ]);
    expect({ err: fake.err, ran: fake.ran }).toStrictEqual({
      err: [],
      ran: ["systemctl show qs-events.service -p LoadState -p ActiveState"],
    });

    const again = fakeDeps();
    expect(await runServiceCommand(args, again.deps, "linux")).toBe(1);
    expect(again.err[0]).toContain("qs-events.service already exists");
  });

  test("a name like a target is always addressed as NAME.service (stop never stops multi-user.target)", async () => {
    writeFileSync(join(dir.path, "multi-user.target.service"), "[Service]\n");
    const fake = fakeDeps();
    expect(await runServiceCommand(service("stop", { name: "multi-user.target" }), fake.deps, "linux")).toBe(
      0,
    );
    expect(fake.ran).toStrictEqual(["systemctl stop multi-user.target.service"]);
  });

  test("install refuses a name systemd already has a unit for elsewhere (a vendor unit would be overridden)", async () => {
    const config = dir.write(
      "vendor.yaml",
      "sense-events:\n  outbox:\n    path: /var/lib/ssh/outbox.sqlite\n",
    );
    const fake = fakeDeps({ "systemctl show": { stdout: "LoadState=loaded\nActiveState=active\n" } });
    const args = service("install", { configFile: config, name: "ssh" });
    expect(await runServiceCommand(args, fake.deps, "linux")).toBe(1);
    expect(fake.err[0]).toContain("ssh.service already exists");
    expect(existsSync(join(dir.path, "ssh.service"))).toBe(false);
  });

  test("install warns when the spool is outside the state directory or the config is unreadable to the service", async () => {
    const config = dir.write("warn.yaml", "sense-events:\n  outbox:\n    path: outbox.sqlite\n");
    chmodSync(config, 0o600);
    const fake = fakeDeps();
    expect(
      await runServiceCommand(service("install", { configFile: config, name: "warned" }), fake.deps, "linux"),
    ).toBe(0);
    expect(fake.err).toStrictEqual([
      `sense-events: warning: outbox.path is ${join(dir.path, "outbox.sqlite")}, but the service can only write below /var/lib/warned: set it to /var/lib/warned/outbox.sqlite`,
      `sense-events: warning: ${config} is not readable by other users, and the service runs as a dynamic user: chmod o+r it`,
    ]);
  });

  test("install without root refuses with exit 77 and writes nothing", async () => {
    const config = dir.write("root.yaml", "sense-events: {}\n");
    const fake = fakeDeps({}, { isRoot: false });
    expect(
      await runServiceCommand(service("install", { configFile: config, name: "noroot" }), fake.deps, "linux"),
    ).toBe(77);
    expect(fake.err).toStrictEqual(["sense-events: service install needs root: run it with sudo"]);
    expect(existsSync(join(dir.path, "noroot.service"))).toBe(false);
  });

  test("uninstall disables and stops the unit, removes the file and reloads systemd", async () => {
    writeFileSync(join(dir.path, "gone.service"), "[Service]\n");
    const fake = fakeDeps();
    expect(await runServiceCommand(service("uninstall", { name: "gone" }), fake.deps, "linux")).toBe(0);
    expect(fake.ran).toStrictEqual(["systemctl disable --now gone.service", "systemctl daemon-reload"]);
    expect(existsSync(join(dir.path, "gone.service"))).toBe(false);
    expect(await runServiceCommand(service("uninstall", { name: "gone" }), fakeDeps().deps, "linux")).toBe(4);
  });

  test.each([
    ["LoadState=loaded\nActiveState=active\n", 0],
    ["LoadState=loaded\nActiveState=inactive\n", 3],
    ["LoadState=not-found\nActiveState=inactive\n", 4],
  ])("status with systemctl show %j exits %d", async (stdout, exit) => {
    const fake = fakeDeps({ systemctl: { stdout } });
    expect(await runServiceCommand(service("status"), fake.deps, "linux")).toBe(exit);
  });
});
