import * as v from "valibot";
import { bool, host, int, list, obj, oneOf, port, scalar, section, str, timerMs } from "./fields.ts";
import { PostToSchema } from "./mqtt-topics.ts";
import { TagListSchema } from "./tags.ts";

// The `Butler-SOS` section: only the keys of reference §14.2 are read; other keys are ignored.

const excludeUserEntry = obj({
  /** User directory, matched case-insensitively. */
  directory: scalar(),
  /** User id, matched case-insensitively. */
  userId: scalar(),
});

const udpServerConfig = section({
  /** Address the UDP listener binds (IP literal or hostname). @default "0.0.0.0" */
  serverHost: v.optional(host(), "0.0.0.0"),
  /** UDP port for user events. @default 9997 */
  portUserActivityEvents: v.optional(port(), 9997),
  /** Larger datagrams are dropped as `too_large`. @default 65507 */
  maxMessageSize: v.optional(int(1, 65507), 65507),
  /** Fixed-window rate limit. */
  rateLimit: section({
    /** Turn the rate limit on. @default false */
    enable: v.optional(bool(), false),
    /** Datagrams admitted per 60 s window. @default 600 */
    maxMessagesPerMinute: v.optional(int(1), 600),
  }),
  /** Only accept datagrams from `allowedSources` (fails closed when none is usable). @default false */
  enableSourceValidation: v.optional(bool(), false),
  /** IPv4/IPv6 literals, CIDR ranges or hostnames. @default [] */
  allowedSources: v.optional(list(str()), []),
  /** Ingest metrics written to InfluxDB (reference §10.6). */
  queueMetrics: section({
    influxdb: section({
      /** Write ingest metrics. @default false */
      enable: v.optional(bool(), false),
      /** Interval in ms. @default 20000 */
      writeFrequency: v.optional(timerMs(1000), 20000),
      /** Measurement name. @default "user_events_queue" */
      measurementName: v.optional(str(), "user_events_queue"),
      /** Static tags. @default [] */
      tags: TagListSchema,
    }),
  }),
});

const userEvents = section({
  /** Receive user events at all; when false nothing else in this file is validated. @default true */
  enable: v.optional(bool(), true),
  /** Users whose events are counted but neither stored nor forwarded. @default [] */
  excludeUser: v.optional(list(excludeUserEntry), []),
  /** UDP listener settings. */
  udpServerConfig,
  /** Static tags added at every destination. @default [] */
  tags: TagListSchema,
  /** Forwarding to MQTT. */
  sendToMQTT: section({
    /** Publish user events to MQTT. @default false */
    enable: v.optional(bool(), false),
    /** Topic per action, `null` when off. @default all five topics on with their default names */
    postTo: PostToSchema,
  }),
  /** Forwarding to InfluxDB. */
  sendToInfluxdb: section({
    /** Write user events to InfluxDB. @default true */
    enable: v.optional(bool(), true),
  }),
  /** Forwarding to New Relic. */
  sendToNewRelic: section({
    /** Send user events to New Relic. @default false */
    enable: v.optional(bool(), false),
    /** Account names from `thirdPartyToolsCredentials.newRelic`. @default [] */
    destinationAccount: v.optional(list(scalar()), []),
    /** Hash user directory and id with SHAKE256. @default true */
    scramble: v.optional(bool(), true),
  }),
});

const influxdbConfig = section({
  /** Use InfluxDB. @default false */
  enable: v.optional(bool(), false),
  /** Server address; required when InfluxDB is active. */
  host: v.optional(host()),
  /** Server port. @default 8086 */
  port: v.optional(port(), 8086),
  /** InfluxDB major version; required when InfluxDB is active. */
  version: v.optional(oneOf([1, 2, 3])),
  /** Lines per write request. @default 1000 */
  maxBatchSize: v.optional(int(1, 10000), 1000),
  /** InfluxDB 1.x settings. */
  v1Config: section({
    /** Database name; required for v1. */
    dbName: v.optional(str()),
    /** Basic authentication. */
    auth: section({
      /** Send `Authorization: Basic`. @default false */
      enable: v.optional(bool(), false),
      /** User name. */
      username: v.optional(scalar()),
      /** Password. */
      password: v.optional(scalar()),
    }),
    /** Retention policy used when the database is created. */
    retentionPolicy: section({
      /** Policy name. */
      name: v.optional(scalar()),
      /** Duration, e.g. `10d`. */
      duration: v.optional(scalar()),
    }),
  }),
  /** InfluxDB 2.x settings. */
  v2Config: section({
    /** Organisation; required for v2. */
    org: v.optional(str()),
    /** Bucket; required for v2. */
    bucket: v.optional(str()),
    /** API token; required for v2. */
    token: v.optional(scalar()),
    /** Bucket retention used when the bucket is created, e.g. `10d`. */
    retentionDuration: v.optional(scalar()),
    /** Bucket description. */
    description: v.optional(scalar()),
  }),
  /** InfluxDB 3.x settings. */
  v3Config: section({
    /** Database; required for v3. */
    database: v.optional(str()),
    /** API token; required for v3. */
    token: v.optional(scalar()),
    /** Write timeout in ms. @default 10000 */
    writeTimeout: v.optional(timerMs(1), 10000),
    /** Retention (informational). */
    retentionDuration: v.optional(scalar()),
    /** Description (informational). */
    description: v.optional(scalar()),
    /** Accepted and unused. */
    queryTimeout: v.optional(int(1)),
  }),
});

