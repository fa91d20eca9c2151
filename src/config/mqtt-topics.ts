import * as v from "valibot";
import { bool, obj, str } from "./fields.ts";

/** The five `sendToMQTT.postTo` keys and their default topics (reference §11). */
const DEFAULT_TOPICS = {
  everythingTopic: "qliksense/userevent",
  sessionStartTopic: "qliksense/userevent/session/start",
  sessionStopTopic: "qliksense/userevent/session/stop",
  connectionOpenTopic: "qliksense/userevent/connection/open",
  connectionCloseTopic: "qliksense/userevent/connection/close",
} as const;

/** One `postTo.<key>` entry, normalised to its topic, or `null` when off. */
const TopicEntrySchema = v.pipe(
  obj({
    /** Publish to this topic; an entry that is present is on unless it says otherwise. @default true */
    enable: v.optional(bool(), true),
    /** MQTT topic, used verbatim. @default "" */
    topic: v.optional(str(), ""),
  }),
  v.forward(
    v.check((entry) => !entry.enable || entry.topic !== "", "required when enable is true"),
    ["topic"],
  ),
  v.transform((entry) => (entry.enable ? entry.topic : null)),
);

const topicEntry = () => v.optional(TopicEntrySchema);

/**
 * `userEvents.sendToMQTT.postTo`: without it all five topics are on with their default names; a key
 * missing from a given `postTo` is off. The output maps each key to its topic or `null` (off).
 */
export const PostToSchema = v.optional(
  v.pipe(
    obj({
      everythingTopic: topicEntry(),
      sessionStartTopic: topicEntry(),
      sessionStopTopic: topicEntry(),
      connectionOpenTopic: topicEntry(),
      connectionCloseTopic: topicEntry(),
    }),
    v.transform((postTo) => ({
      everythingTopic: postTo.everythingTopic ?? null,
      sessionStartTopic: postTo.sessionStartTopic ?? null,
      sessionStopTopic: postTo.sessionStopTopic ?? null,
      connectionOpenTopic: postTo.connectionOpenTopic ?? null,
      connectionCloseTopic: postTo.connectionCloseTopic ?? null,
    })),
  ),
  () => ({
    everythingTopic: { topic: DEFAULT_TOPICS.everythingTopic },
    sessionStartTopic: { topic: DEFAULT_TOPICS.sessionStartTopic },
    sessionStopTopic: { topic: DEFAULT_TOPICS.sessionStopTopic },
    connectionOpenTopic: { topic: DEFAULT_TOPICS.connectionOpenTopic },
    connectionCloseTopic: { topic: DEFAULT_TOPICS.connectionCloseTopic },
  }),
);

/** Normalised `postTo`: topic per key, `null` when that topic is off. */
export type PostTo = v.InferOutput<typeof PostToSchema>;
