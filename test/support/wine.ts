import { spawnSync } from "node:child_process";
import {
  closeSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  unlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join, relative, resolve } from "node:path";
import { decodeOutput } from "../../src/service/exec.ts";

/** Wine's 64-bit loader as Debian's wine64 package installs it (not on PATH). */
export const WINE = "/usr/lib/wine/wine64";
const WINESERVER = "/usr/lib/wine/wineserver";
const MINGW_GCC = "/usr/bin/x86_64-w64-mingw32-gcc";
const ROOT = resolve(import.meta.dir, "../..");
const BUN = join(ROOT, "node_modules/.bin/bun");
// The same lock file as test/support/influxdb.ts: only one apt-get runs at a time.
const APT_LOCK = join(tmpdir(), "sense-events-apt.lock");

/** A binary the tests need and the Debian package that provides it. */
export type DebianTool = { path: string; pkg: string };

/** The tools of the Windows tests: Wine and the mingw compiler for the test-only DLL stub. */
export const WINE_TOOLS: DebianTool[] = [
  { path: WINE, pkg: "wine64" },
  { path: MINGW_GCC, pkg: "gcc-mingw-w64-x86-64-win32" },
];

function sleep(ms: number): Promise<void> {
  return new Promise((done) => setTimeout(done, ms));
}

/** Installs the missing tools with apt-get (root only, one apt at a time across test files); throws when impossible. */
export async function ensureDebianPackages(tools: DebianTool[]): Promise<void> {
  const missing = () => tools.filter((t) => !existsSync(t.path)).map((t) => t.pkg);
  if (missing().length === 0) return;
  if (process.getuid?.() !== 0) {
    throw new Error(`[test] missing ${missing().join(" ")} and this is not root: apt-get install them`);
  }
  let fd: number | undefined;
  const deadline = Date.now() + 900_000;
  while (fd === undefined) {
    try {
      fd = openSync(APT_LOCK, "wx");
    } catch {
      if (missing().length === 0) return;
      if (Date.now() > deadline) throw new Error(`[test] timed out waiting for ${APT_LOCK}`);
      await sleep(500);
    }
  }
  try {
    const packages = missing();
    if (packages.length === 0) return;
    const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
    // A fresh machine has no package lists; `apt-get update` once before installing.
    if (spawnSync("apt-get", ["update"], { stdio: "inherit", env }).status !== 0) {
      throw new Error("[test] apt-get update failed");
    }
    const install = ["install", "-y", "--no-install-recommends", ...packages];
    if (spawnSync("apt-get", install, { stdio: "inherit", env }).status !== 0) {
      throw new Error(`[test] apt-get install ${packages.join(" ")} failed`);
    }
    if (missing().length > 0) throw new Error(`[test] ${missing().join(" ")} still missing after apt-get`);
  } finally {
    closeSync(fd);
    unlinkSync(APT_LOCK);
  }
}

/** A hash of everything that goes into the Windows executable, so a build is reused until a source changes. */
function sourceHash(): string {
  const hasher = new Bun.CryptoHasher("sha256");
  const files = [...new Bun.Glob("src/**/*").scanSync({ cwd: ROOT })].sort();
  for (const file of [...files, "scripts/build.ts", "package.json", "package-lock.json"]) {
    hasher.update(file);
    hasher.update(readFileSync(join(ROOT, file)));
  }
  return hasher.digest("hex").slice(0, 16);
}

/**
 * Builds dist-like `sense-events-windows-x64.exe` from the current sources with scripts/build.ts into a
 * temp directory named by the source hash, once across test files; returns its path.
 */
export async function windowsExecutable(): Promise<string> {
  const dir = join(tmpdir(), `sense-events-windows-build-${sourceHash()}`);
  const exe = join(dir, "sense-events-windows-x64.exe");
  if (existsSync(exe)) return exe;
  return withLock(`${dir}.lock`, 300_000, async () => {
    if (existsSync(exe)) return exe;
    // Older builds are 120 MB each: keep only the one being made.
    for (const name of readdirSync(tmpdir())) {
      if (/^sense-events-windows-build-[0-9a-f]{16}$/.test(name)) {
        rmSync(join(tmpdir(), name), { recursive: true, force: true });
      }
    }
    const staging = `${dir}.staging`;
    rmSync(staging, { recursive: true, force: true });
    const proc = Bun.spawn([BUN, "scripts/build.ts", "--only", "windows", "--outdir", staging], {
      cwd: ROOT,
      stdout: "pipe",
      stderr: "pipe",
    });
    const [stdout, stderr, code] = await Promise.all([
      new Response(proc.stdout).text(),
      new Response(proc.stderr).text(),
      proc.exited,
    ]);
    if (code !== 0) throw new Error(`[test] Windows build failed (${code}):\n${stdout}\n${stderr}`);
    renameSync(staging, dir);
    return exe;
  });
}

