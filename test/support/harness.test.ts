import { expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { sharedFixture } from "./fixtures.ts";
import { startTcpProxy } from "./tcp-proxy.ts";
import { waitFor } from "./wait.ts";

// Tests of the test harness itself, kept apart from the product's tests.

test("the shared fixtures directory resolves from the repository", () => {
  expect(existsSync(sharedFixture("product-doc-userevents.yaml"))).toBe(true);
});

test("waitFor resolves with the first result that is neither undefined nor false", async () => {
  let calls = 0;
  const value = await waitFor("the third call", () =>
    ++calls === 3 ? { calls } : calls === 1 ? false : undefined,
  );
  expect(value).toStrictEqual({ calls: 3 });
});

test("waitFor throws naming what it waited for once the deadline has passed", async () => {
  await expect(waitFor("something that never happens", () => false, 50)).rejects.toThrow(
    "timed out after 50 ms waiting for something that never happens",
  );
});

test("the TCP proxy forwards both ways and counts connections and client bytes", async () => {
  const echo = Bun.listen({
    hostname: "127.0.0.1",
    port: 0,
    socket: {
      data(socket, chunk) {
        socket.write(chunk);
      },
    },
  });
  const proxy = await startTcpProxy(echo.port);
  const replies: string[] = [];
  const client = await Bun.connect({
    hostname: "127.0.0.1",
    port: proxy.port,
    socket: {
      data(_, chunk) {
        replies.push(Buffer.from(chunk).toString());
      },
    },
  });
  client.write("ping");
  await waitFor("the echo", () => replies.join("") === "ping");
  client.end();
  proxy.close();
  echo.stop(true);
  expect({ connections: proxy.connections, sent: proxy.sent }).toStrictEqual({
    connections: 1,
    sent: "ping",
  });
});
