import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { copyFileSync } from "node:fs";
import { join } from "node:path";
import { type ApiServer, startApiServer } from "../../src/api/serve.ts";
import { loadConfigFile } from "../../src/config/load.ts";
import { createLogger } from "../../src/log.ts";
import {
  BUN,
  type Child,
  freeTcpPort,
  freeUdpPort,
  runConfig,
  spawnChild,
  stopChild,
  tempDir,
} from "../support/process.ts";
import { createTestPki, type TestPki } from "../support/tls.ts";

let first: TestPki;
let second: TestPki;
let server: ApiServer | undefined;
const lines: string[] = [];
const log = createLogger({ level: "info", write: (line) => lines.push(line) });
const hello = () => new Response("hello");

beforeAll(async () => {
  [first, second] = await Promise.all([createTestPki(), createTestPki()]);
});
afterEach(async () => {
  await server?.stop();
  server = undefined;
  lines.length = 0;
});
afterAll(async () => {
  await first?.remove();
  await second?.remove();
});

/** GETs `url` trusting only `ca`; the status, or the TLS error's message. */
async function getTrusting(url: string, ca: string): Promise<number | string> {
  try {
    const res = await fetch(url, { tls: { ca }, keepalive: false });
    await res.body?.cancel();
    return res.status;
  } catch (error) {
    return (error as Error).message;
  }
}

const tlsOf = (pki: TestPki) => ({ cert: pki.serverCert, key: pki.serverKey });

describe("startApiServer (reference §20)", () => {
  test("serves HTTPS with the configured certificate to a client that trusts its CA", async () => {
    server = startApiServer({ host: "127.0.0.1", port: 0, tls: tlsOf(first), fetch: hello, log });
    expect(server.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    expect(await getTrusting(`${server.url}/`, first.pem.caCert)).toBe(200);
    // A client trusting another CA refuses it: the certificate really is the configured one.
    expect(await getTrusting(`${server.url}/`, second.pem.caCert)).not.toBe(200);
  });

  test("a reload with a new certificate serves it on the same port", async () => {
    server = startApiServer({ host: "127.0.0.1", port: 0, tls: tlsOf(first), fetch: hello, log });
    const url = server.url;
    server.applyTls(tlsOf(second));
    expect(server.url).toBe(url);
    expect(await getTrusting(`${url}/`, second.pem.caCert)).toBe(200);
    expect(await getTrusting(`${url}/`, first.pem.caCert)).not.toBe(200);
    expect(lines.filter((l) => l.includes("certificate reloaded"))).toHaveLength(1);
  });

  test("a reload with the same files changes nothing", async () => {
    server = startApiServer({ host: "127.0.0.1", port: 0, tls: tlsOf(first), fetch: hello, log });
    server.applyTls(tlsOf(first));
    expect(lines.filter((l) => l.includes("[api]"))).toStrictEqual([]);
    expect(await getTrusting(`${server.url}/`, first.pem.caCert)).toBe(200);
  });

  test("a reload with an unusable key keeps the current certificate and logs why", async () => {
    server = startApiServer({ host: "127.0.0.1", port: 0, tls: tlsOf(first), fetch: hello, log });
    server.applyTls({ cert: second.serverCert, key: first.caCert });
    expect(await getTrusting(`${server.url}/`, first.pem.caCert)).toBe(200);
    expect(lines.some((l) => l.includes("error: [api] TLS not reloaded"))).toBe(true);
  });

  test("a reload can turn TLS on and off on the same port", async () => {
    server = startApiServer({ host: "127.0.0.1", port: 0, fetch: hello, log });
    const port = new URL(server.url).port;
    expect(server.url).toStartWith("http://");
    server.applyTls(tlsOf(first));
    expect(server.url).toBe(`https://127.0.0.1:${port}`);
    expect(await getTrusting(server.url, first.pem.caCert)).toBe(200);
    server.applyTls({});
    expect(server.url).toBe(`http://127.0.0.1:${port}`);
    expect((await fetch(server.url)).status).toBe(200);
  });

  test("a non-loopback listener without TLS warns once that the token travels in clear text", async () => {
    server = startApiServer({ host: "0.0.0.0", port: 0, fetch: hello, log });
    expect(lines.filter((l) => l.includes("warn:"))).toHaveLength(1);
    expect(lines[0]).toContain("the API token travels in clear text");
  });

  test.each([
    ["on loopback without TLS", "127.0.0.1", false],
    ["on every address with TLS", "0.0.0.0", true],
  ])("no warning %s", async (_name, host, tls) => {
    server = startApiServer({ host, port: 0, tls: tls ? tlsOf(first) : undefined, fetch: hello, log });
    expect(lines).toStrictEqual([]);
  });
});

describe("sense-events.api.tls in the config file", () => {
  const dir = tempDir("sense-events-api-tls-");
  let child: Child | undefined;
  afterEach(async () => {
    await stopChild(child);
    child = undefined;
  });
  afterAll(() => dir.cleanup());

  async function writeConfig(tls: object): Promise<{ file: string; apiPort: number }> {
    const apiPort = await freeTcpPort();
    const udp = await freeUdpPort();
    const config = runConfig({ udp, api: apiPort }, { senseEvents: { api: { port: apiPort, tls } } });
    return { file: dir.write("config.yaml", config), apiPort };
  }

  test("relative PEM paths resolve against the config file; the service answers HTTPS and picks up a renewed certificate on SIGHUP", async () => {
    copyFileSync(first.serverCert, join(dir.path, "api.crt"));
    copyFileSync(first.serverKey, join(dir.path, "api.key"));
    const { file, apiPort } = await writeConfig({ cert: "api.crt", key: "api.key" });
    child = spawnChild([BUN, "src/main.ts", "-c", file]);
    await child.waitForLine(new RegExp(`listening on https://127\\.0\\.0\\.1:${apiPort}`), 15_000);
    const url = `https://localhost:${apiPort}/health`;
    expect(await getTrusting(url, first.pem.caCert)).toBe(200);
    // The renewed files are written at the same paths; the config itself does not change.
    copyFileSync(second.serverCert, join(dir.path, "api.crt"));
    copyFileSync(second.serverKey, join(dir.path, "api.key"));
    child.kill("SIGHUP");
    await child.waitForLine(/certificate reloaded/, 10_000);
    expect(await getTrusting(url, second.pem.caCert)).toBe(200);
    expect(await getTrusting(url, first.pem.caCert)).not.toBe(200);
  });

  test("a certificate without its key is refused naming the YAML path", async () => {
    copyFileSync(first.serverCert, join(dir.path, "only.crt"));
    const { file } = await writeConfig({ cert: "only.crt" });
    const loaded = await loadConfigFile(file);
    expect(loaded.ok).toBe(false);
    if (!loaded.ok) expect(loaded.errors.map((e) => e.path)).toStrictEqual(["sense-events.api.tls.key"]);
  });
});
