import * as v from "valibot";
import { ButlerSosSchema } from "./butler-sos-schema.ts";
import type { FeatureGates } from "./features.ts";
import { section, sectionEntries } from "./fields.ts";
import { getAt, type RawPath } from "./raw.ts";
import { configSchema } from "./schema.ts";

const BS = "Butler-SOS";

/**
 * The parts of `Butler-SOS` that are only validated when their feature is used (reference §14.1), most
 * specific first, each with whether it is in use.
 */
function featureAreas(raw: unknown, f: FeatureGates): [RawPath, boolean][] {
  return [
    [[BS, "userEvents", "sendToMQTT"], f.mqtt],
    [[BS, "userEvents", "sendToNewRelic"], f.newRelic],
    [[BS, "userEvents", "udpServerConfig", "queueMetrics"], f.queueMetrics],
    [[BS, "userEvents"], f.userEvents],
    [[BS, "influxdbConfig"], f.influxdb],
    [[BS, "mqttConfig"], f.mqtt],
    [[BS, "newRelic"], f.newRelic],
    [[BS, "thirdPartyToolsCredentials"], f.newRelic],
    [[BS, "qlikSenseEvents"], f.eventCount],
    [[BS, "appNames"], f.appNames],
    [[BS, "cert"], f.appNames],
    [[BS, "logLevel"], getAt(raw, ["sense-events", "log", "level"]) === undefined],
  ];
}

/** A value that falls back to its default instead of failing: how a setting of an unused feature is read. */
function lenient(schema: v.GenericSchema): v.GenericSchema {
  const fallback = v.safeParse(schema, undefined);
  return fallback.success ? v.fallback(schema, fallback.output) : schema;
}

/**
 * Rebuilds a section so that every value in an unused area falls back to its default. Sections
 * themselves stay checked: one that is present but not a mapping is an error even when unused.
 */
function ignoreUnused(
  schema: v.GenericSchema,
  path: RawPath,
  unused: (path: RawPath) => boolean,
): v.GenericSchema {
  const entries = sectionEntries(schema);
  const inUnused = unused(path);
  if (entries === undefined) return inUnused ? lenient(schema) : schema;
  const rebuilt: v.ObjectEntries = {};
  for (const [key, entry] of Object.entries(entries))
    rebuilt[key] = ignoreUnused(entry, [...path, key], unused);
  return section(rebuilt);
}

/** Schemas already built, per combination of features in use. */
const built = new Map<string, ReturnType<typeof configSchema>>();

/**
 * The config schema for a file whose features are `gates`: settings of features that are not used
 * are ignored (an invalid value takes its default), the others are validated. One parse of the
 * file with it gives every error that counts.
 */
export function schemaForFeatures(raw: unknown, gates: FeatureGates) {
  const areas = featureAreas(raw, gates);
  const key = areas.map(([, on]) => (on ? "1" : "0")).join("");
  const cached = built.get(key);
  if (cached !== undefined) return cached;
  const unused = (path: RawPath) => {
    const area = areas.find(([area]) => area.every((k, i) => path[i] === k));
    return area !== undefined && !area[1];
  };
  // The rebuilt schema has the same shape and output as the full one; only invalid values in unused
  // areas are read differently, so its static type is the full schema's.
  const butlerSos = ignoreUnused(ButlerSosSchema, [BS], unused) as typeof ButlerSosSchema;
  const schema = configSchema(butlerSos);
  built.set(key, schema);
  return schema;
}
