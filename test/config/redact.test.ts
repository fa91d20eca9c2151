import { expect, test } from "bun:test";
import { loadConfigFile } from "../../src/config/load.ts";
import { redactConfig } from "../../src/config/redact.ts";
import { localFixture } from "../support/fixtures.ts";

test("redacts every secret of the full fixture and every New Relic header value (reference §18 item 59)", async () => {
  const result = await loadConfigFile(localFixture("butler-sos-full.yaml"));
  if (!result.ok) throw new Error(JSON.stringify(result.errors));
  const shown = redactConfig(result.config) as typeof result.config;
  const bs = shown["Butler-SOS"];
  expect({
    influxV1: bs.influxdbConfig.v1Config.auth.password,
    influxV1User: bs.influxdbConfig.v1Config.auth.username,
    influxV2: bs.influxdbConfig.v2Config.token,
    influxV3: bs.influxdbConfig.v3Config.token,
    mqtt: bs.mqttConfig.password,
    passphrase: bs.cert.clientCertPassphrase,
    newRelicKey: bs.thirdPartyToolsCredentials.newRelic[0]?.insertApiKey,
    newRelicAccount: bs.thirdPartyToolsCredentials.newRelic[0]?.accountId,
    header: bs.newRelic.event.header,
    api: shown["sense-events"].api.token,
  }).toStrictEqual({
    influxV1: "***",
    influxV1User: "influx-user",
    influxV2: "***",
    influxV3: "***",
    mqtt: "***",
    passphrase: "***",
    newRelicKey: "***",
    newRelicAccount: "1234567",
    header: [{ name: "X-My-Header", value: "***" }],
    api: "***",
  });
});

test("matches secret keys case-insensitively anywhere in the key and leaves the input untouched", () => {
  const input = {
    a: { clientSecretValue: "s", API_TOKEN: "t", insertApiKey: "k", keep: "v" },
    list: [{ myPassword: "p" }],
  };
  expect([redactConfig(input), input.a.API_TOKEN]).toStrictEqual([
    {
      a: { clientSecretValue: "***", API_TOKEN: "***", insertApiKey: "***", keep: "v" },
      list: [{ myPassword: "***" }],
    },
    "t",
  ]);
});

test("an unset secret is not shown as ***", () => {
  expect(redactConfig({ token: undefined, password: "" })).toStrictEqual({ token: undefined, password: "" });
});
