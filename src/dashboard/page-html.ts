/**
 * The dashboard page (reference §20): static markup only. Every value shown is filled in by the
 * scripts under /assets/ with `textContent`, never by building HTML from data.
 */
export const PAGE_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<title>sense-events</title>
<link rel="icon" href="/favicon.ico" type="image/svg+xml">
<link rel="stylesheet" href="/assets/uplot.css">
<link rel="stylesheet" href="/assets/style.css">
<link rel="stylesheet" href="/assets/tables.css">
<script src="/assets/uplot.js" defer></script>
<script type="module" src="/assets/main.js"></script>
</head>
<body>
<a class="skip" href="#main">Skip to content</a>
<header class="top">
  <h1>sense-events</h1>
  <nav aria-label="Sections" id="nav" hidden>
    <a href="#now">Now</a><a href="#history">History</a><a href="#health">Health</a>
  </nav>
  <p id="status" class="pill" role="status">loading…</p>
</header>

<form id="login" class="login" hidden>
  <h2>API token</h2>
  <p>This server asks for its API token (<code>sense-events.api.token</code>). It is kept for this browser tab only.</p>
  <label for="token">Token</label>
  <input id="token" name="token" type="password" autocomplete="current-password" required>
  <button type="submit">Open the dashboard</button>
  <p id="login-error" class="error" role="alert"></p>
</form>

<main id="main" hidden>
<section id="empty" class="empty" hidden aria-labelledby="empty-h">
  <h2 id="empty-h">No events yet</h2>
  <p>sense-events listens for Qlik Sense user events on UDP <strong id="empty-udp">–</strong>, but none has
    arrived. On every Qlik Sense proxy node, save the appender configuration this command prints as
    <code>C:\\ProgramData\\Qlik\\Sense\\Proxy\\LocalLogConfig.xml</code>; the proxy picks it up within a minute.</p>
  <pre><code id="empty-cmd"></code></pre>
  <p>To check this receiver without Sense, send a few simulated events from any machine:</p>
  <pre><code id="empty-test"></code></pre>
</section>

<section id="now" aria-labelledby="now-h">
  <h2 id="now-h">Now</h2>
  <dl class="cards">
    <div class="card"><dt>Active sessions</dt><dd id="now-sessions">–</dd></div>
    <div class="card"><dt>Users on</dt><dd id="now-users">–</dd></div>
    <div class="card"><dt>Events per minute</dt><dd id="now-rate">–</dd></div>
    <div class="card"><dt>Events accepted</dt><dd id="now-accepted">–</dd></div>
  </dl>
  <h3>Active sessions <span id="sessions-count" class="count"></span></h3>
  <table class="rows" id="sessions-table">
    <thead><tr><th scope="col">User</th><th scope="col">Host</th><th scope="col">Since</th><th scope="col">Connections</th><th scope="col">Apps</th></tr></thead>
    <tbody></tbody>
  </table>
  <p id="sessions-none" class="muted" hidden>Nobody is on Sense right now.</p>
  <h3>Live events</h3>
  <div class="toolbar">
    <label for="feed-filter">Filter</label>
    <input id="feed-filter" type="search" placeholder="user, host, app or action" autocomplete="off">
    <button id="feed-pause" type="button" aria-pressed="false">Pause</button>
    <span id="feed-state" class="muted" role="status"></span>
  </div>
  <div class="feed-box" tabindex="0" aria-label="Live events, newest first">
  <table class="rows" id="feed-table">
    <thead><tr><th scope="col">Time</th><th scope="col">Action</th><th scope="col">User</th><th scope="col">Host</th><th scope="col">App</th><th scope="col">Browser</th></tr></thead>
    <tbody id="feed"></tbody>
  </table>
  </div>
</section>