/** The result of a Wine command run to its end. */
export type WineResult = { code: number; stdout: string; stderr: string };

/** A long-running Windows process under Wine, its output collected in a file. */
export interface WineProcess {
  readonly exited: Promise<number>;
  /** Everything written to stdout and stderr so far. */
  output(): string;
  /** Resolves with the first output line matching `pattern`; rejects on exit or after `timeoutMs`. */
  waitForLine(pattern: RegExp, timeoutMs?: number): Promise<string>;
  /** Sends a Unix signal to the Wine process (SIGINT arrives in Windows code as Ctrl-C). */
  kill(signal: NodeJS.Signals): void;
}

/** A throwaway WINEPREFIX with the ProcessPrng stub installed. */
export interface WinePrefix {
  /** The WINEPREFIX directory. */
  readonly dir: string;
  /** Unix path of `C:\<parts>` in this prefix. */
  driveC(...parts: string[]): string;
  /** Runs a Windows command to its end, killed after `timeoutMs` (output in files, never pipes). */
  run(args: string[], timeoutMs?: number): Promise<WineResult>;
  /** Starts a long-running Windows command. */
  spawn(args: string[]): WineProcess;
  /** Kills every process of the prefix (`wineserver -k`) and removes it. */
  close(): Promise<void>;
}

const WINE_ENV = {
  WINEDEBUG: "-all",
  // No Mono/Gecko install dialogs at the first start.
  WINEDLLOVERRIDES: "mscoree,mshtml=",
};

/** Takes an exclusive lock file (waiting for another holder, breaking one older than `staleMs`) and runs `body`. */
async function withLock<T>(lock: string, staleMs: number, body: () => Promise<T>): Promise<T> {
  let fd: number | undefined;
  const deadline = Date.now() + 2 * staleMs;
  while (fd === undefined) {
    try {
      fd = openSync(lock, "wx");
    } catch {
      // A lock left by a killed test run is older than any real holder.
      const age = Date.now() - (statSync(lock, { throwIfNoEntry: false })?.mtimeMs ?? Date.now());
      if (age > staleMs) rmSync(lock, { force: true });
      if (Date.now() > deadline) throw new Error(`[test] timed out waiting for ${lock}`);
      await sleep(200);
    }
  }
  try {
    return await body();
  } finally {
    closeSync(fd);
    rmSync(lock, { force: true });
  }
}

/**
 * A booted prefix with the test-only bcryptprimitives.dll installed, made once per Wine version and
 * stub (booting takes 10-20 s; copying it well under that). Bun's Windows runtime imports ProcessPrng,
 * which Wine 8 lacks.
 */
async function templatePrefix(): Promise<string> {
  const source = join(import.meta.dir, "../windows/bcryptprimitives.c");
  const version = spawnSync(WINE, ["--version"], { encoding: "utf8" }).stdout.trim();
  const key = new Bun.CryptoHasher("sha256").update(version).update(readFileSync(source)).digest("hex");
  const template = join(tmpdir(), `sense-events-wine-template-${key.slice(0, 16)}`);
  const ready = join(template, ".ready");
  if (existsSync(ready)) return template;
  return withLock(`${template}.lock`, 180_000, async () => {
    if (existsSync(ready)) return template;
    rmSync(template, { recursive: true, force: true });
    mkdirSync(template);
    const env = { ...process.env, ...WINE_ENV, WINEPREFIX: template };
    const dll = join(tmpdir(), `sense-events-bcryptprimitives-${key.slice(0, 16)}.dll`);
    const gcc = spawnSync(MINGW_GCC, ["-shared", "-O2", "-s", "-o", dll, source, "-ladvapi32"], {
      encoding: "utf8",
      timeout: 60_000,
    });
    if (gcc.status !== 0) throw new Error(`[wine] mingw could not build the stub: ${gcc.stderr}`);
    // Output to a file: services started by the boot inherit it and would hold a pipe open.
    const logFile = join(tmpdir(), `sense-events-wineboot-${key.slice(0, 16)}.log`);
    const log = openSync(logFile, "w");
    const boot = Bun.spawn([WINE, "wineboot", "--init"], { env, stdin: "ignore", stdout: log, stderr: log });
    closeSync(log);
    const timer = setTimeout(() => boot.kill("SIGKILL"), 150_000);
    const code = await boot.exited;
    clearTimeout(timer);
    spawnSync(WINESERVER, ["-k"], { env, stdio: "ignore", timeout: 20_000 });
    if (code !== 0)
      throw new Error(`[wine] wineboot --init failed (${code}): ${readFileSync(logFile, "utf8")}`);
    rmSync(logFile, { force: true });
    copyFileSync(dll, join(template, "drive_c/windows/system32/bcryptprimitives.dll"));
    rmSync(dll, { force: true });
    writeFileSync(ready, version);
    return template;
  });
}

