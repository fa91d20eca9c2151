import { expect, test } from "bun:test";
import { extractAppId } from "../../src/ingest/app-id.ts";

const GUID = "a421f4a2-c311-4ef4-ba41-fe2e6a2b0d69";

test.each([
  [`/app/${GUID}`, GUID],
  [`/app/${GUID}?reloaduri=https://sense.lab/sense/app/${GUID}`, GUID],
  [`/app/${GUID}/sheet/kpi01/state/analysis`, GUID],
  [`/app/${GUID}#x`, GUID],
  ["/app/12345678-1234-1234-1234-123456789abc", "12345678-1234-1234-1234-123456789abc"],
  ["/app/0E3A9C7D-5B1F-4C2A-8D6E-7F9A1B2C3D4E/sheet/x", "0e3a9c7d-5b1f-4c2a-8d6e-7f9a1b2c3d4e"],
])("extracts the appId from %p", (context, appId) => {
  expect(extractAppId(context)).toBe(appId);
});

test.each([
  ["/"],
  [""],
  ["/hub/"],
  ["/app/not-a-guid"],
  [`/app/${GUID}x`],
  [`/app/${GUID}-`],
  [`/APP/${GUID}`],
  [`app/${GUID}`],
  [`/sense/app/${GUID}`],
  ["/app/a421f4a2-c311-4ef4-ba41-fe2e6a2b0d6"],
  ["/app/a421f4a2c311-4ef4-ba41-fe2e6a2b0d69a"],
  ["/app/g421f4a2-c311-4ef4-ba41-fe2e6a2b0d69"],
])("finds no appId in %p", (context) => {
  expect(extractAppId(context)).toBeNull();
});

test.each([
  ["the same id again", [`/app/${GUID}`, `/app/${GUID}?x`], [GUID, GUID]],
  [
    "an upper-case spelling after the lower-case one",
    [`/app/${GUID}`, `/app/${GUID.toUpperCase()}`],
    [GUID, GUID],
  ],
  [
    "a lower-case spelling after the upper-case one",
    [`/app/${GUID.toUpperCase()}`, `/app/${GUID}`],
    [GUID, GUID],
  ],
  [
    "ids that differ only in the middle",
    [`/app/${GUID}`, "/app/a421f4a2-c311-4ef4-ba41-fe2e6a2b0d69".replace("c311", "c312"), `/app/${GUID}`],
    [GUID, GUID.replace("c311", "c312"), GUID],
  ],
])("extracts %s in a row", (_name, contexts, appIds) => {
  expect(contexts.map(extractAppId)).toStrictEqual(appIds);
});
