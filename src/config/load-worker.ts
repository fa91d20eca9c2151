/**
 * The config-load thread (a Worker): reads, parses and validates one config file off the main
 * thread, so a reload of a big file never stalls the HTTP API (reference §14.4), and posts back
 * the {@link LoadResult}, which is plain data.
 */
import { type LoadResult, loadConfigFile } from "./load.ts";

declare const self: Worker;

self.onmessage = async (event: MessageEvent<{ path: string }>) => {
  let result: LoadResult;
  try {
    result = await loadConfigFile(event.data.path);
  } catch (error) {
    result = { ok: false, errors: [{ path: event.data.path, message: (error as Error).message }] };
  }
  self.postMessage(result);
};
