/**
 * A receive thread that behaves like the real one, except that the socket of an instance started on
 * port 0 (the first one of a test; a replacement binds the port it was given) fails with
 * EHOSTUNREACH 200 ms after it listens.
 */
import dgram from "node:dgram";
import "../../src/ingest/udp-worker.ts";

const bind = dgram.Socket.prototype.bind;
// Patched in this worker only (each Worker has its own modules), to reach the socket the real thread owns.
dgram.Socket.prototype.bind = function (this: dgram.Socket, ...args: unknown[]) {
  if (args[0] === 0)
    this.once("listening", () =>
      setTimeout(
        () => this.emit("error", Object.assign(new Error("simulated"), { code: "EHOSTUNREACH" })),
        200,
      ),
    );
  return (bind as (...a: unknown[]) => dgram.Socket).apply(this, args);
} as typeof bind;
