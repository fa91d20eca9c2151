import uplotJs from "uplot/dist/uPlot.iife.min.js" with { type: "text" };
import uplotCss from "uplot/dist/uPlot.min.css" with { type: "text" };
import apiJs from "./client/api.js" with { type: "text" };
import domJs from "./client/dom.js" with { type: "text" };
import healthJs from "./client/health.js" with { type: "text" };
import historyJs from "./client/history.js" with { type: "text" };
import mainJs from "./client/main.js" with { type: "text" };
import nowJs from "./client/now.js" with { type: "text" };
import searchJs from "./client/search.js" with { type: "text" };
import styleCss from "./style.css" with { type: "text" };
import tablesCss from "./tables.css" with { type: "text" };

/** One embedded file of the dashboard. */
export interface Asset {
  body: string;
  contentType: string;
}

const JS = "text/javascript; charset=utf-8";
const CSS = "text/css; charset=utf-8";

/** The files under `/assets/`, embedded in the executable as text (uPlot comes from node_modules). */
export const ASSETS: ReadonlyMap<string, Asset> = new Map([
  ["uplot.js", { body: uplotJs, contentType: JS }],
  ["uplot.css", { body: uplotCss, contentType: CSS }],
  ["style.css", { body: styleCss, contentType: CSS }],
  ["tables.css", { body: tablesCss, contentType: CSS }],
  ["main.js", { body: mainJs, contentType: JS }],
  ["api.js", { body: apiJs, contentType: JS }],
  ["dom.js", { body: domJs, contentType: JS }],
  ["now.js", { body: nowJs, contentType: JS }],
  ["health.js", { body: healthJs, contentType: JS }],
  ["history.js", { body: historyJs, contentType: JS }],
  ["search.js", { body: searchJs, contentType: JS }],
]);
