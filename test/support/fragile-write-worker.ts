/** The real history write Worker, except that it ends itself when asked to change the idle timeout (test only). */
import "../../src/history/write-worker.ts";

declare const self: Worker;
const real = self.onmessage as (message: MessageEvent<{ op: string }>) => void;
self.onmessage = (message: MessageEvent<{ op: string }>) => {
  if (message.data.op === "idle") process.exit(3);
  real(message);
};
