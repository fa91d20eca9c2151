import { spawnSync } from "node:child_process";
import { createHash, X509Certificate } from "node:crypto";
import { closeSync, existsSync, openSync, unlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Browser, chromium, type LaunchOptions } from "playwright-core";

/** Debian's chromium, driven by playwright-core. */
export const CHROMIUM = "/usr/bin/chromium";

const LOCK = join(tmpdir(), "sense-events-apt-chromium.lock");

/** Flags that keep a headless Chromium quiet: no sandbox (root in CI), no GPU, nothing phoning home. */
export const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

/** Installs Debian's chromium with apt (root only, once across parallel test files); throws when impossible. */
export async function ensureChromium(): Promise<void> {
  if (existsSync(CHROMIUM)) return;
  if (process.getuid?.() !== 0) {
    throw new Error(`[test] ${CHROMIUM} is missing and this is not root: run "apt-get install -y chromium"`);
  }
  // The lock file is created exclusively; whoever loses the race waits for the winner to finish.
  let fd: number | undefined;
  const deadline = Date.now() + 900_000;
  while (fd === undefined) {
    try {
      fd = openSync(LOCK, "wx");
    } catch {
      if (existsSync(CHROMIUM)) return;
      if (Date.now() > deadline) throw new Error(`[test] timed out waiting for ${LOCK}`);
      await Bun.sleep(500);
    }
  }
  try {
    if (existsSync(CHROMIUM)) return;
    const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
    const update = spawnSync("apt-get", ["update"], { stdio: "inherit", env });
    if (update.status !== 0) throw new Error("[test] apt-get update failed");
    const install = spawnSync("apt-get", ["install", "-y", "--no-install-recommends", "chromium"], {
      stdio: "inherit",
      env,
    });
    if (install.status !== 0) throw new Error("[test] apt-get install chromium failed");
    if (!existsSync(CHROMIUM)) throw new Error(`[test] ${CHROMIUM} still missing after apt-get install`);
  } finally {
    closeSync(fd);
    unlinkSync(LOCK);
  }
}

/** A launched browser; `close()` ends it and removes its profile. */
export interface TestBrowser {
  browser: Browser;
  close(): Promise<void>;
}

/**
 * Launches headless Chromium; `extraArgs` e.g. trust a test certificate. playwright gives every launch
 * a fresh temporary `--user-data-dir` of its own (it refuses one passed in `args`) and removes it on close.
 */
export async function launchChromium(
  extraArgs: string[] = [],
  options: LaunchOptions = {},
): Promise<TestBrowser> {
  await ensureChromium();
  const browser = await chromium.launch({
    ...options,
    executablePath: CHROMIUM,
    args: [...CHROMIUM_ARGS, ...extraArgs],
  });
  return { browser, close: () => browser.close() };
}

/**
 * The `--ignore-certificate-errors-spki-list` value that makes Chromium trust exactly the certificate
 * in `certPem` (base64 of the SHA-256 of its public key), so HTTPS is tested without turning checks off.
 */
export function spkiHash(certPem: string): string {
  const der = new X509Certificate(certPem).publicKey.export({ type: "spki", format: "der" });
  return createHash("sha256").update(der).digest("base64");
}

if (import.meta.main) await ensureChromium();
