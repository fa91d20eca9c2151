/**
 * Authenticode signing of the Windows executable with Debian's osslsigncode, for
 * `bun scripts/build.ts --sign CERT.pfx` (reference §21). The certificate password comes from the
 * environment, never from the command line, and reaches osslsigncode through a private temp file.
 */
import { existsSync, mkdtempSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** The environment variable holding the .pfx password (may be empty for an unprotected file). */
export const SIGN_PASSWORD_ENV = "SENSE_EVENTS_SIGN_PASSWORD";

/** Where Debian's osslsigncode package installs the tool. */
const OSSLSIGNCODE = "osslsigncode";

/** Options of one signing run. */
export type SignOptions = {
  /** The PKCS#12 (.pfx) file with the code-signing certificate and its key. */
  pfx: string;
  /** Its password. */
  password: string;
  /** An RFC 3161 timestamp server, so the signature outlives the certificate. */
  timestampUrl?: string;
};

/** Signs `file` in place (SHA-256 digest); throws with osslsigncode's message when it fails. */
export async function signWindowsExecutable(file: string, options: SignOptions): Promise<void> {
  if (!existsSync(options.pfx)) throw new Error(`[build] --sign: ${options.pfx} does not exist`);
  const dir = mkdtempSync(join(tmpdir(), "sense-events-sign-"));
  const passFile = join(dir, "pass");
  const signed = `${file}.signed`;
  try {
    writeFileSync(passFile, options.password, { mode: 0o600 });
    const cmd = [
      OSSLSIGNCODE,
      "sign",
      "-pkcs12",
      options.pfx,
      "-readpass",
      passFile,
      "-h",
      "sha256",
      "-n",
      "sense-events",
      ...(options.timestampUrl ? ["-ts", options.timestampUrl] : []),
      "-in",
      file,
      "-out",
      signed,
    ];
    let proc: Bun.Subprocess<"ignore", "pipe", "pipe">;
    try {
      proc = Bun.spawn(cmd, { stdin: "ignore", stdout: "pipe", stderr: "pipe" });
    } catch {
      throw new Error("[build] --sign needs osslsigncode: apt-get install osslsigncode");
    }
    const [stdout, stderr, code] = await Promise.all([
      new Response(proc.stdout).text(),
      new Response(proc.stderr).text(),
      proc.exited,
    ]);
    if (code !== 0) {
      throw new Error(`[build] osslsigncode sign failed (${code}): ${`${stderr} ${stdout}`.trim()}`);
    }
    renameSync(signed, file);
  } finally {
    rmSync(signed, { force: true });
    rmSync(dir, { recursive: true, force: true });
  }
}
