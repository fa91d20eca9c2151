// The dashboard in headless Chromium against the compiled executable (reference §20): one browser for
// the whole file, one receiver without a token, one with a token.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import type { BrowserContext, Page } from "playwright-core";
import { launchChromium, spkiHash, type TestBrowser } from "../support/chromium.ts";
import { ROOT, runToEnd, sendUdp, tempDir } from "../support/process.ts";
import { createTestPki, type TestPki } from "../support/tls.ts";
import { buildBinary, type RunningBinary, startBinary } from "./binary.ts";

// The page's globals as seen by page.evaluate callbacks (the DOM lib is not in this project's types).
interface PageNode {
  textContent: string | null;
  childElementCount: number;
  id: string;
}
declare const document: {
  addEventListener(type: "focusin", listener: (event: { target: PageNode | null }) => void): void;
  querySelector(selector: string): PageNode | null;
  activeElement: PageNode | null;
  body: PageNode;
  documentElement: { scrollWidth: number };
};
declare const window: Record<string, unknown> & { scrollTo(x: number, y: number): void };

const dir = tempDir("sense-events-dashboard-");
const XSS_USER = "<img src=x onerror=window.__xss=1>";
const APP = "0a1b2c3d-1111-2222-3333-444455556666";
let binary: string;
let pki: TestPki;
let browser: TestBrowser;
let open: RunningBinary;
let context: BrowserContext;
let page: Page;
/** Every request any page of the file made, and every console error or page error. */
const requests: string[] = [];
const consoleErrors: string[] = [];

/** A format (a) datagram from `host` for `DIR\id`. */
function datagram(
  action: string,
  id: string,
  host = "sense-node1",
  app = "",
  agent = "Mozilla/5.0 Chrome/120.0.0.0",
): string {
  const type = action.endsWith("session") ? "qseow-proxy-session" : "qseow-proxy-connection";
  const context = app ? `/app/${app}` : "/";
  const message = app ? `App connection for session 'x1' UserAgent: '${agent}'` : `${action} for user`;
  return `/${type}/;${host};${action};CORP;${id};AppAccess;${context};${message}`;
}

/** The history's events of `CORP\\id`, oldest first, once at least `count` are stored. */
async function historyEvents(id: string, count: number): Promise<{ receivedAt: string }[]> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const res = await fetch(`${open.url}/api/history/events?user=${encodeURIComponent(`CORP\\${id}`)}`);
    const { events } = (await res.json()) as { events: { receivedAt: string }[] };
    if (events.length >= count) return events.reverse();
    if (Date.now() > deadline) throw new Error(`history has ${events.length} events of ${id}`);
    await Bun.sleep(50);
  }
}

/** `HH:MM:SS` of an ISO time (the page shows today's times without the date; the context is in UTC). */
function time(iso: string): string {
  return iso.slice(11, 19);
}

function watch(p: Page, errors = consoleErrors): void {
  p.on("request", (r) => requests.push(r.url()));
  p.on("console", (m) => {
    if (m.type() === "error") errors.push(m.text());
  });
  p.on("pageerror", (e) => errors.push(`pageerror: ${e.message}`));
}

/** Holds the page's requests matching `url` until the returned function is called. */
async function holdRequests(p: Page, url: string): Promise<() => void> {
  let release = () => {};
  const held = new Promise<void>((resolve) => {
    release = resolve;
  });
  await p.route(url, async (route) => {
    await held;
    await route.continue();
  });
  return release;
}

/** Text of the visible rows of the live feed. */
function feedRows(p: Page): Promise<string[]> {
  return p.$$eval("#feed tr:not([hidden])", (rows) => rows.map((r) => r.textContent ?? ""));
}

beforeAll(async () => {
  pki = await createTestPki();
  // Chromium trusts exactly the test server certificate (by its public key), nothing else.
  const trust = `--ignore-certificate-errors-spki-list=${spkiHash(pki.pem.serverCert)}`;
  [binary, browser] = await Promise.all([buildBinary(dir), launchChromium([trust])]);
  open = await startBinary(binary, dir, "open");
  context = await browser.browser.newContext({ viewport: { width: 1280, height: 800 }, timezoneId: "UTC" });
  page = await context.newPage();
  watch(page);
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await open?.stop();
  await pki?.remove();
  dir.cleanup();
});

