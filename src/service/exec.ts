/** The end of a command run by the service commands. */
export type ExecResult = { code: number; stdout: string; stderr: string };

/** Runs a command to its end; injected so tests can record what would run. */
export type Exec = (cmd: string[]) => Promise<ExecResult>;

/** Decodes a Windows tool's output: UTF-16LE (NSSM writes it when redirected) or UTF-8. */
export function decodeOutput(bytes: Uint8Array): string {
  let zeros = 0;
  for (let i = 1; i < bytes.length; i += 2) if (bytes[i] === 0) zeros++;
  const utf16 = bytes.length >= 2 && zeros * 4 >= bytes.length;
  return new TextDecoder(utf16 ? "utf-16le" : "utf-8").decode(bytes).replace(/^\uFEFF/, "");
}

/** Runs `cmd` with piped output; a command that cannot start gives code 127 and the reason on stderr. */
export const exec: Exec = async (cmd) => {
  let proc: Bun.Subprocess<"ignore", "pipe", "pipe">;
  try {
    proc = Bun.spawn(cmd, { stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  } catch (error) {
    return { code: 127, stdout: "", stderr: `cannot run ${cmd[0]}: ${(error as Error).message}` };
  }
  const [out, err, code] = await Promise.all([
    new Response(proc.stdout).bytes(),
    new Response(proc.stderr).bytes(),
    proc.exited,
  ]);
  return { code, stdout: decodeOutput(out), stderr: decodeOutput(err) };
};

/** The one-line summary of a failed command for an error message. */
export function describeFailure(cmd: string[], result: ExecResult): string {
  const text = `${result.stderr} ${result.stdout}`.replace(/\s+/g, " ").trim();
  return `${cmd.join(" ")} exited with ${result.code}${text ? `: ${text}` : ""}`;
}
