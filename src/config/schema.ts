import * as v from "valibot";
import type { LogLevel } from "../log.ts";
import { ButlerSosSchema } from "./butler-sos-schema.ts";
import type { ActiveFeatures } from "./features.ts";
import { SenseEventsSchema } from "./sense-events-schema.ts";

export type { PostTo } from "./mqtt-topics.ts";
export type { Tag } from "./tags.ts";

/**
 * The whole config file: `Butler-SOS` (Butler SOS layout, reference §14.2) and `sense-events` (reference §14.3).
 * Other top-level keys are ignored. `sense-events.log.level` falls back to `Butler-SOS.logLevel`.
 * Validation uses it with a `Butler-SOS` schema built for the features in use (config/feature-schema.ts).
 */
export function configSchema(butlerSos: typeof ButlerSosSchema) {
  return v.pipe(
    v.object(
      {
        /** Butler SOS keys read by sense-events. */
        "Butler-SOS": butlerSos,
        /** sense-events' own keys. */
        "sense-events": SenseEventsSchema,
      },
      (i) => `must be a mapping (got ${i.received})`,
    ),
    v.transform((config) => {
      const se = config["sense-events"];
      const level: LogLevel = se.log.level ?? config["Butler-SOS"].logLevel ?? "info";
      return { ...config, "sense-events": { ...se, log: { ...se.log, level } } };
    }),
  );
}

/** The schema of a file in which every feature is validated. */
export const ConfigSchema = configSchema(ButlerSosSchema);

/** The two sections of the file, validated and normalised, with every default applied. */
export type FileConfig = v.InferOutput<typeof ConfigSchema>;

/** A validated config: the file's sections and the features they turn on, computed once at load. */
export type Config = FileConfig & {
  /** Which features are active and their required values; not part of the file. */
  readonly features: ActiveFeatures;
};

/** The file's sections of a config, without what was computed from them (for `/api/config` and diffs). */
export function fileSections(config: Config): FileConfig {
  return { "Butler-SOS": config["Butler-SOS"], "sense-events": config["sense-events"] };
}