describe("without a token, on loopback", () => {
  test("before any event: the empty state shows the appender command with this server's UDP port", async () => {
    await page.goto(open.url);
    await page.locator("#empty").waitFor({ state: "visible" });
    const command = await page.textContent("#empty-cmd");
    expect(command).toMatch(new RegExp(`^sense-events appender-xml --address \\S+ --port ${open.udpPort} `));
    expect(await page.textContent("#empty-udp")).toBe(`127.0.0.1:${open.udpPort}`);
  });

  test("sessions and users from send-test-events appear, and the empty state goes away", async () => {
    const sent = await runToEnd([
      binary,
      "send-test-events",
      "--to",
      `127.0.0.1:${open.udpPort}`,
      "--count",
      "42",
      "--rate",
      "0",
    ]);
    expect(sent.code).toBe(0);
    await sendUdp(open.udpPort, [
      datagram("Start session", "anna"),
      datagram("Open connection", "anna", "sense-node1", APP),
    ]);
    // 42 datagrams: ten complete sessions, then testuser1 starts again and opens an app.
    await page.waitForFunction(() => document.querySelector("#now-sessions")?.textContent === "2", null, {
      timeout: 10_000,
    });
    const sessions = await page.$$eval("#sessions-table tbody tr", (rows) =>
      rows.map((r) => r.textContent ?? ""),
    );
    expect(sessions.some((s) => s.includes("TEST\\testuser1") && s.includes("sense-events-test"))).toBe(true);
    expect(sessions.some((s) => s.includes("CORP\\anna") && s.includes(APP))).toBe(true);
    expect(await page.textContent("#now-users")).toBe("2");
    // The empty state goes at the next poll of /api/stats (every 5 s) at the latest.
    await page.locator("#empty").waitFor({ state: "hidden", timeout: 10_000 });
  });

  test("the browser and OS tables count users by major version (reference §20)", async () => {
    const firefox = "Mozilla/5.0 (Windows NT 6.1; Win64; x64; rv:115.0) Gecko/20100101 Firefox/115.0";
    await sendUdp(open.udpPort, [
      datagram("Open connection", "fx-user-1", "sense-node3", APP, firefox),
      datagram("Open connection", "fx-user-2", "sense-node3", APP, firefox),
    ]);
    await historyEvents("fx-user-2", 1);
    // A click on the current range reloads the history tables.
    await page.click("[data-range='24h']");
    const rows = async (table: string) => {
      await page.waitForFunction(
        (t) =>
          [...(document.querySelector(`${t} tbody`) as unknown as { children: PageNode[] }).children].some(
            (r) => r.textContent?.startsWith("Firefox 115") || r.textContent?.startsWith("Windows 7"),
          ),
        table,
        { timeout: 10_000 },
      );
      return page.$$eval(`${table} tbody tr`, (trs) =>
        trs.map((tr) => [...tr.querySelectorAll("td")].map((td) => td.textContent ?? "")),
      );
    };
    const browsers = await rows("#browser-table");
    // Two users, each with one session (user and node) and one connection, on Firefox 115.
    expect(browsers).toContainEqual(["Firefox 115", "2", "2"]);
    // send-test-events' agents, by version: Edge 119 (Windows 10) and Safari 17 (macOS 10.15.7).
    expect(browsers.map((r) => r[0])).toEqual(
      expect.arrayContaining(["Chrome 119", "Edge 119", "Safari 17"]),
    );
    const systems = await rows("#os-table");
    expect(systems).toContainEqual(["Windows 7", "2", "2"]);
    expect(systems.map((r) => r[0])).toEqual(expect.arrayContaining(["Windows 10", "Mac OS 10", "iOS 17"]));
  });

  test("a new event appears live, without a reload", async () => {
    await page.evaluate(() => {
      window.marker = "same page";
    });
    await sendUdp(open.udpPort, [datagram("Start session", "live-user-1")]);
    await page.waitForFunction(
      () => document.querySelector("#feed tr")?.textContent?.includes("CORP\\live-user-1"),
      null,
      {
        timeout: 10_000,
      },
    );
    expect(await page.evaluate(() => window.marker)).toBe("same page");
  });

  test("a user id with markup is shown as literal text and nothing runs", async () => {
    await sendUdp(open.udpPort, [datagram("Start session", XSS_USER)]);
    await page.waitForFunction(
      (user) => document.querySelector("#feed")?.textContent?.includes(user),
      `CORP\\${XSS_USER}`,
      {
        timeout: 10_000,
      },
    );
    await page.waitForFunction(
      (user) => document.querySelector("#sessions-table")?.textContent?.includes(user),
      XSS_USER,
    );
    expect(await page.evaluate(() => window.__xss)).toBeUndefined();
    expect(await page.locator("main img").count()).toBe(0);
    expect(requests.some((url) => new URL(url).pathname === "/x")).toBe(false);
  });

  test("the filter keeps only matching events, and clearing it shows all again", async () => {
    const all = (await feedRows(page)).length;
    await page.fill("#feed-filter", "testuser3");
    const shown = await feedRows(page);
    expect(shown.length).toBe(4);
    for (const text of shown) expect(text).toContain("TEST\\testuser3");
    await page.fill("#feed-filter", "open connection");
    for (const text of await feedRows(page)) expect(text).toContain("Open connection");
    await page.fill("#feed-filter", "");
    expect((await feedRows(page)).length).toBe(all);
  });

  test("pause holds new events until resumed", async () => {
    await page.click("#feed-pause");
    await sendUdp(open.udpPort, [datagram("Start session", "paused-user")]);
    await page.waitForFunction(
      () => document.querySelector("#feed-state")?.textContent?.includes("1 new event"),
      null,
      {
        timeout: 10_000,
      },
    );
    expect((await feedRows(page)).some((t) => t.includes("paused-user"))).toBe(false);
    await page.click("#feed-pause");
    expect((await feedRows(page))[0]).toContain("CORP\\paused-user");
  });

  test("every section and control is reachable with the keyboard", async () => {
    await page.focus("a.skip");
    const reached = new Set<string>();
    for (let i = 0; i < 90; i++) {
      reached.add(
        await page.evaluate(() => document.activeElement?.id || document.activeElement?.textContent || ""),
      );
      await page.keyboard.press("Tab");
    }
    for (const id of ["Now", "History", "Health", "feed-filter", "feed-pause", "at-input", "search-csv"]) {
      expect(reached).toContain(id);
    }
  });

  test("at a 390 px phone width nothing scrolls sideways", async () => {
    const phone = await browser.browser.newPage({ viewport: { width: 390, height: 844 }, timezoneId: "UTC" });
    watch(phone);
    await phone.goto(open.url);
    await phone.waitForFunction(() => (document.querySelector("#feed")?.childElementCount ?? 0) > 0);
    expect(await phone.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
    await phone.close();
  });

  test("who was on at T: a time between two phases lists the first phase's user and app only", async () => {
    const [appA, appB] = ["aaaaaaaa-0000-4000-8000-000000000001", "bbbbbbbb-0000-4000-8000-000000000002"];
    await sendUdp(open.udpPort, [
      datagram("Start session", "phase1-user", "sense-node2"),
      datagram("Open connection", "phase1-user", "sense-node2", appA),
    ]);
    const [start, opened] = await historyEvents("phase1-user", 2);
    if (start === undefined || opened === undefined) throw new Error("no phase 1 events");
    // T: the first whole second after phase 1 (the time field has seconds); phase 2 starts after it.
    const t = Math.ceil((Date.parse(opened.receivedAt) + 1) / 1000) * 1000;
    while (Date.now() <= t + 20) await Bun.sleep(20);
    await sendUdp(open.udpPort, [
      datagram("Close connection", "phase1-user", "sense-node2", appA),
      datagram("Stop session", "phase1-user", "sense-node2"),
      datagram("Start session", "phase2-user", "sense-node2"),
      datagram("Open connection", "phase2-user", "sense-node2", appB),
    ]);
    await historyEvents("phase2-user", 2);

    const whoWasOn = async (ms: number) => {
      await page.fill("#at-input", new Date(ms).toISOString().slice(0, 19));
      await page.click("#at-form button");
      const when = new Date(ms).toISOString().slice(11, 19);
      await page.waitForFunction(
        (w) => document.querySelector("#at-summary")?.textContent?.includes(w),
        when,
      );
      return page.$$eval("#at-table tbody tr", (rows) => rows.map((r) => r.textContent ?? ""));
    };
    const atT = await whoWasOn(t);
    expect(atT.filter((r) => r.includes("phase1-user"))).toStrictEqual([
      `CORP\\phase1-usersense-node2${time(start.receivedAt)}${appA}`,
    ]);
    expect(atT.some((r) => r.includes("phase2-user"))).toBe(false);
    const after = await whoWasOn(Date.now() + 1000);
    expect(after.some((r) => r.includes("phase1-user"))).toBe(false);
    expect(after.filter((r) => r.includes("phase2-user") && r.includes(appB))).toHaveLength(1);
  });

  test("a click on the chart asks who was on at that time", async () => {
    await page.click("[data-range='1h']");
    await page.locator("#chart-concurrency[data-range='1h']").waitFor();
    const over = page.locator("#chart-concurrency .u-over");
    const box = await over.boundingBox();
    if (box === null) throw new Error("no chart");
    // A time far from the chart's right edge, so the click visibly replaces it.
    const before = "2020-01-01T00:00:00";
    await page.fill("#at-input", before);
    // The right edge is the last minute: the sessions of this file are open there.
    // force: uPlot moves its cursor elements under the pointer while playwright checks what would get the click.
    await over.click({ position: { x: box.width - 2, y: box.height / 2 }, force: true, timeout: 5000 });
    await page.waitForFunction(
      (v) => (document.querySelector("#at-input") as { value?: string } | null)?.value !== v,
      before,
    );
    const clicked = Date.parse(`${await page.inputValue("#at-input")}Z`);
    expect(Math.abs(clicked - Date.now())).toBeLessThan(120_000);
    const when = new Date(clicked).toISOString().slice(11, 19);
    await page
      .waitForFunction((w) => document.querySelector("#at-summary")?.textContent?.includes(w), when, {
        timeout: 10_000,
      })
      .catch(async () => {
        throw new Error(`summary for ${when}: ${await page.textContent("#at-summary")}`);
      });
    // The page lists exactly the history's answer for that instant.
    const answer = (await (await fetch(`${open.url}/api/history/active?at=${clicked}`)).json()) as {
      count: number;
      sessions: { userDirectory: string; userId: string }[];
    };
    const users = await page.$$eval("#at-table tbody tr td:first-child", (cells) =>
      cells.map((c) => c.textContent),
    );
    expect(answer.count === 0 ? [] : users).toStrictEqual(
      answer.sessions.map((x) => `${x.userDirectory}\\${x.userId}`),
    );
    expect(await page.textContent("#at-summary")).toStartWith(
      answer.count === 0 ? "Nobody was on" : `${answer.count} session`,
    );
  });

  test("a range answer that comes back after a newer one is not drawn over it", async () => {
    const ctx = await browser.browser.newContext({ viewport: { width: 1280, height: 800 } });
    const p = await ctx.newPage();
    watch(p);
    await p.goto(open.url);
    await p.locator("#chart-concurrency[data-range='24h'] canvas").waitFor();
    // The 7 d answer (hourly steps) is held until the 1 h one has been drawn.
    const release = await holdRequests(p, "**/api/history/concurrency?*step=1h*");
    await p.click("[data-range='7d']");
    await p.click("[data-range='1h']");
    await p.locator("#chart-concurrency[data-range='1h']").waitFor();
    const late = p.waitForResponse((r) => r.url().includes("step=1h"));
    release();
    await (await late).finished();
    await p.evaluate(() => new Promise((resolve) => setTimeout(resolve, 300)));
    expect(await p.getAttribute("#chart-concurrency", "data-range")).toBe("1h");
    // The chart still spans the last hour: its right edge is a few seconds ago, not minutes.
    const over = p.locator("#chart-concurrency .u-over");
    const box = await over.boundingBox();
    if (box === null) throw new Error("no chart");
    await p.fill("#at-input", "2020-01-01T00:00:00");
    await over.click({ position: { x: box.width - 2, y: box.height / 2 }, force: true, timeout: 5000 });
    await p.waitForFunction(
      () =>
        (document.querySelector("#at-input") as { value?: string } | null)?.value !== "2020-01-01T00:00:00",
    );
    const clicked = Date.parse(`${await p.inputValue("#at-input")}Z`);
    expect(Math.abs(clicked - Date.now())).toBeLessThan(120_000);
    await ctx.close();
  });

  test("the event search finds a user's events and downloads them as CSV", async () => {
    await page.fill("#search-form [name=user]", "phase1-user");
    await page.click("#search-form button[type=submit]");
    await page.waitForFunction(() =>
      document.querySelector("#search-summary")?.textContent?.startsWith("4 events"),
    );
    const [download] = await Promise.all([page.waitForEvent("download"), page.click("#search-csv")]);
    const csv = await Bun.file((await download.path()) as string).text();
    const [header, ...rows] = csv.trim().split(/\r?\n/);
    expect(header).toStartWith("receivedAt,host,action,userDirectory,userId,origin,appId,appName,");
    expect(rows).toHaveLength(4);
    for (const r of rows) expect(r).toContain("phase1-user");
  });

  test("Download CSV works as soon as it is shown, while the rest of the history is still loading", async () => {
    const ctx = await browser.browser.newContext({ viewport: { width: 1280, height: 800 } });
    const p = await ctx.newPage();
    watch(p);
    // Hold "who was on" (loaded once the section is shown) until the download has happened.
    const release = await holdRequests(p, "**/api/history/active**");
    await p.goto(open.url);
    await p.locator("#search-csv").waitFor({ state: "visible" });
    const [download] = await Promise.all([
      p.waitForEvent("download", { timeout: 10_000 }),
      p.click("#search-csv"),
    ]);
    const csv = await Bun.file((await download.path()) as string).text();
    expect(csv).toContain("phase1-user");
    release();
    await p.waitForFunction(() => document.querySelector("#at-summary")?.textContent !== "");
    await ctx.close();
  });

  test("writes the screenshots of the populated dashboard to docs/ (desktop light, phone dark)", async () => {
    // Health lists both proxy nodes from /api/hosts; events per minute counts this file's events (all recent).
    await page.waitForFunction(
      () => document.querySelector("#hosts-table")?.textContent?.includes("sense-node2"),
      null,
      {
        timeout: 10_000,
      },
    );
    // Events per minute shows this file's events (a rate once the page is a minute old).
    await page.waitForFunction(
      () => /^[1-9]/.test(document.querySelector("#now-rate")?.textContent ?? ""),
      null,
      { timeout: 10_000 },
    );
    await page.click("[data-range='1h']");
    await page.locator("#chart-concurrency[data-range='1h'] canvas").waitFor();
    // Who is on now, for the picture.
    await page.fill("#at-input", new Date(Date.now() + 1000).toISOString().slice(0, 19));
    await page.click("#at-form button");
    await page.waitForFunction(() =>
      /^\d+ sessions open/.test(document.querySelector("#at-summary")?.textContent ?? ""),
    );
    await page.evaluate(() => window.scrollTo(0, 0));
    await page.screenshot({ path: join(ROOT, "docs/dashboard.png"), fullPage: true });
    const phone = await browser.browser.newPage({
      viewport: { width: 390, height: 844 },
      timezoneId: "UTC",
      colorScheme: "dark",
    });
    watch(phone);
    await phone.goto(open.url);
    await phone.waitForFunction(() => (document.querySelector("#feed")?.childElementCount ?? 0) > 0);
    await phone.waitForFunction(() => document.querySelector("#chart-concurrency canvas") !== null);
    await phone.screenshot({ path: join(ROOT, "docs/dashboard-phone.png") });
    await phone.close();
    for (const name of ["dashboard.png", "dashboard-phone.png"]) {
      expect(Bun.file(join(ROOT, "docs", name)).size).toBeGreaterThan(20_000);
    }
  });

  test("the page asked nothing of any other origin and logged no error", () => {
    const origin = new URL(open.url).origin;
    expect(requests.length).toBeGreaterThan(10);
    expect(requests.filter((url) => new URL(url).origin !== origin)).toStrictEqual([]);
    expect(consoleErrors).toStrictEqual([]);
  });
});

describe("with api.token, over HTTPS", () => {
  let secured: RunningBinary;
  const TOKEN = "dashboard-test-token";

  beforeAll(async () => {
    secured = await startBinary(binary, dir, "secured", {
      token: TOKEN,
      tls: { cert: pki.serverCert, key: pki.serverKey },
    });
    expect(secured.url).toStartWith("https://");
    await sendUdp(secured.udpPort, [datagram("Start session", "secret-user")]);
  });
  afterAll(() => secured?.stop());

  test("the page shows only the token field until a valid token is given, then the dashboard", async () => {
    const ctx = await browser.browser.newContext({ viewport: { width: 1280, height: 800 } });
    const p = await ctx.newPage();
    const errors: string[] = [];
    watch(p, errors);
    const apiRequests: { url: string; auth: string | undefined }[] = [];
    p.on("request", (r) => {
      if (new URL(r.url()).pathname.startsWith("/api/"))
        apiRequests.push({ url: r.url(), auth: r.headers().authorization });
    });
    await p.goto(secured.url);
    await p.locator("#token").waitFor({ state: "visible" });
    expect(await p.isHidden("#main")).toBe(true);
    expect(await p.evaluate(() => document.body.textContent)).not.toContain("secret-user");
    expect(apiRequests).toStrictEqual([]);

    await p.fill("#token", "wrong");
    await p.click("#login button");
    await p.waitForFunction(() =>
      document.querySelector("#login-error")?.textContent?.includes("not accepted"),
    );
    expect(await p.isHidden("#main")).toBe(true);

    await p.fill("#token", TOKEN);
    await p.keyboard.press("Enter");
    await p.waitForFunction(
      () => document.querySelector("#feed")?.textContent?.includes("CORP\\secret-user"),
      null,
      {
        timeout: 10_000,
      },
    );
    expect(await p.isVisible("#login")).toBe(false);
    // The live stream is fed through fetch with the header, so new events still arrive.
    await sendUdp(secured.udpPort, [datagram("Start session", "second-secret")]);
    await p.waitForFunction(
      () => document.querySelector("#feed tr")?.textContent?.includes("CORP\\second-secret"),
      null,
      {
        timeout: 10_000,
      },
    );
    expect(
      apiRequests.some((r) => r.url.includes("/api/events/stream") && r.auth === `Bearer ${TOKEN}`),
    ).toBe(true);
    expect(apiRequests.filter((r) => r.url.includes(TOKEN))).toStrictEqual([]);
    // The CSV export needs the header too: fetched with it and saved from a blob.
    await p.locator("#search-csv").waitFor({ state: "visible" });
    const [download] = await Promise.all([p.waitForEvent("download"), p.click("#search-csv")]);
    const csv = await Bun.file((await download.path()) as string).text();
    expect(csv).toContain("secret-user");
    // A reload of the tab keeps the token (sessionStorage) and asks nothing.
    await p.reload();
    await p.waitForFunction(() =>
      document.querySelector("#feed")?.textContent?.includes("CORP\\second-secret"),
    );
    expect(await p.isHidden("#login")).toBe(true);
    // The one error is the refused wrong token.
    expect(errors.every((e) => e.includes("401"))).toBe(true);
    expect(errors.length).toBeLessThanOrEqual(1);
    await ctx.close();
  });
});
