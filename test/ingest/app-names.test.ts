import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import {
  type AppNames,
  type AppNamesOptions,
  createAppNames,
  createXrfKey,
  parseAppList,
} from "../../src/ingest/app-names.ts";
import { silentLogger } from "../../src/log.ts";
import { createTestPki, type TestPki } from "../support/tls.ts";

interface Recorded {
  method: string;
  path: string;
  xrfkeyQuery: string | null;
  headers: { xrfkey: string | null; user: string | null };
}

const SALES = "a421f4a2-c311-4ef4-ba41-fe2e6a2b0d69";
const HR = "6a6b1e54-0f3c-4d7e-9b2a-3c1d2e4f5a6b";

let pki: TestPki;
let server: ReturnType<typeof Bun.serve>;
let requests: Recorded[] = [];
let respond: () => Response = () => Response.json([]);
let appNames: AppNames | undefined;

beforeAll(async () => {
  pki = await createTestPki();
  // The server demands a client certificate signed by the test CA: a completed request proves one was sent.
  server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    tls: {
      cert: pki.pem.serverCert,
      key: pki.pem.serverKey,
      ca: pki.pem.caCert,
      requestCert: true,
      rejectUnauthorized: true,
    },
    fetch(req) {
      const url = new URL(req.url);
      requests.push({
        method: req.method,
        path: url.pathname,
        xrfkeyQuery: url.searchParams.get("xrfkey"),
        headers: { xrfkey: req.headers.get("x-qlik-xrfkey"), user: req.headers.get("x-qlik-user") },
      });
      return respond();
    },
  });
});

afterEach(() => {
  appNames?.close();
  appNames = undefined;
  requests = [];
  respond = () => Response.json([]);
});

afterAll(async () => {
  server.stop(true);
  await pki.remove();
});

function make(overrides: Partial<AppNamesOptions> = {}): AppNames {
  appNames = createAppNames({
    enabled: true,
    hostIP: "127.0.0.1",
    port: server.port,
    intervalMs: 60_000,
    cert: { clientCert: pki.clientCert, clientCertKey: pki.clientKey, clientCertCA: pki.caCert },
    verifyServerCert: false,
    log: silentLogger,
    ...overrides,
  });
  return appNames;
}

describe("request", () => {
  test("GETs /qrs/app with the same 16-character xrfkey in query and header and the sa_repository user", async () => {
    await make().refresh();
    expect(requests).toHaveLength(1);
    const key = requests[0]?.xrfkeyQuery ?? "";
    expect(key).toMatch(/^[A-Za-z0-9]{16}$/);
    expect(requests[0]).toStrictEqual({
      method: "GET",
      path: "/qrs/app",
      xrfkeyQuery: key,
      headers: { xrfkey: key, user: "UserDirectory=Internal; UserId=sa_repository" },
    });
  });

  test("uses a new xrfkey for each request", async () => {
    const names = make();
    await names.refresh();
    await names.refresh();
    expect(requests).toHaveLength(2);
    expect(requests[0]?.xrfkeyQuery).not.toBe(requests[1]?.xrfkeyQuery);
  });

  test("presents a client certificate whose key is protected by a passphrase", async () => {
    respond = () => Response.json([{ id: SALES, name: "Sales analysis" }]);
    const names = make({
      cert: {
        clientCert: pki.clientCert,
        clientCertKey: pki.clientKeyEncrypted,
        clientCertPassphrase: pki.passphrase,
      },
    });
    await names.refresh();
    expect(names.lookup(SALES)).toBe("Sales analysis");
  });

  test.each([
    ["accepts a server certificate issued by clientCertCA", (pki) => pki.caCert, 0],
    ["rejects a server certificate not issued by clientCertCA", (pki) => pki.clientCert, 1],
  ] as [string, (pki: TestPki) => string, number][])(
    "with verifyServerCert it %s",
    async (_name, ca, failures) => {
      const names = make({
        verifyServerCert: true,
        cert: { clientCert: pki.clientCert, clientCertKey: pki.clientKey, clientCertCA: ca(pki) },
      });
      await names.refresh();
      expect(names.stats().failures).toBe(failures);
    },
  );
});

