import { retryAfterMs } from "./backoff.ts";
import type { SendResult } from "./destination.ts";

/** Most characters of an error response body kept in a result or log line (reference §9). */
export const ERROR_BODY_CHARS = 512;

/** Builds the error text of a failed response from its status and (capped, possibly empty) body. */
export type HttpErrorText = (status: number, body: string) => string;

/** Maps an HTTP status to its reference §9 result class. */
function httpResultKind(status: number): Exclude<SendResult["kind"], "partial"> {
  if (status >= 200 && status < 300) return "ok";
  if (status === 401 || status === 403 || status === 404) return "blocked";
  if (status === 413) return "too_large";
  if (status === 408 || status === 429 || status >= 500) return "retry";
  if (status >= 400) return "rejected";
  // 1xx/3xx that fetch did not resolve: nothing was confirmed, so try again later.
  return "retry";
}

/**
 * Classifies a response (reference §9), reading at most {@link ERROR_BODY_CHARS} of an error body and
 * passing a `Retry-After` (capped at 300 s) on with `retry` and `blocked`.
 */
export async function classifyHttp(
  res: Response,
  errorText: HttpErrorText,
  now: number = Date.now(),
): Promise<SendResult> {
  const kind = httpResultKind(res.status);
  if (kind === "ok") {
    await res.body?.cancel();
    return { kind };
  }
  const body = (await res.text().catch(() => "")).slice(0, ERROR_BODY_CHARS);
  const error = errorText(res.status, body);
  if (kind === "retry" || kind === "blocked") {
    const after = retryAfterMs(res.headers.get("retry-after"), now);
    return after === undefined ? { kind, error } : { kind, error, retryAfterMs: after };
  }
  return { kind, error };
}

/** Turns a thrown `fetch` error (refused, reset, timeout) into a `retry` result whose error starts with `prefix`. */
export function networkRetry(error: unknown, prefix: string, timeoutMs: number): SendResult {
  const e = error instanceof Error ? error : new Error(String(error));
  const reason = e.name === "TimeoutError" ? `timeout after ${timeoutMs} ms` : e.message;
  return { kind: "retry", error: `${prefix}${reason}` };
}
