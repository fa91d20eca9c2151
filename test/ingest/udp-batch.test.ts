import { expect, test } from "bun:test";
import { BatchBuilder } from "../../src/ingest/udp-batch.ts";

const bytes = (text: string) => new TextEncoder().encode(text);

test("a batch holds each datagram's bytes, sender, port and time, and the builder starts afresh", () => {
  const b = new BatchBuilder();
  b.add(bytes("one"), "10.0.0.1", 1000, 1);
  b.add(bytes("two!"), "10.0.0.2", 2000, 2);
  b.add(bytes("3"), "10.0.0.1", 1001, 3);
  const batch = b.take();
  expect({
    count: batch.count,
    text: new TextDecoder().decode(batch.data),
    ends: [...batch.ends],
    ports: [...batch.ports],
    times: [...batch.times],
    senders: [...batch.senders].map((i) => batch.addresses[i]),
  }).toStrictEqual({
    count: 3,
    text: "onetwo!3",
    ends: [3, 7, 8],
    ports: [1000, 2000, 1001],
    times: [1, 2, 3],
    senders: ["10.0.0.1", "10.0.0.2", "10.0.0.1"],
  });
  expect({ count: b.count, bytes: b.bytes }).toStrictEqual({ count: 0, bytes: 0 });
});

test("is full at 512 datagrams, at 255 distinct senders, or when the bytes would not fit", () => {
  const b = new BatchBuilder();
  for (let i = 0; i < 511; i++) b.add(bytes("x"), "10.0.0.1", 1, 0);
  expect(b.full(1, "10.0.0.1")).toBe(false);
  b.add(bytes("x"), "10.0.0.1", 1, 0);
  expect(b.full(1, "10.0.0.1")).toBe(true);
  b.take();
  for (let i = 0; i < 255; i++) b.add(bytes("x"), `10.0.1.${i}`, 1, 0);
  expect([b.full(1, "10.0.1.7"), b.full(1, "10.0.2.1")]).toStrictEqual([false, true]);
  b.take();
  b.add(new Uint8Array(200 * 1024), "10.0.0.1", 1, 0);
  expect(b.full(65_507, "10.0.0.1")).toBe(true);
});

test("a datagram larger than the batch buffer still fits in a batch of its own", () => {
  const b = new BatchBuilder();
  b.add(new Uint8Array(300 * 1024).fill(7), "10.0.0.1", 1, 0);
  const batch = b.take();
  expect([batch.data.byteLength, batch.ends[0], batch.data[300 * 1024 - 1]]).toStrictEqual([
    300 * 1024,
    300 * 1024,
    7,
  ]);
});
