// Dashboard entry point: asks for the token when the API wants one (showing nothing before), then
// starts the Now, History and Health sections and polls /health and /api/stats.
import { api, clearToken, setToken, token, Unauthorized } from "./api.js";
import { byId, setText } from "./dom.js";
import { startHealth } from "./health.js";
import { startHistory } from "./history.js";
import { startNow } from "./now.js";
import { startSearch } from "./search.js";

const status = { health: "…", stream: "connecting" };

function showStatus() {
  const pill = byId("status");
  pill.textContent = `${status.health} · ${status.stream}`;
  pill.className = `pill state-${status.health}`;
}

/** Shows the token form and resolves once the API accepts the token typed in. */
function askToken() {
  byId("main").hidden = true;
  byId("nav").hidden = true;
  const form = byId("login");
  const input = byId("token");
  form.hidden = false;
  setText("status", "token needed");
  input.focus();
  return new Promise((resolve) => {
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      setToken(input.value);
      try {
        const info = await api("/api/dashboard");
        form.hidden = true;
        input.value = "";
        resolve(info);
      } catch (error) {
        clearToken();
        setText(
          "login-error",
          error instanceof Unauthorized
            ? "This token is not accepted."
            : `The server did not answer: ${error.message}`,
        );
        input.select();
      }
    });
  });
}

/** Fills in the empty state's commands with this server's UDP address and port. */
function showEmpty(info, health) {
  const address = health.udp.address ?? "";
  const colon = address.lastIndexOf(":");
  const port = colon >= 0 ? address.slice(colon + 1) : "9997";
  let host = colon >= 0 ? address.slice(0, colon).replace(/^\[|\]$/g, "") : "";
  const loopback = (h) => h === "localhost" || h.startsWith("127.") || h === "::1";
  // A wildcard or loopback bind: the proxy must use a name it can reach this machine by.
  if (host === "" || host === "0.0.0.0" || host === "::" || loopback(host))
    host = loopback(location.hostname) ? info.hostname : location.hostname;
  setText("empty-udp", address || "(not listening)");
  setText("empty-cmd", `sense-events appender-xml --address ${host} --port ${port} > LocalLogConfig.xml`);
  setText("empty-test", `sense-events send-test-events --to ${host}:${port}`);
}

async function boot() {
  let info;
  try {
    const auth = await (await fetch("/dashboard/auth", { cache: "no-store" })).json();
    info = auth.tokenRequired && token() === null ? await askToken() : await api("/api/dashboard");
  } catch (error) {
    if (!(error instanceof Unauthorized)) {
      setText("status", `API unavailable: ${error.message}`);
      return;
    }
    // A token kept from before that the server no longer accepts.
    clearToken();
    info = await askToken();
  }
  byId("main").hidden = false;
  byId("nav").hidden = false;
  let empty = true;
  const now = startNow({
    onEvent() {
      if (empty) {
        empty = false;
        byId("empty").hidden = true;
      }
    },
    onState(state) {
      if (state === "unauthorized") {
        clearToken();
        location.reload();
        return;
      }
      status.stream = state;
      showStatus();
    },
  });
  const health = startHealth({ recentHosts: () => now.hosts(), hostsApi: info.hosts });

  async function poll() {
    const [h, stats] = await Promise.all([
      fetch("/health", { cache: "no-store" }).then((r) => r.json()),
      api("/api/stats"),
    ]);
    status.health = h.status;
    showStatus();
    setText("version", `sense-events ${h.version}`);
    health.update(h, stats);
    now.updateStats(stats);
    if (empty && stats.datagrams.received === 0 && stats.events.stored === 0) {
      showEmpty(info, h);
      byId("empty").hidden = false;
    } else if (empty) {
      empty = false;
      byId("empty").hidden = true;
    }
    return stats.datagrams.accepted;
  }

  // Proxy nodes are re-read when events arrived since, and at least every 30 s (for the silent mark).
  let hostsAt = 0;
  let hostsAccepted = -1;
  async function pollHosts(accepted) {
    if (accepted === hostsAccepted && Date.now() - hostsAt < 30_000) return;
    hostsAt = Date.now();
    hostsAccepted = accepted;
    await health.loadHosts();
  }

  const accepted = await poll();
  setInterval(
    () =>
      poll()
        .then(pollHosts)
        .catch(() => {
          // The server is down or restarting: say so until the next poll answers.
          status.health = "unavailable";
          showStatus();
        }),
    5000,
  );
  await now.start();
  await pollHosts(accepted).catch(() => {});
  await startHistory(info.history, startSearch);
}

boot().catch((error) => setText("status", `dashboard error: ${error.message}`));
