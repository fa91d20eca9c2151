/**
 * A receive thread that behaves like the real one, except that an instance started on port 0 (the
 * first one of a test; a restart binds the port it was given) throws 200 ms after starting.
 */
import "../../src/ingest/udp-worker.ts";
import type { ThreadRequest } from "../../src/ingest/udp-supervisor.ts";

declare const self: Worker;

const real = self.onmessage;
self.onmessage = (event: MessageEvent<ThreadRequest>) => {
  if (event.data.type === "start" && event.data.socket.port === 0) {
    setTimeout(() => {
      throw new Error("receive thread crashed (test)");
    }, 200);
  }
  return real?.call(self, event);
};
