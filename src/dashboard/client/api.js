// Talks to this server's API: the token (kept in sessionStorage) goes in the Authorization header only,
// never in a URL, so it stays out of logs and history.

const KEY = "sense-events.token";

/** Thrown when the API answers 401: the page asks for the token again. */
export class Unauthorized extends Error {}

/** The token of this browser tab, or null. */
export function token() {
  return sessionStorage.getItem(KEY);
}

/** Keeps the token for this browser tab (sessionStorage ends with the tab). */
export function setToken(value) {
  sessionStorage.setItem(KEY, value);
}

/** Forgets the token. */
export function clearToken() {
  sessionStorage.removeItem(KEY);
}

function headers(extra = {}) {
  const t = token();
  return t ? { ...extra, authorization: `Bearer ${t}` } : extra;
}

/** Fetches an API path; throws Unauthorized on 401 and an Error with the API's message otherwise. */
export async function apiResponse(path, init = {}) {
  const response = await fetch(path, { ...init, headers: headers(init.headers), cache: "no-store" });
  if (response.status === 401) throw new Unauthorized("unauthorized");
  if (!response.ok) {
    let message = `${response.status}`;
    try {
      message = (await response.json()).error ?? message;
    } catch {
      // Not JSON: keep the status.
    }
    const error = new Error(message);
    error.status = response.status;
    throw error;
  }
  return response;
}

/** GETs an API path and returns its JSON body. */
export async function api(path) {
  return (await apiResponse(path)).json();
}

/** Builds `path?k=v` from the defined, non-empty parameters. */
export function withQuery(path, params) {
  const query = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value !== undefined && value !== null && value !== "") query.set(key, String(value));
  }
  const text = query.toString();
  return text ? `${path}?${text}` : path;
}

/**
 * Reads a Server-Sent Events stream with fetch (so the token travels as a header), reconnecting with
 * `Last-Event-ID` after a drop. `onEvent` gets each parsed `user-event`; `onState` gets
 * "live" | "reconnecting" | "unauthorized". Returns `{ close() }`.
 */
export function openEventStream(path, { lastEventId, onEvent, onState }) {
  let lastId = lastEventId ?? null;
  let stopped = false;
  let controller = null;

  async function readOnce() {
    controller = new AbortController();
    const extra = { accept: "text/event-stream" };
    if (lastId !== null) extra["last-event-id"] = String(lastId);
    const response = await fetch(path, {
      headers: headers(extra),
      signal: controller.signal,
      cache: "no-store",
    });
    if (response.status === 401) throw new Unauthorized("unauthorized");
    if (!response.ok || response.body === null) throw new Error(`stream: ${response.status}`);
    onState("live");
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = "";
    // A silent stream (no ping for 45 s; the server pings every 15 s) is treated as dropped.
    let watchdog = setTimeout(() => controller.abort(), 45_000);
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        clearTimeout(watchdog);
        watchdog = setTimeout(() => controller.abort(), 45_000);
        buffer += value;
        let end = buffer.indexOf("\n\n");
        while (end >= 0) {
          handleFrame(buffer.slice(0, end));
          buffer = buffer.slice(end + 2);
          end = buffer.indexOf("\n\n");
        }
      }
    } finally {
      clearTimeout(watchdog);
    }
  }

  function handleFrame(frame) {
    let type = "message";
    let data = "";
    let id = null;
    for (const line of frame.split("\n")) {
      if (line.startsWith(":")) continue;
      const colon = line.indexOf(":");
      const field = colon < 0 ? line : line.slice(0, colon);
      const value = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
      if (field === "event") type = value;
      else if (field === "data") data += data ? `\n${value}` : value;
      else if (field === "id") id = value;
    }
    if (type !== "user-event" || data === "") return;
    if (id !== null && /^\d+$/.test(id)) lastId = Number(id);
    onEvent(JSON.parse(data));
  }

  (async () => {
    let delay = 1000;
    while (!stopped) {
      try {
        await readOnce();
        delay = 1000;
      } catch (error) {
        if (error instanceof Unauthorized) {
          onState("unauthorized");
          return;
        }
      }
      if (stopped) return;
      onState("reconnecting");
      await new Promise((resolve) => setTimeout(resolve, delay));
      delay = Math.min(delay * 2, 15_000);
    }
  })();

  return {
    close() {
      stopped = true;
      controller?.abort();
    },
  };
}
