/**
 * Compiles sense-events into standalone executables, one per target in TARGETS, and writes sha256sums.txt.
 *
 *   bun scripts/build.ts [--only linux-x64,windows-x64] [--entry src/main.ts] [--outdir dist]
 *
 * Every target is compiled with an explicit `--compile-executable-path`, so bun never downloads a runtime:
 * the host's own target uses the installed bun binary, the others use the `@oven/bun-<target>` npm package
 * of the same version, fetched once with `npm pack` into `.cache/` and reused afterwards.
 */
import { existsSync, mkdirSync, rmSync, statSync } from "node:fs";
import { basename, join, relative, resolve } from "node:path";

const ROOT = resolve(import.meta.dir, "..");
const CACHE = join(ROOT, ".cache");
// The native binary that `npm install bun` places in node_modules (named .exe on every platform).
const INSTALLED_BUN = join(ROOT, "node_modules/bun/bin/bun.exe");

/** One compile target: the bun `--target`, the output file name and where its runtime comes from. */
export type BuildTarget = {
  name: string;
  bunTarget: string;
  outfile: string;
  runtimePackage: string;
  runtimeBin: string;
  platform: NodeJS.Platform;
  arch: string;
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
  },
  {
    name: "windows-x64",
    bunTarget: "bun-windows-x64",
    outfile: "sense-events-windows-x64.exe",
    runtimePackage: "@oven/bun-windows-x64",
    runtimeBin: "bin/bun.exe",
    platform: "win32",
    arch: "x64",
  },
];

/** Options of one build run. */
export type BuildOptions = { entry: string; outdir: string; only: string[] };

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
    else throw new Error(`[build] unknown option ${flag}`);
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

/** Throws unless the installed ua-parser-js is 1.x (2.x is AGPL, spec §4.3). */
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

/** Returns the path of the bun runtime to embed for a target, fetching the npm package into .cache once. */
async function runtimeFor(target: BuildTarget, version: string): Promise<string> {
  if (target.platform === process.platform && target.arch === process.arch) return INSTALLED_BUN;
  const dir = join(CACHE, `${basename(target.runtimePackage)}-${version}`);
  const binary = join(dir, "package", target.runtimeBin);
  if (isNonEmptyFile(binary)) return binary;
  mkdirSync(CACHE, { recursive: true });
  const tarball = join(CACHE, `${target.runtimePackage.slice(1).replace("/", "-")}-${version}.tgz`);
  if (!isNonEmptyFile(tarball)) {
    console.log(`[build] fetching ${target.runtimePackage}@${version} with npm pack`);
    await run(["npm", "pack", `${target.runtimePackage}@${version}`, "--pack-destination", CACHE]);
  }
  mkdirSync(dir, { recursive: true });
  await run(["tar", "xzf", tarball, "-C", dir, `package/${target.runtimeBin}`]);
  if (!isNonEmptyFile(binary)) throw new Error(`[build] ${tarball} has no package/${target.runtimeBin}`);
  return binary;
}

/**
 * Worker scripts that src/main.ts starts with `new Worker(new URL(…, import.meta.url))`: a compiled
 * binary contains them only when they are extra entry points of the same build.
 */
const MAIN_WORKERS = ["src/ingest/udp-worker.ts", "src/config/load-worker.ts"];

/** Compiles one target and returns the output path; throws if bun fails or the output is missing or empty. */
async function compile(target: BuildTarget, options: BuildOptions, runtime: string): Promise<string> {
  const outfile = resolve(options.outdir, target.outfile);
  // Remove the old binary first, so a silently failed build cannot pass the output check with stale bytes.
  rmSync(outfile, { force: true });
  await run([
    INSTALLED_BUN,
    "build",
    resolve(options.entry),
    ...(options.entry === "src/main.ts" ? MAIN_WORKERS.map((worker) => resolve(worker)) : []),
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
  await checkUaParserLicence();
  const version = await bunVersion();
  mkdirSync(options.outdir, { recursive: true });
  const sums: { file: string; sha256: string }[] = [];
  for (const target of targets) {
    const runtime = await runtimeFor(target, version);
    console.log(`[build] ${target.name}: compiling ${options.entry} with bun ${version}`);
    const outfile = await compile(target, options, runtime);
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