const mqttConfig = section({
  /** Use MQTT. @default false */
  enable: v.optional(bool(), false),
  /** Broker address; required when MQTT is active. */
  brokerHost: v.optional(host()),
  /** Broker port. @default 1883 */
  brokerPort: v.optional(port(), 1883),
  /** Butler SOS base topic; not used for user events. */
  baseTopic: v.optional(str()),
  /** User name. */
  username: v.optional(scalar()),
  /** Password. */
  password: v.optional(scalar()),
  /** TLS (`mqtts`); PEM paths are relative to the config file. */
  tls: section({
    /** Connect with TLS. @default false */
    enable: v.optional(bool(), false),
    /** CA certificate (PEM path). */
    ca: v.optional(str()),
    /** Client certificate (PEM path). */
    cert: v.optional(str()),
    /** Client key (PEM path). */
    key: v.optional(str()),
    /** Verify the broker certificate. @default true */
    rejectUnauthorized: v.optional(bool(), true),
  }),
  /** Publish QoS. @default 0 */
  qos: v.optional(oneOf([0, 1, 2]), 0),
  /** Retain flag. @default false */
  retain: v.optional(bool(), false),
  /** Client id. @default `sense-events_<8 random hex>` (chosen by the MQTT destination) */
  clientId: v.optional(str()),
  /** 3 = MQTT 3.1, 4 = 3.1.1, 5 = MQTT 5. @default 4 */
  protocolVersion: v.optional(oneOf([3, 4, 5]), 4),
});

const newRelic = section({
  /** Use New Relic. @default false */
  enable: v.optional(bool(), false),
  /** Event API settings. */
  event: section({
    /** Base URL (http or https); required when New Relic is active. */
    url: v.optional(
      v.pipe(
        str(),
        v.check(
          (s) => /^https?:\/\/[^/\s]+/i.test(s),
          (i) => `must be an http(s) URL (got ${i.received})`,
        ),
      ),
    ),
    /** Extra request headers. @default [] */
    header: v.optional(list(obj({ name: str(), value: scalar() })), []),
    /** Static attributes added to every event. */
    attribute: section({
      /** Static attributes. @default [] */
      static: TagListSchema,
    }),
  }),
});

const newRelicAccount = obj({
  /** Name used in `sendToNewRelic.destinationAccount`. */
  accountName: scalar(),
  /** Insert API key. */
  insertApiKey: scalar(),
  /** Account id (a number is accepted). */
  accountId: scalar(),
});

/** The `Butler-SOS` section (Butler SOS v14/v15 layout). */
export const ButlerSosSchema = section({
  /** User events (reference §3–§8). */
  userEvents,
  /** InfluxDB connection (reference §10.1). */
  influxdbConfig,
  /** MQTT connection (reference §11). */
  mqttConfig,
  /** New Relic event API (reference §12). */
  newRelic,
  /** Credentials for third-party tools. */
  thirdPartyToolsCredentials: section({
    /** New Relic accounts. @default [] */
    newRelic: v.optional(list(newRelicAccount), []),
  }),
  /** Event counts (reference §10.5). */
  qlikSenseEvents: section({
    influxdb: section({
      /** Write event counts. @default false */
      enable: v.optional(bool(), false),
      /** Interval in ms. @default 20000 */
      writeFrequency: v.optional(timerMs(1000), 20000),
    }),
    eventCount: section({
      /** Count events. @default false */
      enable: v.optional(bool(), false),
      influxdb: section({
        /** Measurement name. @default "event_count" */
        measurementName: v.optional(str(), "event_count"),
        /** Static tags. @default [] */
        tags: TagListSchema,
      }),
    }),
  }),
  /** App name lookup (reference §4.2). */
  appNames: section({
    /** Look up app names in the QRS. @default false */
    enableAppNameExtract: v.optional(bool(), false),
    /** Refresh interval in ms. @default 60000 */
    extractInterval: v.optional(timerMs(10000), 60000),
    /** Sense server queried on port 4242; required when app names are active. */
    hostIP: v.optional(host()),
  }),
  /** Client certificate for the QRS (PEM paths, relative to the config file). */
  cert: section({
    /** Client certificate path. */
    clientCert: v.optional(str()),
    /** Client key path. */
    clientCertKey: v.optional(str()),
    /** CA path, used only with `sense-events.appNames.verifyServerCert`. */
    clientCertCA: v.optional(str()),
    /** Key passphrase, used when non-empty. */
    clientCertPassphrase: v.optional(scalar()),
  }),
  /** Fallback for `sense-events.log.level`. */
  logLevel: v.optional(oneOf(["error", "warn", "info", "verbose", "debug", "silly"])),
});