describe("map", () => {
  test("maps lower-cased ids to names and skips entries without a string id or name", async () => {
    respond = () =>
      Response.json([
        { id: SALES.toUpperCase(), name: "Sales analysis", published: true },
        { id: HR, name: "HR overview" },
        { id: 42, name: "numeric id" },
        { id: "no-name" },
        { name: "no id" },
        null,
        "text",
      ]);
    const names = make();
    await names.refresh();
    expect([names.lookup(SALES), names.lookup(HR), names.lookup("no-name")]).toStrictEqual([
      "Sales analysis",
      "HR overview",
      undefined,
    ]);
    expect(names.stats()).toStrictEqual({
      enabled: true,
      count: 2,
      lastRefreshAt: expect.any(String),
      failures: 0,
      lastError: null,
    });
  });

  test("replaces the whole map on the next successful fetch", async () => {
    const names = make();
    respond = () => Response.json([{ id: SALES, name: "Sales analysis" }]);
    await names.refresh();
    respond = () => Response.json([{ id: HR, name: "HR overview" }]);
    await names.refresh();
    expect([names.lookup(SALES), names.lookup(HR)]).toStrictEqual([undefined, "HR overview"]);
  });

  test.each([
    ["a 500 response", () => new Response("boom", { status: 500 }), "HTTP 500: boom"],
    [
      "a body that is not an array",
      () => Response.json({ id: HR, name: "HR overview" }),
      "response is not a JSON array",
    ],
  ])("keeps the old map and counts a failure after %s", async (_name, failing, lastError) => {
    const names = make();
    respond = () => Response.json([{ id: SALES, name: "Sales analysis" }]);
    await names.refresh();
    respond = failing;
    await names.refresh();
    expect(names.lookup(SALES)).toBe("Sales analysis");
    expect(names.stats()).toStrictEqual({
      enabled: true,
      count: 1,
      lastRefreshAt: expect.any(String),
      failures: 1,
      lastError,
    });
  });

  test("counts an unreadable certificate file as a failed fetch", async () => {
    const names = make({ cert: { clientCert: `${pki.dir}/missing.crt`, clientCertKey: pki.clientKey } });
    await names.refresh();
    expect([names.stats().failures, requests.length]).toStrictEqual([1, 0]);
  });
});

describe("schedule", () => {
  test("start fetches at once and then every interval", async () => {
    respond = () => Response.json([{ id: SALES, name: "Sales analysis" }]);
    const names = make({ intervalMs: 50 });
    names.start();
    while (requests.length < 3) await Bun.sleep(10);
    expect(names.lookup(SALES)).toBe("Sales analysis");
  });

  test("a refresh while a fetch is running joins it instead of overlapping", async () => {
    const names = make();
    await Promise.all([names.refresh(), names.refresh(), names.refresh()]);
    expect(requests).toHaveLength(1);
  });

  test("when disabled it never fetches and every lookup misses", async () => {
    respond = () => Response.json([{ id: SALES, name: "Sales analysis" }]);
    const names = make({ enabled: false, intervalMs: 10 });
    names.start();
    await names.refresh();
    await Bun.sleep(50);
    expect([requests.length, names.lookup(SALES), names.stats().enabled]).toStrictEqual([
      0,
      undefined,
      false,
    ]);
  });
});

describe("helpers", () => {
  test("createXrfKey returns 16 characters of [A-Za-z0-9]", () => {
    const keys = Array.from({ length: 50 }, createXrfKey);
    expect(keys.filter((key) => /^[A-Za-z0-9]{16}$/.test(key))).toHaveLength(50);
    expect(new Set(keys).size).toBe(50);
  });

  test("parseAppList rejects a non-array body", () => {
    expect(() => parseAppList({})).toThrow("response is not a JSON array");
  });
});
