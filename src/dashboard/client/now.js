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

  /** Takes an /api/stats snapshot: events per minute from the accepted counter over the last minute. */
  function updateStats(stats) {
    const now = Date.now();
    samples.push([now, stats.datagrams.accepted]);
    while (samples.length > 2 && (samples[1]?.[0] ?? now) <= now - 60_000) samples.shift();
    setText("now-accepted", formatCount(stats.datagrams.accepted));
    const [t0, a0] = samples[0];
    if (now - t0 >= 4000)
      setText("now-rate", formatCount(Math.round(((stats.datagrams.accepted - a0) * 60_000) / (now - t0))));
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
    const { events } = await api("/api/events?limit=100");
    add([...events].reverse());
    // Until a minute of counter samples exists, the rate comes from these events when they reach back a minute.
    const minuteAgo = Date.now() - 60_000;
    const oldest = events[events.length - 1];
    if (events.length < 100 || (oldest && Date.parse(oldest.receivedAt) < minuteAgo)) {
      setText("now-rate", formatCount(events.filter((e) => Date.parse(e.receivedAt) >= minuteAgo).length));
    }
    newestId = events[0]?.id ?? 0;
    await loadSessions();
    setInterval(() => loadSessions().catch(() => {}), 5000);
    openEventStream("/api/events/stream", {
      lastEventId: newestId,
      onEvent(e) {
        onEvent(e);
        scheduleSessions();
        if (paused) {
          held.push(e);
          if (held.length > FEED_MAX) held.shift();
          setText("feed-state", stateText());
          return;
        }
        add([e]);
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
