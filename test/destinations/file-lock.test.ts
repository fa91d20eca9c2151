import { afterEach, beforeEach, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FileLockedError, lockFile } from "../../src/destinations/file-lock.ts";

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "file-lock-test-"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

test("a held lock refuses a second holder with a message naming the file, until it is released", () => {
  const file = join(dir, "history.sqlite");
  const lock = lockFile(file);
  expect(() => lockFile(file)).toThrow(FileLockedError);
  expect(() => lockFile(file)).toThrow(`${file} is in use by another sense-events process`);
  lock.release();
  lockFile(file).release();
});

test("another process cannot take it, and gets it once the holder is killed", async () => {
  const file = join(dir, "outbox.sqlite");
  const script = `import { lockFile } from ${JSON.stringify(join(import.meta.dir, "../../src/destinations/file-lock.ts"))};
try { lockFile(${JSON.stringify(file)}); console.log("locked"); } catch (e) { console.log("refused"); }
await Bun.sleep(Number(process.argv[2] ?? 0));`;
  const path = join(dir, "lock.ts");
  await Bun.write(path, script);
  const holder = Bun.spawn([process.execPath, path, "60000"], { stdout: "pipe" });
  const reader = holder.stdout.getReader();
  expect(new TextDecoder().decode((await reader.read()).value).trim()).toBe("locked");
  const refused = Bun.spawnSync([process.execPath, path, "0"]);
  expect(refused.stdout.toString().trim()).toBe("refused");
  holder.kill("SIGKILL");
  await holder.exited;
  const after = Bun.spawnSync([process.execPath, path, "0"]);
  expect(after.stdout.toString().trim()).toBe("locked");
});
