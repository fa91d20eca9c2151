import { isMapping } from "./raw.ts";

/** Keys whose values are secrets (reference §13 `/api/config`), matched case-insensitively anywhere in the key. */
const SECRET_KEY = /password|token|apikey|secret|passphrase/i;

/** Shown in place of a secret. */
const REDACTED = "***";

function redact(value: unknown, path: readonly string[]): unknown {
  if (Array.isArray(value)) {
    // New Relic header values often carry credentials, whatever the header is called.
    const headers = path.join(".") === "Butler-SOS.newRelic.event.header";
    return value.map((item) =>
      headers && isMapping(item) && "value" in item
        ? { ...(redact(item, path) as object), value: REDACTED }
        : redact(item, path),
    );
  }
  if (!isMapping(value)) return value;
  const out: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) {
    const secret = SECRET_KEY.test(key) && item !== undefined && item !== null && item !== "";
    out[key] = secret ? REDACTED : redact(item, [...path, key]);
  }
  return out;
}

/** A deep copy of the config with secrets shown as `"***"`, for `/api/config` (reference §13). */
export function redactConfig(config: unknown): unknown {
  return redact(config, []);
}
