import { createHash, timingSafeEqual } from "node:crypto";
import type { MiddlewareHandler } from "hono";

const sha256 = (value: string): Buffer => createHash("sha256").update(value).digest();

/** Returns whether `given` equals `expected`, in time independent of where they differ (reference §13). */
function tokenMatches(given: string, expected: string): boolean {
  // Hashing first gives equal-length inputs, so the comparison leaks neither content nor length.
  return timingSafeEqual(sha256(given), sha256(expected));
}

/**
 * Bearer-token middleware; `token()` is read on every request so a reload applies to the next one.
 * Without a token every request passes.
 */
export function bearerAuth(token: () => string | undefined): MiddlewareHandler {
  return async (c, next) => {
    const expected = token();
    if (expected === undefined || expected === "") return next();
    const header = c.req.header("authorization") ?? "";
    const match = /^Bearer +(.+)$/i.exec(header);
    if (match?.[1] !== undefined && tokenMatches(match[1].trim(), expected)) return next();
    return c.json({ error: "unauthorized: a valid Bearer token is required" }, 401, {
      "WWW-Authenticate": "Bearer",
    });
  };
}
