import { type DeliverableEvent, destinationAppName } from "../events/event.ts";

// The MQTT wire side of the destination: outbox items (topic + payload) and QoS 0 PUBLISH packets.

/**
 * Encodes one publish as an outbox item: topic, a newline, then the JSON payload. JSON.stringify
 * never emits a raw newline, so the item is split at its last newline and a topic may contain any
 * character.
 */
export function encodeMqttItem(topic: string, payload: string): string {
  return `${topic}\n${payload}`;
}

/** Splits an outbox item made by {@link encodeMqttItem} into topic and payload. */
export function decodeMqttItem(item: string): { topic: string; payload: string } {
  const cut = item.lastIndexOf("\n");
  return { topic: item.slice(0, cut), payload: item.slice(cut + 1) };
}

/** Builds the reference §11 payload object with its keys in order. */
export function mqttPayload(
  deliverable: DeliverableEvent,
  tags: Record<string, string>,
): Record<string, unknown> {
  const { event } = deliverable;
  const payload: Record<string, unknown> = {
    messageType: event.source,
    host: event.host,
    command: event.action,
    userDir: event.userDirectory,
    userId: event.userId,
    origin: event.origin,
    context: event.context,
    message: event.message,
    tags,
  };
  if (event.appId !== null) {
    payload.appId = event.appId;
    payload.appName = destinationAppName(event);
  }
  const ua = event.userAgent;
  if (ua?.browserName != null) payload.uaBrowserName = ua.browserName;
  if (ua?.browserMajorVersion != null) payload.uaBrowserMajorVersion = ua.browserMajorVersion;
  if (ua?.osName != null) payload.uaOsName = ua.osName;
  if (ua?.osVersion != null) payload.uaOsVersion = ua.osVersion;
  payload.receivedAt = event.receivedAt;
  return payload;
}

/**
 * Encodes outbox items as consecutive QoS 0 PUBLISH packets (MQTT 3.1, 3.1.1 and 5 share the layout; 5 adds
 * an empty property length): fixed header, remaining length, topic, payload.
 */
export function encodeQos0Publishes(items: string[], retain: boolean, v5: boolean): Buffer {
  const n = items.length;
  const itemBytes = new Array<number>(n);
  let total = 0;
  for (let i = 0; i < n; i++) {
    const bytes = Buffer.byteLength(items[i] as string);
    itemBytes[i] = bytes;
    // Topic length (2) + topic + payload is the item without its newline; MQTT 5 adds one property byte.
    const length = bytes + 1 + (v5 ? 1 : 0);
    total += 1 + varintSize(length) + length;
  }
  const out = Buffer.allocUnsafe(total);
  const header = retain ? 0x31 : 0x30;
  let at = 0;
  for (let i = 0; i < n; i++) {
    const item = items[i] as string;
    const bytes = itemBytes[i] as number;
    out[at++] = header;
    let length = bytes + 1 + (v5 ? 1 : 0);
    do {
      let byte = length & 0x7f;
      length >>>= 7;
      if (length > 0) byte |= 0x80;
      out[at++] = byte;
    } while (length > 0);
    const cut = item.lastIndexOf("\n");
    // As many bytes as code units means all ASCII: the topic's size is then its length.
    const topicSize = bytes === item.length ? cut : Buffer.byteLength(item.slice(0, cut));
    // The item is written whole (one UTF-8 encode): MQTT 5 turns its newline into the empty property
    // length; 3.1.1 moves the topic one byte on, over the newline, so the payload follows it directly.
    if (v5) {
      out.write(item, at + 2);
      out[at + 2 + topicSize] = 0;
    } else {
      out.write(item, at + 1);
      out.copyWithin(at + 2, at + 1, at + 1 + topicSize);
    }
    out[at] = topicSize >>> 8;
    out[at + 1] = topicSize & 0xff;
    at += 2 + bytes - (v5 ? 0 : 1);
  }
  return out;
}

function varintSize(n: number): number {
  return n < 0x80 ? 1 : n < 0x4000 ? 2 : n < 0x200000 ? 3 : 4;
}
