import { join, resolve } from "node:path";

const ROOT = resolve(import.meta.dir, "../..");

/** The fixtures shared with the rest of the project: `../shared/fixtures` beside the repository. */
export const SHARED_FIXTURES = resolve(ROOT, "../shared/fixtures");

/** The repository's own fixtures: `test/fixtures`. */
export const LOCAL_FIXTURES = join(ROOT, "test/fixtures");

/** The path of a shared fixture, e.g. `sharedFixture("product-doc-userevents.yaml")`. */
export function sharedFixture(name: string): string {
  return join(SHARED_FIXTURES, name);
}

/** The path of one of the repository's own fixtures, e.g. `localFixture("butler-sos-full.yaml")`. */
export function localFixture(name: string): string {
  return join(LOCAL_FIXTURES, name);
}
