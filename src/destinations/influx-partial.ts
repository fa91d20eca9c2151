import type { SendResult } from "./destination.ts";

/**
 * InfluxDB answers a write where only some points failed with "partial write: ... dropped=N": the rest
 * is stored, so only N items count as dropped; `max-values-per-tag` refusals count as `cardinality`.
 */
export function partialWrite(result: SendResult, items: number): SendResult {
  if (result.kind !== "rejected" && result.kind !== "too_large") return result;
  const reason = result.error.includes("max-values-per-tag") ? "cardinality" : "rejected";
  const match = /partial write:.*dropped=(\d+)/s.exec(result.error);
  if (!match) return reason === "cardinality" ? { ...result, kind: "rejected", reason } : result;
  return { kind: "partial", error: result.error, dropped: Math.min(items, Number(match[1])), reason };
}
