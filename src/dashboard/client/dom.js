// DOM helpers of the dashboard. Values from the network only ever become text nodes or `textContent`:
// nothing here parses HTML.

/** The element with `id` (throws when the page and the script disagree). */
export function byId(id) {
  const element = document.getElementById(id);
  if (element === null) throw new Error(`dashboard: no #${id}`);
  return element;
}

/** Sets the text of the element with `id`. */
export function setText(id, value) {
  byId(id).textContent = String(value);
}

/** Creates an element with a class (optional) and text or child nodes. */
export function el(tag, className, ...children) {
  const element = document.createElement(tag);
  if (className) element.className = className;
  for (const child of children) {
    if (child === null || child === undefined) continue;
    element.append(typeof child === "string" || typeof child === "number" ? String(child) : child);
  }
  return element;
}

/**
 * One table row; each cell is text, a node, or `{ text, className, title }`. Cells get the column name
 * as `data-label`, which the narrow layout shows in front of the value.
 */
export function row(table, cells) {
  const labels = [...table.querySelectorAll("thead th")].map((th) => th.textContent ?? "");
  const tr = document.createElement("tr");
  cells.forEach((cell, i) => {
    const td = document.createElement("td");
    td.dataset.label = labels[i] ?? "";
    const th = table.querySelectorAll("thead th")[i];
    if (th?.classList.contains("num")) td.classList.add("num");
    if (cell instanceof Node) td.append(cell);
    else if (cell !== null && typeof cell === "object") {
      td.textContent = cell.text;
      if (cell.className) td.classList.add(...cell.className.split(" "));
      if (cell.title) td.title = cell.title;
    } else td.textContent = cell === null || cell === undefined ? "–" : String(cell);
    tr.append(td);
  });
  return tr;
}

/** Replaces the body of `table` with one row per item. */
export function fillTable(table, items, toCells) {
  const body = table.tBodies[0];
  body.replaceChildren(...items.map((item) => row(table, toCells(item))));
}

const pad = (n, width = 2) => String(n).padStart(width, "0");

/** Local date `YYYY-MM-DD`. */
export function formatDay(ms) {
  const d = new Date(ms);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
}

/** Local time `HH:MM:SS`, preceded by the date when it is not today. */
export function formatTime(value) {
  const ms = typeof value === "number" ? value : Date.parse(value);
  if (Number.isNaN(ms)) return "–";
  const d = new Date(ms);
  const time = `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
  return formatDay(ms) === formatDay(Date.now()) ? time : `${formatDay(ms)} ${time}`;
}

/** The value of a `datetime-local` input for an instant (local time, seconds). */
export function toLocalInput(ms) {
  const d = new Date(ms);
  return `${formatDay(ms)}T${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

/** Epoch ms of a `datetime-local` value (local time), or NaN. */
export function fromLocalInput(value) {
  return value ? new Date(value).getTime() : Number.NaN;
}

/** A whole number with thousands separators. */
export function formatCount(n) {
  return typeof n === "number" ? n.toLocaleString("en-US") : "–";
}

/** `1 d 2 h`, `3 h 4 min`, `5 min`. */
export function formatDuration(seconds) {
  const d = Math.floor(seconds / 86400);
  const h = Math.floor((seconds % 86400) / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  if (d > 0) return `${d} d ${h} h`;
  if (h > 0) return `${h} h ${m} min`;
  return `${m} min`;
}

/** `DIR\ID`, or the id alone without a directory. */
export function userOf(e) {
  return e.userDirectory ? `${e.userDirectory}\\${e.userId}` : e.userId || "–";
}

/** Browser and OS of an event, e.g. `Chrome 119 · Windows 10`. */
export function browserOf(e) {
  const ua = e.userAgent;
  if (!ua) return "–";
  const browser = [ua.browserName, ua.browserMajorVersion].filter(Boolean).join(" ");
  const os = [ua.osName, ua.osVersion].filter(Boolean).join(" ");
  return [browser, os].filter(Boolean).join(" · ") || "–";
}
