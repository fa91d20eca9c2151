import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** PEM files of a throw-away test PKI: one CA, a server cert for 127.0.0.1/localhost and a client cert. */
export interface TestPki {
  dir: string;
  /** File paths. */
  caCert: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  /** Unencrypted client key. */
  clientKey: string;
  /** The same client key encrypted with {@link TestPki.passphrase}. */
  clientKeyEncrypted: string;
  passphrase: string;
  /** File contents (PEM text) of the paths above. */
  pem: { caCert: string; serverCert: string; serverKey: string; clientCert: string; clientKey: string };
  /** Deletes the directory. */
  remove(): Promise<void>;
}

async function openssl(dir: string, args: string[]): Promise<void> {
  const proc = Bun.spawn(["openssl", ...args], { cwd: dir, stdout: "ignore", stderr: "pipe" });
  const code = await proc.exited;
  if (code !== 0) {
    throw new Error(`openssl ${args[0]} failed (${code}): ${await new Response(proc.stderr).text()}`);
  }
}

/** Generates a CA plus server and client certificates with `openssl` in a new temp directory. */
export async function createTestPki(): Promise<TestPki> {
  const dir = await mkdtemp(join(tmpdir(), "sense-events-pki-"));
  const passphrase = "test-passphrase";
  const days = ["-days", "2"];
  await openssl(dir, [
    "req",
    "-x509",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-keyout",
    "ca.key",
    "-out",
    "ca.crt",
    ...days,
    "-subj",
    "/CN=sense-events test CA",
  ]);
  await Bun.write(
    join(dir, "server.ext"),
    "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n",
  );
  await Bun.write(join(dir, "client.ext"), "extendedKeyUsage=clientAuth\n");
  for (const [name, subject] of [
    ["server", "/CN=localhost"],
    ["client", "/CN=sense-events test client"],
  ] as const) {
    await openssl(dir, [
      "req",
      "-newkey",
      "rsa:2048",
      "-nodes",
      "-keyout",
      `${name}.key`,
      "-out",
      `${name}.csr`,
      "-subj",
      subject,
    ]);
    await openssl(dir, [
      "x509",
      "-req",
      "-in",
      `${name}.csr`,
      "-CA",
      "ca.crt",
      "-CAkey",
      "ca.key",
      "-CAcreateserial",
      "-out",
      `${name}.crt`,
      ...days,
      "-extfile",
      `${name}.ext`,
    ]);
  }
  await openssl(dir, [
    "pkey",
    "-in",
    "client.key",
    "-aes256",
    "-passout",
    `pass:${passphrase}`,
    "-out",
    "client-enc.key",
  ]);
  const path = (file: string) => join(dir, file);
  const read = (file: string) => Bun.file(path(file)).text();
  return {
    dir,
    caCert: path("ca.crt"),
    serverCert: path("server.crt"),
    serverKey: path("server.key"),
    clientCert: path("client.crt"),
    clientKey: path("client.key"),
    clientKeyEncrypted: path("client-enc.key"),
    passphrase,
    pem: {
      caCert: await read("ca.crt"),
      serverCert: await read("server.crt"),
      serverKey: await read("server.key"),
      clientCert: await read("client.crt"),
      clientKey: await read("client.key"),
    },
    remove: () => rm(dir, { recursive: true, force: true }),
  };
}