/**
 * Creates a throwaway WINEPREFIX from the booted template: files are hard links except the registry,
 * which Wine rewrites, and what tests add is new files. Every Wine process writes to files: a service
 * started by Wine inherits the stdout of whichever Wine process started the prefix, and a pipe held
 * open by it would never end.
 */
export async function startWinePrefix(): Promise<WinePrefix> {
  await ensureDebianPackages(WINE_TOOLS);
  const template = await templatePrefix();
  const dir = mkdtempSync(join(tmpdir(), "sense-events-wine-"));
  rmSync(dir, { recursive: true });
  const copy = spawnSync("cp", ["-al", template, dir], { encoding: "utf8" });
  if (copy.status !== 0) throw new Error(`[wine] cannot copy the prefix template: ${copy.stderr}`);
  for (const name of readdirSync(dir)) {
    if (!name.endsWith(".reg")) continue;
    rmSync(join(dir, name));
    copyFileSync(join(template, name), join(dir, name));
  }
  const logs = join(dir, "test-output");
  mkdirSync(logs);
  const env = { ...process.env, ...WINE_ENV, WINEPREFIX: dir };
  const children = new Set<Bun.Subprocess>();
  let n = 0;
  const killServer = () => spawnSync(WINESERVER, ["-k"], { env, stdio: "ignore", timeout: 20_000 });
  // A crashed test run must not leave Wine (and an auto-start service) running.
  process.once("exit", killServer);

  const outputFile = () => join(logs, `${++n}.txt`);
  const run = async (args: string[], timeoutMs = 60_000): Promise<WineResult> => {
    const out = outputFile();
    const err = outputFile();
    const proc = Bun.spawn([WINE, ...args], {
      env,
      cwd: dir,
      stdin: "ignore",
      stdout: Bun.file(out),
      stderr: Bun.file(err),
    });
    children.add(proc);
    const timer = setTimeout(() => proc.kill("SIGKILL"), timeoutMs);
    const code = await proc.exited;
    clearTimeout(timer);
    children.delete(proc);
    const stdout = existsSync(out) ? decodeOutput(readFileSync(out)) : "";
    const stderr = existsSync(err) ? decodeOutput(readFileSync(err)) : "";
    if (proc.signalCode === "SIGKILL") {
      throw new Error(`[wine] ${args.join(" ")} killed after ${timeoutMs} ms:\n${stdout}\n${stderr}`);
    }
    return { code, stdout, stderr };
  };

  const spawn = (args: string[]): WineProcess => {
    const file = outputFile();
    const fd = openSync(file, "w");
    const proc = Bun.spawn([WINE, ...args], { env, cwd: dir, stdin: "ignore", stdout: fd, stderr: fd });
    closeSync(fd);
    children.add(proc);
    const exited = proc.exited.then((code) => {
      children.delete(proc);
      return code;
    });
    let ended = false;
    void exited.then(() => {
      ended = true;
    });
    const output = () => (existsSync(file) ? decodeOutput(readFileSync(file)) : "");
    return {
      exited,
      output,
      kill: (signal) => proc.kill(signal),
      async waitForLine(pattern, timeoutMs = 30_000) {
        const deadline = Date.now() + timeoutMs;
        for (;;) {
          const wasEnded = ended;
          const line = output()
            .split(/\r?\n/)
            .find((l) => pattern.test(l));
          if (line !== undefined) return line;
          if (wasEnded) throw new Error(`[wine] exited without a line matching ${pattern}:\n${output()}`);
          if (Date.now() > deadline) {
            throw new Error(`[wine] no line matching ${pattern} in ${timeoutMs} ms:\n${output()}`);
          }
          await sleep(50);
        }
      },
    };
  };

  const close = async () => {
    for (const proc of children) proc.kill("SIGKILL");
    killServer();
    await Promise.all([...children].map((proc) => proc.exited));
    process.removeListener("exit", killServer);
    rmSync(dir, { recursive: true, force: true });
  };

  return {
    dir,
    driveC: (...parts) => join(dir, "drive_c", ...parts),
    run,
    spawn,
    close,
  };
}

/** The Windows path (`C:\...`) of a Unix path inside the prefix's drive_c. */
export function windowsPath(prefix: WinePrefix, unixPath: string): string {
  return `C:\\${relative(prefix.driveC(), unixPath).replaceAll("/", "\\")}`;
}
