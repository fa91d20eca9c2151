import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "../../src/cli/args.ts";
import type { HistoryPart } from "../../src/history/part.ts";
import { events, KNOWN, openPart, store, T0 } from "../history/support.ts";
import { BUN, ROOT, type TempDir } from "../support/process.ts";

let part: HistoryPart;
let dir: TempDir;
let configFile: string;

// The part stays open (as a running service would) while the CLI reads the same file.
beforeAll(async () => {
  const o = await openPart();
  part = o.part;
  dir = o.dir;
  await store(part, events(KNOWN));
  configFile = dir.write("config.yaml", {
    "sense-events": { history: { path: "h.sqlite" }, outbox: { path: "" } },
  });
});
afterAll(async () => {
  await part.close();
  dir.cleanup();
});

/** Runs `sense-events history …` as a real process. */
async function cli(...args: string[]) {
  const child = Bun.spawn([BUN, join(ROOT, "src/main.ts"), "history", ...args], {
    stdout: "pipe",
    stderr: "pipe",
  });
  const [stdout, stderr, code] = await Promise.all([
    new Response(child.stdout).text(),
    new Response(child.stderr).text(),
    child.exited,
  ]);
  return { stdout, stderr, code };
}

describe("sense-events history (reference §19)", () => {
  test("stats prints events, days, bytes, oldest and newest while the service holds the file", async () => {
    const { stdout, code } = await cli("stats", "-c", configFile);
    expect(code).toBe(0);
    const lines = stdout.trimEnd().split("\n");
    expect(lines[1]).toBe("events: 8");
    expect(lines[2]).toBe("days:   0.0");
    expect(lines[3]).toMatch(/^bytes: {2}\d+$/);
    expect(lines.slice(4)).toStrictEqual([
      `oldest: ${new Date(T0).toISOString()}`,
      `newest: ${new Date(T0 + 40 * 60_000).toISOString()}`,
    ]);
  });

  test("export --format csv --out writes the range oldest first and reports the count on stderr", async () => {
    const out = join(dir.path, "out.csv");
    const { stderr, code } = await cli(
      "export",
      "-c",
      configFile,
      "--from",
      new Date(T0 + 60_000).toISOString(),
      "--to",
      String(T0 + 25 * 60_000),
      "--out",
      out,
    );
    expect(code).toBe(0);
    expect(stderr).toBe("exported 5 events\n");
    const rows = readFileSync(out, "utf8").split("\r\n");
    expect(rows[0]).toStartWith("receivedAt,host,action,userDirectory,userId,");
    expect(rows.slice(1, -1).map((r) => r.split(",")[13])).toStrictEqual(["2", "3", "4", "5", "6"]);
  });

  test("export --format ndjson writes to stdout", async () => {
    const { stdout, code } = await cli(
      "export",
      "-c",
      configFile,
      "--from",
      "2025-01-01",
      "--to",
      "2025-01-02",
      "--format",
      "ndjson",
    );
    expect(code).toBe(0);
    expect(
      stdout
        .trimEnd()
        .split("\n")
        .map((l) => JSON.parse(l).id),
    ).toStrictEqual([1, 2, 3, 4, 5, 6, 7, 8]);
  });

  test("an impossible --from is a usage error", async () => {
    const { stderr, code } = await cli("export", "-c", configFile, "--from", "2025-02-30");
    expect(code).toBe(2);
    expect(stderr).toContain("--from and --to");
  });

  test.each([
    [["history"], 'history needs "export" or "stats"'],
    [["history", "stats"], 'history stats needs "-c FILE"'],
    [["history", "export", "-c", "x", "--format", "xml"], '--format must be csv or ndjson, got "xml"'],
  ])("%p is refused: %s", (argv, message) => {
    expect(parseArgs(argv)).toStrictEqual({ command: "usage-error", message });
  });
});
