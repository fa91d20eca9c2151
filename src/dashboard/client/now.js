// The "Now" section: active sessions, the live event feed (SSE) with pause and filter, events per minute.
import { api, openEventStream } from "./api.js";
import { browserOf, byId, fillTable, formatCount, formatTime, row, setText, userOf } from "./dom.js";

/** Rows kept in the feed (and events held while paused). */
const FEED_MAX = 300;

/** Starts the section; `onEvent` is told about every live event, `onState` about the stream. */
export function startNow({ onEvent, onState }) {
  const feedTable = byId("feed-table");
  const feed = byId("feed");
  const filterInput = byId("feed-filter");
  const pauseButton = byId("feed-pause");
  const appNames = new Map();
  /** Events received while paused, newest last. */
  let held = [];
  let paused = false;
  let newestId = null;
  /** [time ms, accepted] samples of the last minute or so, for the rate. */
  const samples = [];
  /** Receive times of the events loaded at start, or null when they do not cover the minute before. */
  let before = null;

  const appOf = (e) => (e.appId ? e.appName || appNames.get(e.appId) || e.appId : "–");

  function matches(e, needle) {
    if (needle === "") return true;
    const fields = [userOf(e), e.host, e.action, e.appId ?? "", e.appName ?? "", appOf(e)];
    return fields.some((f) => f.toLowerCase().includes(needle));
  }

  function eventRow(e) {
    const tr = row(feedTable, [
      { text: formatTime(e.receivedAt), className: "time", title: e.receivedAt },
      { text: e.action, className: `action ${actionClass(e.action)}` },
      userOf(e),
      e.host,
      { text: appOf(e), title: e.appId ?? "" },
      browserOf(e),
    ]);
    tr.eventData = e;
    tr.hidden = !matches(e, filterInput.value.trim().toLowerCase());
    return tr;
  }

  function add(events) {
    // `events` newest last; the feed shows newest first.
    const rows = [];
    for (const e of events) {
      if (e.appId && e.appName) appNames.set(e.appId, e.appName);
      rows.unshift(eventRow(e));
    }
    feed.prepend(...rows);
    while (feed.rows.length > FEED_MAX) feed.lastElementChild?.remove();
  }

  function applyFilter() {
    const needle = filterInput.value.trim().toLowerCase();
    let shown = 0;
    for (const tr of feed.rows) {
      tr.hidden = !matches(tr.eventData, needle);
      if (!tr.hidden) shown++;
    }
    setText("feed-state", needle ? `${shown} of ${feed.rows.length} shown` : stateText());
  }

  function stateText() {
    return paused ? `paused: ${held.length} new event${held.length === 1 ? "" : "s"} waiting` : "";
  }

  filterInput.addEventListener("input", applyFilter);
  pauseButton.addEventListener("click", () => {
    paused = !paused;
    pauseButton.setAttribute("aria-pressed", String(paused));
    pauseButton.textContent = paused ? "Resume" : "Pause";
    if (!paused) {
      add(held);
      held = [];
      applyFilter();
    }
    setText("feed-state", stateText());
    onState(paused ? "paused" : "live");
  });

  async function loadSessions() {
    const { sessions, count } = await api("/api/sessions");
    sessions.sort((a, b) => (b.startedAt ?? b.lastEventAt).localeCompare(a.startedAt ?? a.lastEventAt));
    const table = byId("sessions-table");
    fillTable(table, sessions, (s) => [
      userOf(s),
      s.host,
      s.startedAt ? formatTime(s.startedAt) : { text: "before start", title: "started before sense-events" },
      s.openConnections,
      s.appIds.length ? s.appIds.map((id) => appNames.get(id) ?? id).join(", ") : "–",
    ]);
    table.hidden = count === 0;
    byId("sessions-none").hidden = count !== 0;
    setText("sessions-count", `(${count})`);
    setText("now-sessions", formatCount(count));
    setText("now-users", formatCount(new Set(sessions.map(userOf)).size));
  }

  /**
   * Takes an /api/stats snapshot and shows the events accepted in the last minute: the counter's growth
   * over the last 60 s once the page has watched that long, before that its growth since the page opened
   * plus the loaded recent events of the minute before.
   */
  function updateStats(stats) {
    const now = Date.now();
    const accepted = stats.datagrams.accepted;
    setText("now-accepted", formatCount(accepted));
    if (samples.length === 0) return;
    samples.push([now, accepted]);
    // Keep the newest sample at least a minute old as the base, and everything after it.
    while (samples.length > 2 && (samples[1]?.[0] ?? now) <= now - 60_000) samples.shift();
    const [t0, a0] = samples[0];
    let count = null;
    if (t0 <= now - 60_000) count = Math.round(((accepted - a0) * 60_000) / (now - t0));
    else if (before !== null) count = accepted - a0 + before.filter((t) => t > now - 60_000).length;
    setText("now-rate", count === null ? "–" : formatCount(count));
  }

  let renderTimer = null;
  /** Adds the events received since the last render, at most four times a second (floods stay cheap). */
  function scheduleRender() {
    if (renderTimer !== null) return;
    renderTimer = setTimeout(() => {
      renderTimer = null;
      if (paused) return;
      add(held);
      held = [];
      applyFilter();
    }, 250);
  }

  let sessionsTimer = null;
  /** Reloads the sessions shortly after live events (once per burst). */
  function scheduleSessions() {
    if (sessionsTimer !== null) return;
    sessionsTimer = setTimeout(() => {
      sessionsTimer = null;
      loadSessions().catch(() => {});
    }, 300);
  }

  async function start() {
    const [{ events }, stats] = await Promise.all([api("/api/events?limit=100"), api("/api/stats")]);
    add([...events].reverse());
    // The loaded events give the minute before the page opened, when they reach back that far.
    const opened = Date.now();
    const times = events.map((e) => Date.parse(e.receivedAt));
    before = events.length < 100 || (times.at(-1) ?? opened) < opened - 60_000 ? times : null;
    samples.push([opened, stats.datagrams.accepted]);
    updateStats(stats);
    newestId = events[0]?.id ?? 0;
    await loadSessions();
    setInterval(() => loadSessions().catch(() => {}), 5000);
    openEventStream("/api/events/stream", {
      lastEventId: newestId,
      onEvent(e) {
        onEvent(e);
        scheduleSessions();
        held.push(e);
        if (held.length > FEED_MAX) held.shift();
        if (paused) setText("feed-state", stateText());
        else scheduleRender();
      },
      onState(state) {
        if (!paused || state !== "live") onState(state);
      },
    });
  }

  /** Host → newest event time among the events in the feed. */
  function hosts() {
    const seen = new Map();
    for (const tr of feed.rows)
      if (!seen.has(tr.eventData.host)) seen.set(tr.eventData.host, tr.eventData.receivedAt);
    for (const e of held) seen.set(e.host, e.receivedAt);
    return seen;
  }

  return { start, updateStats, hosts };
}

/** CSS class for an action, so starts and stops are told apart at a glance. */
export function actionClass(action) {
  if (action === "Start session" || action === "Open connection") return "on";
  if (action === "Stop session" || action === "Close connection") return "off";
  return "other";
}