<section id="history" aria-labelledby="history-h">
  <h2 id="history-h">History</h2>
  <p id="history-off" class="notice" hidden>History is off or unavailable on this server: enable
    <code>sense-events.history</code> to see the past, who was on at a given time and to search events.</p>
  <div id="history-on" hidden>
    <div class="toolbar" role="group" aria-label="Range">
      <span>Range</span>
      <button type="button" data-range="1h" aria-pressed="false">Last hour</button>
      <button type="button" data-range="24h" aria-pressed="true">Last 24 h</button>
      <button type="button" data-range="7d" aria-pressed="false">Last 7 days</button>
    </div>
    <figure class="chart-box">
      <div id="chart-concurrency" class="chart"></div>
      <figcaption>Open sessions (peak) and distinct users per step. Click the chart to see who was on then.</figcaption>
    </figure>
    <h3 id="at-h">Who was on at</h3>
    <form id="at-form" class="toolbar" aria-labelledby="at-h">
      <label for="at-input">Time</label>
      <input id="at-input" type="datetime-local" step="1" required>
      <button type="submit">Show</button>
    </form>
    <p id="at-summary" role="status"></p>
    <table class="rows" id="at-table" hidden>
      <thead><tr><th scope="col">User</th><th scope="col">Host</th><th scope="col">Since</th><th scope="col">Apps open</th></tr></thead>
      <tbody></tbody>
    </table>
    <div class="grid">
      <div><h3>Unique users per day</h3>
        <table class="plain" id="daily-table"><thead><tr><th scope="col">Day</th><th scope="col" class="num">Users</th><th scope="col" class="num">Peak sessions</th></tr></thead><tbody></tbody></table></div>
      <div><h3>Top apps</h3>
        <table class="plain" id="apps-table"><thead><tr><th scope="col">App</th><th scope="col" class="num">Users</th><th scope="col" class="num">Connections</th></tr></thead><tbody></tbody></table></div>
      <div><h3>Browsers by major version</h3>
        <table class="plain" id="browser-table"><thead><tr><th scope="col">Browser</th><th scope="col" class="num">Users</th><th scope="col" class="num">Sessions</th></tr></thead><tbody></tbody></table></div>
      <div><h3>Operating systems by major version</h3>
        <table class="plain" id="os-table"><thead><tr><th scope="col">OS</th><th scope="col" class="num">Users</th><th scope="col" class="num">Sessions</th></tr></thead><tbody></tbody></table></div>
    </div>
    <h3 id="search-h">Event search</h3>
    <form id="search-form" class="search" aria-labelledby="search-h">
      <label>From <input name="from" type="datetime-local" step="1"></label>
      <label>To <input name="to" type="datetime-local" step="1"></label>
      <label>User <input name="user" type="text" placeholder="DIR\\ID or ID" autocomplete="off"></label>
      <label>Host <input name="host" type="text" autocomplete="off"></label>
      <label>Action <select name="action">
        <option value="">any</option><option>Start session</option><option>Stop session</option>
        <option>Open connection</option><option>Close connection</option></select></label>
      <label>App id <input name="appId" type="text" autocomplete="off"></label>
      <div class="buttons"><button type="submit">Search</button>
        <button type="button" id="search-csv">Download CSV</button></div>
    </form>
    <p id="search-summary" role="status"></p>
    <table class="rows" id="search-table" hidden>
      <thead><tr><th scope="col">Time</th><th scope="col">Action</th><th scope="col">User</th><th scope="col">Host</th><th scope="col">App</th><th scope="col">Browser</th></tr></thead>
      <tbody></tbody>
    </table>
    <button type="button" id="search-more" hidden>More</button>
  </div>
</section>

<section id="health" aria-labelledby="health-h">
  <h2 id="health-h">Health</h2>
  <dl class="cards">
    <div class="card"><dt>Status</dt><dd id="health-status">–</dd></div>
    <div class="card"><dt>UDP</dt><dd id="health-udp">–</dd></div>
    <div class="card"><dt>Kernel drops</dt><dd id="health-kernel">–</dd></div>
    <div class="card"><dt>Uptime</dt><dd id="health-uptime">–</dd></div>
  </dl>
  <div class="grid">
    <div><h3>Datagrams</h3>
      <table class="plain" id="counters-table"><thead><tr><th scope="col">Outcome</th><th scope="col" class="num">Count</th></tr></thead><tbody></tbody></table></div>
    <div><h3>Destinations</h3>
      <table class="rows" id="dest-table"><thead><tr><th scope="col">Destination</th><th scope="col">State</th><th scope="col" class="num">Queued</th><th scope="col" class="num">Sent</th><th scope="col">Last error</th></tr></thead><tbody></tbody></table>
      <p id="dest-none" class="muted" hidden>No destination is configured: events are only kept here.</p></div>
  </div>
  <h3>Proxy nodes</h3>
  <table class="rows" id="hosts-table"><thead><tr><th scope="col">Host</th><th scope="col">Last event</th><th scope="col" class="num">Last hour</th><th scope="col" class="num">Last day</th><th scope="col">Status</th></tr></thead><tbody></tbody></table>
  <p id="hosts-note" class="muted"></p>
</section>
</main>
<footer class="foot"><span id="version"></span></footer>
</body>
</html>
`;
