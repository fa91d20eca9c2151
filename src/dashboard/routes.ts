import { hostname } from "node:os";
import type { Hono } from "hono";
import { ASSETS } from "./assets.ts";
import { PAGE_HTML } from "./page-html.ts";

/**
 * The page's Content-Security-Policy: only this server's own scripts, styles and API; no inline script
 * or style attribute, no frames, and forms that never submit (the token form is handled by script).
 */
export const DASHBOARD_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join("; ");

const SECURITY_HEADERS = {
  "content-security-policy": DASHBOARD_CSP,
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "cache-control": "no-cache",
};

/** What the dashboard needs to know about the receiver beyond the existing API. */
export interface DashboardInfo {
  /** This machine's host name, for the appender command of the empty state. */
  hostname: string;
  /** Whether the history API is served (the page then shows its History section). */
  history: boolean;
  /** Whether `/api/hosts` answers (proxy nodes with a silent mark; part of the history). */
  hosts: boolean;
}

/** A tiny icon, so the browser's automatic favicon request does not end in a 404. */
const ICON = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16"><rect width="16" height="16" rx="3" fill="#0b63c5"/><path d="M3 11l3-4 3 2 4-5" stroke="#fff" stroke-width="1.6" fill="none"/></svg>`;

/**
 * Adds the dashboard (reference §20) to the API app: `GET /` (the page), `GET /assets/:file` (its
 * embedded script and styles, open like the page: they hold no data), `GET /dashboard/auth` (open:
 * whether the page must ask for the token, so it never probes the API into a 401) and
 * `GET /api/dashboard` (behind the API's auth like every `/api/*` route).
 */
export function mountDashboard(
  app: Hono,
  options: { token: () => string | undefined; history: () => boolean },
): void {
  app.get("/", (c) => c.html(PAGE_HTML, 200, SECURITY_HEADERS));
  app.get("/assets/:file", (c) => {
    const asset = ASSETS.get(c.req.param("file"));
    if (asset === undefined) return c.json({ error: `not found: GET ${c.req.path}` }, 404);
    return c.body(asset.body, 200, { ...SECURITY_HEADERS, "content-type": asset.contentType });
  });
  app.get("/dashboard/auth", (c) =>
    c.json({ tokenRequired: Boolean(options.token()) }, 200, { "cache-control": "no-store" }),
  );
  app.get("/favicon.ico", (c) =>
    c.body(ICON, 200, { "content-type": "image/svg+xml", "cache-control": "max-age=86400" }),
  );
  // Asked per request (a reload may switch the history on or off): the page leaves out what is off
  // instead of probing it into 404s.
  app.get("/api/dashboard", (c) => {
    const history = options.history();
    return c.json({ hostname: hostname(), history, hosts: history } satisfies DashboardInfo);
  });
}
