// Event search over a time range (history API), paged with `next`, and the same search as CSV.
import { api, apiResponse, token, withQuery } from "./api.js";
import {
  browserOf,
  byId,
  fillTable,
  formatTime,
  fromLocalInput,
  row,
  setText,
  toLocalInput,
  userOf,
} from "./dom.js";

/** Wires the search form; call once the history section is known to be on. */
export function startSearch() {
  const form = byId("search-form");
  const table = byId("search-table");
  const more = byId("search-more");
  let next = null;
  let shown = 0;

  const now = Date.now();
  form.elements.from.value = toLocalInput(now - 86_400_000);
  form.elements.to.value = toLocalInput(now + 60_000);

  function params() {
    const f = form.elements;
    const from = fromLocalInput(f.from.value);
    const to = fromLocalInput(f.to.value);
    return {
      from: Number.isNaN(from) ? undefined : from,
      to: Number.isNaN(to) ? undefined : to,
      user: f.user.value.trim(),
      host: f.host.value.trim(),
      action: f.action.value,
      appId: f.appId.value.trim(),
    };
  }

  const cells = (e) => [
    formatTime(e.receivedAt),
    e.action,
    userOf(e),
    e.host,
    { text: e.appName || e.appId || "–", title: e.appId ?? "" },
    browserOf(e),
  ];

  async function search(cursor) {
    const answer = await api(withQuery("/api/history/events", { ...params(), limit: 100, cursor }));
    if (cursor === undefined) {
      fillTable(table, answer.events, cells);
      shown = answer.events.length;
    } else {
      table.tBodies[0].append(...answer.events.map((e) => row(table, cells(e))));
      shown += answer.events.length;
    }
    next = answer.next ?? null;
    table.hidden = shown === 0;
    more.hidden = next === null;
    setText(
      "search-summary",
      shown === 0
        ? "No event matches."
        : `${shown} event${shown === 1 ? "" : "s"}${next === null ? "" : " (more available)"}, newest first.`,
    );
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    search(undefined).catch((error) => setText("search-summary", `Search failed: ${error.message}`));
  });
  more.addEventListener("click", () => {
    if (next !== null)
      search(next).catch((error) => setText("search-summary", `Search failed: ${error.message}`));
  });
  byId("search-csv").addEventListener("click", () => {
    downloadCsv(withQuery("/api/history/events", { ...params(), format: "csv" })).catch((error) =>
      setText("search-summary", `Download failed: ${error.message}`),
    );
  });
}

/**
 * Saves the CSV export. Without a token the browser downloads the URL itself (streamed to disk); with a
 * token it must be fetched (the header cannot go on a link), then handed over as a blob.
 */
async function downloadCsv(url) {
  const link = document.createElement("a");
  link.download = `sense-events-${new Date().toISOString().slice(0, 19).replaceAll(":", "")}.csv`;
  if (token() === null) {
    link.href = url;
    link.click();
    return;
  }
  const blob = await (await apiResponse(url)).blob();
  link.href = URL.createObjectURL(blob);
  link.click();
  setTimeout(() => URL.revokeObjectURL(link.href), 10_000);
}
