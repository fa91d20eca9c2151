// The "History" section (history API): sessions and users over 24 h / 7 d, who was on at an instant,
// unique users per day, top apps, browsers and operating systems.
import { api, withQuery } from "./api.js";
import {
  byId,
  fillTable,
  formatCount,
  formatDay,
  formatTime,
  fromLocalInput,
  setText,
  toLocalInput,
  userOf,
} from "./dom.js";

const RANGES = {
  "1h": { ms: 3_600_000, step: "1m" },
  "24h": { ms: 86_400_000, step: "5m" },
  "7d": { ms: 7 * 86_400_000, step: "1h" },
};
const TOP = 10;

/**
 * Starts the section; resolves to false (and shows the notice) when the server has no history.
 * `wire` is called once the history is known to answer, before the section is shown, so no control
 * is visible before it does something.
 */
export async function startHistory(served, wire = () => {}) {
  let range = "24h";
  let chart = null;
  /** The x range in seconds, [from, to] of the last load. */
  let xRange = [0, 1];
  /** Numbers of the latest chart load and "who was on" question. */
  let chartSeq = 0;
  let activeSeq = 0;

  if (!served) {
    byId("history-off").hidden = false;
    return false;
  }
  try {
    await loadChart();
  } catch (error) {
    byId("history-off").hidden = false;
    if (error.status !== 404 && error.status !== 503)
      setText("history-off", `History is unavailable: ${error.message}`);
    return false;
  }
  for (const button of document.querySelectorAll("[data-range]")) {
    button.addEventListener("click", () => {
      range = button.dataset.range;
      for (const b of document.querySelectorAll("[data-range]"))
        b.setAttribute("aria-pressed", String(b === button));
      refresh().catch(showError);
    });
  }
  byId("at-form").addEventListener("submit", (event) => {
    event.preventDefault();
    showActive(fromLocalInput(byId("at-input").value)).catch(showError);
  });
  byId("at-input").value = toLocalInput(Date.now());
  window.addEventListener("resize", () => chart?.setSize(chartSize()));
  wire();
  byId("history-on").hidden = false;
  // The chart is sized from its box, which only has a width once shown.
  await loadChart();
  await showActive(Date.now());
  await Promise.all([loadDaily(), loadUsage()]);
  setInterval(() => refresh().catch(() => {}), 60_000);
  return true;

  function showError(error) {
    setText("at-summary", `History query failed: ${error.message}`);
  }

  async function refresh() {
    await Promise.all([loadChart(), loadUsage(), loadDaily()]);
  }

  function chartSize() {
    const box = byId("chart-concurrency");
    return { width: Math.max(280, box.clientWidth), height: box.clientWidth < 500 ? 200 : 260 };
  }

  async function loadChart() {
    // Only the newest load is drawn: an older answer (the minute's refresh, a range clicked before)
    // that comes back later is dropped.
    const seq = ++chartSeq;
    const shown = range;
    const to = Date.now();
    const { ms, step } = RANGES[shown];
    const { points } = await api(withQuery("/api/history/concurrency", { from: to - ms, to, step }));
    if (seq !== chartSeq) return;
    const data = [
      points.map((p) => Date.parse(p.t) / 1000),
      points.map((p) => p.sessions),
      points.map((p) => p.users),
    ];
    // The last step runs until now: repeat its values at `to`, so the chart's right edge is now.
    const last = points.at(-1);
    if (last !== undefined) {
      data[0].push(to / 1000);
      data[1].push(last.sessions);
      data[2].push(last.users);
    }
    xRange = [(to - ms) / 1000, to / 1000];
    if (byId("history-on").hidden) return;
    if (chart === null) chart = createChart(data);
    else chart.setData(data);
    // Which range the chart shows now (the range buttons answer before the data is back).
    byId("chart-concurrency").dataset.range = shown;
  }

  function createChart(data) {
    const css = getComputedStyle(document.documentElement);
    const color = (name) => css.getPropertyValue(name).trim();
    const axis = {
      stroke: color("--muted"),
      grid: { stroke: color("--grid") },
      ticks: { stroke: color("--grid") },
    };
    const plot = new window.uPlot(
      {
        ...chartSize(),
        cursor: { drag: { x: false, y: false } },
        scales: {
          x: { time: true, range: () => xRange },
          y: { range: (_u, _min, max) => [0, Math.max(4, Math.ceil(max * 1.15))] },
        },
        series: [
          { label: "Time" },
          {
            label: "Sessions",
            stroke: color("--accent"),
            fill: color("--accent-fill"),
            width: 2,
            points: { show: false },
            paths: window.uPlot.paths.stepped({ align: 1 }),
          },
          {
            label: "Users",
            stroke: color("--accent2"),
            width: 2,
            points: { show: false },
            paths: window.uPlot.paths.stepped({ align: 1 }),
          },
        ],
        // Counts: whole-number ticks only.
        axes: [
          axis,
          { ...axis, size: 40, incrs: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10_000] },
        ],
      },
      data,
      byId("chart-concurrency"),
    );
    // The click's own position (uPlot's cursor may not have caught up with the pointer yet).
    plot.over.addEventListener("click", (event) => {
      const left = event.clientX - plot.over.getBoundingClientRect().left;
      const seconds = plot.posToVal(left, "x");
      if (!Number.isFinite(seconds) || left < 0) return;
      const at = Math.round(seconds) * 1000;
      byId("at-input").value = toLocalInput(at);
      showActive(at).catch(showError);
    });
    return plot;
  }

  async function showActive(at) {
    // As for the chart: an answer to an earlier question is dropped.
    const seq = ++activeSeq;
    if (Number.isNaN(at)) return setText("at-summary", "Type a date and time.");
    const answer = await api(withQuery("/api/history/active", { at }));
    if (seq !== activeSeq) return;
    const table = byId("at-table");
    fillTable(table, answer.sessions, (s) => [
      userOf(s),
      s.host,
      formatTime(s.since),
      s.apps.length ? s.apps.map((a) => a.appName || a.appId).join(", ") : "no app open",
    ]);
    table.hidden = answer.count === 0;
    const when = formatTime(at);
    setText(
      "at-summary",
      answer.count === 0
        ? `Nobody was on at ${when}.`
        : `${answer.count} session${answer.count === 1 ? "" : "s"} open at ${when}:`,
    );
  }

  async function loadDaily() {
    const start = new Date();
    start.setHours(0, 0, 0, 0);
    const from = start.getTime() - 6 * 86_400_000;
    const { points } = await api(withQuery("/api/history/concurrency", { from, to: Date.now(), step: "1d" }));
    fillTable(byId("daily-table"), [...points].reverse(), (p) => [
      formatDay(Date.parse(p.t)),
      formatCount(p.users),
      formatCount(p.sessions),
    ]);
  }

  async function loadUsage() {
    const to = Date.now();
    const from = to - RANGES[range].ms;
    const [apps, browsers, oses] = await Promise.all(
      // Browsers and systems by major version ("Chrome 120", "Windows 10"), reference §19.
      ["app", "browserVersion", "osVersion"].map((by) =>
        api(withQuery("/api/history/usage", { from, to, bucket: "day", by })),
      ),
    );
    fillTable(byId("apps-table"), top(apps.rows), (r) => [
      { text: r.appName || r.key, title: r.key },
      formatCount(r.users),
      formatCount(r.connections),
    ]);
    fillTable(byId("browser-table"), top(browsers.rows, true), (r) => [
      r.key || "unknown",
      formatCount(r.users),
      formatCount(r.sessions),
    ]);
    fillTable(byId("os-table"), top(oses.rows, true), (r) => [
      r.key || "unknown",
      formatCount(r.users),
      formatCount(r.sessions),
    ]);
  }
}

/**
 * Adds up usage rows per key over the buckets: sessions and connections are summed; users is the
 * busiest bucket's count (a user on two days is one user, so the per-day counts cannot be added).
 */
function top(rows, unknownLast = false) {
  const byKey = new Map();
  for (const r of rows) {
    const t = byKey.get(r.key) ?? { key: r.key, appName: r.appName, users: 0, sessions: 0, connections: 0 };
    t.users = Math.max(t.users, r.uniqueUsers);
    t.sessions += r.sessions;
    t.connections += r.connections;
    t.appName ||= r.appName;
    byKey.set(r.key, t);
  }
  const rank = (t) => (unknownLast && t.key === "unknown" ? 1 : 0);
  return [...byKey.values()]
    .sort(
      (a, b) =>
        rank(a) - rank(b) || b.users - a.users || b.connections - a.connections || b.sessions - a.sessions,
    )
    .slice(0, TOP);
}
