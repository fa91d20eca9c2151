import { expect, test } from "bun:test";
import { checkAllowList, classifySource } from "../../src/config/sources.ts";

test.each([
  ["10.0.1.21", { kind: "ip", address: "10.0.1.21" }],
  ["fd00::15", { kind: "ip", address: "fd00::15" }],
  ["10.0.0.0/8", { kind: "cidr", network: "10.0.0.0", prefix: 8, family: 4 }],
  ["fd00::/8", { kind: "cidr", network: "fd00::", prefix: 8, family: 6 }],
  ["10.0.0.0/33", { kind: "invalid", entry: "10.0.0.0/33" }],
  ["sense-server-01.mydomain.com", { kind: "hostname", hostname: "sense-server-01.mydomain.com" }],
  ["<IP or FQDN>", { kind: "invalid", entry: "<IP or FQDN>" }],
  // A resolver would read a zero-padded address as octal (010.1.1.1 is 8.1.1.1): never a hostname.
  ["010.1.1.1", { kind: "invalid", entry: "010.1.1.1" }],
])("classifies %s", (entry, expected) => {
  expect(classifySource(entry)).toStrictEqual(expected as ReturnType<typeof classifySource>);
});

test("hostnames that do not resolve and invalid entries are not usable", async () => {
  const resolveHost = async (host: string) => {
    if (host === "good.lab") return ["10.0.0.1"];
    throw Object.assign(new Error("not found"), { code: "ENOTFOUND" });
  };
  expect(await checkAllowList(["10.0.0.1", "good.lab", "bad.lab", "<x>"], resolveHost)).toStrictEqual({
    usable: 2,
    problems: [
      'Butler-SOS.userEvents.udpServerConfig.allowedSources[2]: cannot resolve "bad.lab" (ENOTFOUND); ignored',
      'Butler-SOS.userEvents.udpServerConfig.allowedSources[3]: "<x>" is not an IP address, CIDR range or hostname; ignored',
    ],
  });
});
