import { describe, expect, test } from "bun:test";
import { createApi } from "../../src/api/app.ts";
import { ASSETS } from "../../src/dashboard/assets.ts";
import { DASHBOARD_CSP } from "../../src/dashboard/routes.ts";
import { testDeps } from "../api/deps.ts";

function setup() {
  const t = testDeps();
  return { ...t, app: createApi(t.deps).app };
}

describe("GET / (reference §20)", () => {
  test("serves the page as HTML with a strict Content-Security-Policy", async () => {
    const { app } = setup();
    const res = await app.request("/");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toStartWith("text/html");
    expect(res.headers.get("content-security-policy")).toBe(DASHBOARD_CSP);
    expect(res.headers.get("x-content-type-options")).toBe("nosniff");
    const html = await res.text();
    expect(html).toContain('<script type="module" src="/assets/main.js"></script>');
    // No inline script or style: the CSP allows neither.
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
    expect(html).not.toMatch(/\sstyle=|<style/);
  });

  test("the policy allows only this server: no inline script, no other origin", () => {
    expect(DASHBOARD_CSP).toContain("default-src 'none'");
    expect(DASHBOARD_CSP).toContain("script-src 'self'");
    expect(DASHBOARD_CSP).toContain("connect-src 'self'");
    expect(DASHBOARD_CSP).not.toContain("unsafe");
    expect(DASHBOARD_CSP).not.toMatch(/https?:|\*/);
  });

  test("stays open when a token is set (the page asks for it), while /api/dashboard needs it", async () => {
    const { app, state } = setup();
    state.token = "s3cret";
    expect((await app.request("/")).status).toBe(200);
    expect((await app.request("/assets/main.js")).status).toBe(200);
    expect(await (await app.request("/dashboard/auth")).json()).toStrictEqual({ tokenRequired: true });
    expect((await app.request("/api/dashboard")).status).toBe(401);
    const ok = await app.request("/api/dashboard", { headers: { authorization: "Bearer s3cret" } });
    expect(ok.status).toBe(200);
    expect(await ok.json()).toMatchObject({ history: false, hosts: false });
  });

  test("/dashboard/auth says no token is needed on an open API", async () => {
    const { app } = setup();
    expect(await (await app.request("/dashboard/auth")).json()).toStrictEqual({ tokenRequired: false });
  });
});

describe("GET /assets/:file", () => {
  test.each([...ASSETS.keys()])("serves %s with its type and the same policy", async (name) => {
    const { app } = setup();
    const res = await app.request(`/assets/${name}`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toStartWith(
      name.endsWith(".js") ? "text/javascript" : "text/css",
    );
    expect(res.headers.get("content-security-policy")).toBe(DASHBOARD_CSP);
    expect((await res.text()).length).toBeGreaterThan(100);
  });

  test("bundles uPlot from node_modules", async () => {
    const { app } = setup();
    expect(await (await app.request("/assets/uplot.js")).text()).toContain("uPlot");
  });

  test("answers 404 for an unknown file, including paths that climb out", async () => {
    const { app } = setup();
    for (const path of ["/assets/nope.js", "/assets/..%2Fpackage.json", "/assets/"]) {
      expect((await app.request(path)).status).toBe(404);
    }
  });

  test("no script renders network data as HTML", () => {
    for (const [name, asset] of ASSETS) {
      if (name.startsWith("uplot")) continue;
      expect({
        name,
        html: /innerHTML|outerHTML|insertAdjacentHTML|document\.write/.test(asset.body),
      }).toStrictEqual({
        name,
        html: false,
      });
    }
  });
});
