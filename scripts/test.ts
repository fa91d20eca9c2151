/**
 * `npm test`: installs the real test services when missing, then runs lint, typecheck and the
 * whole `bun test` suite, and ends with one `N passed, N failed` line.
 */
import { ensureInstalled } from "../test/support/influxdb.ts";
import { ensureDebianPackages, WINE_TOOLS } from "../test/support/wine.ts";

const bun = process.execPath;

/** Runs one step, streaming its output; returns the exit code and the captured text. */
async function step(name: string, cmd: string[]): Promise<{ code: number; text: string }> {
  console.log(`\n== ${name}: ${cmd.join(" ")}`);
  const proc = Bun.spawn(cmd, { stdout: "pipe", stderr: "pipe", env: process.env });
  let text = "";
  const pump = async (stream: ReadableStream<Uint8Array>, sink: NodeJS.WriteStream) => {
    const decoder = new TextDecoder();
    for await (const chunk of stream) {
      const s = decoder.decode(chunk, { stream: true });
      text += s;
      sink.write(s);
    }
  };
  await Promise.all([pump(proc.stdout, process.stdout), pump(proc.stderr, process.stderr)]);
  return { code: await proc.exited, text };
}

// Installs both Debian packages (influxdb, mosquitto) with apt when missing and running as root.
await ensureInstalled("influxd");
await ensureInstalled("mosquitto");
// The Windows executable runs under Wine; signing and the systemd unit are checked with Debian tools.
await ensureDebianPackages([
  ...WINE_TOOLS,
  { path: "/usr/bin/osslsigncode", pkg: "osslsigncode" },
  { path: "/usr/bin/systemd-analyze", pkg: "systemd" },
]);

const failures: string[] = [];
const lint = await step("lint", ["node_modules/.bin/biome", "check", "src", "test", "scripts"]);
if (lint.code !== 0) failures.push("lint");
const typecheck = await step("typecheck", ["node_modules/.bin/tsc", "--noEmit"]);
if (typecheck.code !== 0) failures.push("typecheck");
// bunfig's [test] timeout is ignored and the preload's default does not always reach every file.
const tests = await step("tests", [bun, "test", "--timeout", "60000", ...process.argv.slice(2)]);
if (tests.code !== 0) failures.push("tests");

const passed = Number(/^\s*(\d+) pass$/m.exec(tests.text)?.[1] ?? 0);
const failed = Number(/^\s*(\d+) fail$/m.exec(tests.text)?.[1] ?? 0);
console.log(
  `\n${failures.length ? `failed steps: ${failures.join(", ")}` : "lint, typecheck and tests clean"}`,
);
console.log(`${passed} passed, ${failed} failed`);
process.exit(failures.length ? 1 : 0);
