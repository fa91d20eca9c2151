import type { Config } from "../config/schema.ts";

/**
 * The `check-config` hint about InfluxDB 1.x's `max-values-per-tag` (reference §22): shown when user events go
 * to an InfluxDB v1 with user ids as tags, where a flood of distinct users can make InfluxDB refuse every write.
 * Returns null when the limit cannot bite.
 */
export function cardinalityHint(config: Config): string | null {
  const influx = config["Butler-SOS"].influxdbConfig;
  if (!config.features.userEventsToInflux || (influx.version ?? 1) !== 1) return null;
  if (!config["sense-events"].influxdb.userTags) return null;
  return (
    "hint: sense-events.influxdb.userTags is true (Butler SOS's schema), so every distinct user is a value of the " +
    "InfluxDB tags userFull and userId; InfluxDB 1.x refuses every write that would give a tag more than " +
    "max-values-per-tag values (default 100,000 per database). Either raise it in influxdb.conf " +
    "([data] max-values-per-tag = 0 turns the limit off), or set sense-events.influxdb.userTags: false to write " +
    'user ids as fields only (count(distinct("userFull")) in dashboards keeps working)'
  );
}
