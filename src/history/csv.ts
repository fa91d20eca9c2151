import type { UserEvent } from "../events/event.ts";

/** The CSV columns of a history export, in order. */
export const CSV_COLUMNS = [
  "receivedAt",
  "host",
  "action",
  "userDirectory",
  "userId",
  "origin",
  "appId",
  "appName",
  "browserName",
  "browserMajorVersion",
  "osName",
  "osVersion",
  "remoteAddress",
  "id",
  "source",
  "context",
  "message",
] as const;

/**
 * One CSV cell (RFC 4180): a value beginning with `= + - @` gets a leading `'` so spreadsheets do
 * not run it as a formula, then quotes when it holds a quote, comma or line break.
 */
export function csvCell(value: string | number | null): string {
  if (value === null) return "";
  let text = String(value);
  if (typeof value === "string" && text.length > 0 && "=+-@".includes(text[0] as string)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

/** The header row, with CRLF. */
export const CSV_HEADER = `${CSV_COLUMNS.join(",")}\r\n`;

/** One event as a CSV row, with CRLF. */
export function csvRow(e: UserEvent): string {
  const ua = e.userAgent;
  return `${[
    e.receivedAt,
    e.host,
    e.action,
    e.userDirectory,
    e.userId,
    e.origin,
    e.appId,
    e.appName,
    ua?.browserName ?? null,
    ua?.browserMajorVersion ?? null,
    ua?.osName ?? null,
    ua?.osVersion ?? null,
    e.remoteAddress,
    e.id,
    e.source,
    e.context,
    e.message,
  ]
    .map(csvCell)
    .join(",")}\r\n`;
}

/** An export format: a header and one line per event. */
export interface ExportFormat {
  contentType: string;
  header: string;
  row(e: UserEvent): string;
}

/** The export formats by name. */
export const EXPORT_FORMATS: Record<"csv" | "ndjson", ExportFormat> = {
  csv: { contentType: "text/csv; charset=utf-8", header: CSV_HEADER, row: csvRow },
  ndjson: { contentType: "application/x-ndjson", header: "", row: (e) => `${JSON.stringify(e)}\n` },
};
