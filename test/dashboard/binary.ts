import { mkdirSync } from "node:fs";
import { join } from "node:path";
import {
  BUN,
  type Child,
  freeTcpPort,
  freeUdpPort,
  runConfig,
  runToEnd,
  spawnChild,
  stopChild,
  type TempDir,
} from "../support/process.ts";

/** Compiles the linux executable into `dir/out` (as `npm run build` does) and returns its path. */
export async function buildBinary(dir: TempDir): Promise<string> {
  const out = join(dir.path, "out");
  const build = await runToEnd([BUN, "scripts/build.ts", "--only", "linux", "--outdir", out]);
  if (build.code !== 0) throw new Error(`build failed:\n${build.stdout}\n${build.stderr}`);
  return join(out, "sense-events-linux-x64");
}

/** A compiled receiver running on its own ports. */
export interface RunningBinary {
  child: Child;
  /** `http://127.0.0.1:PORT` or `https://localhost:PORT`, from its own log line. */
  url: string;
  udpPort: number;
  stop(): Promise<void>;
}

/** Starts `binary run -c <file>` with a run config on fresh ports; `api` is merged into `sense-events.api`. */
export async function startBinary(
  binary: string,
  dir: TempDir,
  name: string,
  api: Record<string, unknown> = {},
): Promise<RunningBinary> {
  const udpPort = await freeUdpPort();
  const apiPort = await freeTcpPort();
  // Each receiver in its own folder: files relative to the config (history, spool) are not shared.
  mkdirSync(join(dir.path, name));
  const file = dir.write(
    `${name}/config.yaml`,
    runConfig(
      { udp: udpPort, api: apiPort },
      { senseEvents: { api: { host: "127.0.0.1", port: apiPort, ...api } } },
    ),
  );
  const child = spawnChild([binary, "run", "-c", file], { cwd: dir.path });
  const line = await child.waitForLine(/\[api\] listening on /, 20_000).catch(async (error) => {
    await stopChild(child);
    throw error;
  });
  const url = line.slice(line.search(/https?:\/\//)).trim();
  return { child, url, udpPort, stop: () => stopChild(child) };
}
