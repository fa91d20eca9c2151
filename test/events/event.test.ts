import { expect, test } from "bun:test";
import { createUserEventSerializer } from "../../src/destinations/line-protocol.ts";
import { mqttPayload } from "../../src/destinations/mqtt-packet.ts";
import { newRelicEvent } from "../../src/destinations/newrelic.ts";
import { destinationAppName } from "../../src/events/event.ts";
import { e2Deliverable, withEvent } from "../support/events.ts";

test.each([
  ["Sales analysis", "Sales analysis"],
  [null, "<unknown app name>"],
  ["", "<unknown app name>"],
])("app name %p is sent as %p", (appName, expected) => {
  expect(destinationAppName({ ...e2Deliverable().event, appName })).toBe(expected);
});

test("an app known by an empty name gets the same fallback at InfluxDB, MQTT and New Relic", () => {
  const d = withEvent(e2Deliverable(), { appName: "" });
  const line = createUserEventSerializer({ version: 2, uaTagPrefix: "qs_", tags: [] })(d);
  expect({
    influx: line.includes('appName_field="<unknown app name>"'),
    mqtt: mqttPayload(d, {}).appName,
    newRelic: newRelicEvent(d, { staticAttributes: [], tags: [], scramble: false }).qs_appName,
  }).toStrictEqual({ influx: true, mqtt: "<unknown app name>", newRelic: "<unknown app name>" });
});
