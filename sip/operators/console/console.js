// Operator console of the edge (design section 8): plain JavaScript
// modules, no build step, nothing from other origins. This module wires
// the others: the key, the workspace banner, the live event stream.
//
//   api.js          the operator API, the key (header only) and SSE over fetch
//   state.js        what the console knows, and its change bus
//   board.js        the live board of calls and the caller's projection
//   escalations.js  the escalation queue, its alert and beep
//   session.js      joining, modes, mute, leaving, keyboard shortcuts
//   meters.js       per-party audio level meters while joined
import { state, on, say } from "./state.js";
import { hasKey, setKey, getJSON, readSSE } from "./api.js";
import { loadCalls, renderBoard, tick, forgetCallers } from "./board.js";
import { addEscalation, removeCall, clearQueue, unlockAudio } from "./escalations.js";
import { setupSession, endSession, leave } from "./session.js";

const $ = (id) => document.getElementById(id);
let streamAbort = null;
let lastEventId = "";
let pollTimer = 0;
let refreshTimer = 0;

function scheduleRefresh() {
  clearTimeout(refreshTimer);
  refreshTimer = setTimeout(loadCalls, 150);
}

// showWorkspace puts the workspace's name and environment in the header;
// a production workspace gets a red banner and its name in the title.
function showWorkspace(ws) {
  state.workspace = ws;
  const env = ws ? ws.environment : "";
  document.body.dataset.environment = env;
  $("ws-name").textContent = ws ? ws.name : "Not connected";
  $("ws-env").textContent = env ? env.toUpperCase() : "";
  $("ws-env").className = "env-badge env-" + (env || "none");
  $("ws-env").hidden = !env;
  $("ws-account").textContent = ws ? "signed in as " + ws.account.name + " (" + ws.account.role + ")" : "";
  $("env-banner").hidden = env !== "production";
  $("env-banner-name").textContent = ws ? ws.name : "";
  document.title = (env === "production" ? "PRODUCTION · " : "") + (ws ? ws.name + " · " : "") + "Operator console";
  $("key-section").hidden = !!ws;
  $("forget").hidden = !ws;
}

function handleEvent(name, data, id) {
  if (id) lastEventId = id;
  if (name === "stream.closed") { say("The API key no longer works.", true); disconnect(); return; }
  let ev;
  try { ev = JSON.parse(data); } catch (_) { return; }
  switch (name) {
    case "call.escalation_requested":
      addEscalation(ev);
      say("Escalation requested on call " + ev.call_id);
      break;
    case "call.ended":
      if (state.current && state.current.callId === ev.call_id) endSession("The call ended.");
      removeCall(ev.call_id);
      break;
    case "operator.left":
      if (state.current && ev.data && ev.data.operator_id === state.current.operatorId) {
        endSession("You were taken off the call (" + (ev.data.reason || "left") + ").");
      }
      break;
  }
  scheduleRefresh();
}

async function followEvents() {
  if (streamAbort) streamAbort.abort();
  const ctl = new AbortController();
  streamAbort = ctl;
  while (!ctl.signal.aborted && hasKey()) {
    try {
      const headers = lastEventId ? { "Last-Event-ID": lastEventId } : {};
      // The first connection replays the last 15 minutes (escalations
      // still waiting); reconnections resume after the last event seen.
      await readSSE("/v1/events/stream" + (lastEventId ? "" : "?since=900"), headers, ctl.signal, handleEvent);
    } catch (e) {
      if (ctl.signal.aborted) return;
      if (e.status === 401 || e.status === 403) { say("Live updates stopped: " + e.message, true); return; }
    }
    await new Promise((r) => setTimeout(r, 2000));
    loadCalls();
  }
}

async function connect() {
  if (!hasKey()) return;
  say("Connecting…");
  try {
    showWorkspace(await getJSON("/v1/workspace"));
  } catch (e) {
    say("Could not connect: " + e.message, true);
    if (e.status === 401) { setKey(""); showWorkspace(null); }
    return;
  }
  say("Connected. Following calls…");
  loadCalls();
  followEvents();
  clearInterval(pollTimer);
  pollTimer = setInterval(loadCalls, 10000);
}

function disconnect() {
  if (streamAbort) streamAbort.abort();
  streamAbort = null;
  clearInterval(pollTimer);
}

$("key-form").addEventListener("submit", (e) => {
  e.preventDefault();
  const k = $("api-key").value.trim();
  $("api-key").value = "";
  if (!k) return;
  unlockAudio(); // a user gesture: the escalation beep may play from now on
  setKey(k);
  lastEventId = "";
  connect();
});
$("forget").addEventListener("click", async () => {
  await leave();
  disconnect();
  setKey("");
  state.calls = [];
  state.callsLoaded = false;
  forgetCallers();
  clearQueue();
  showWorkspace(null);
  renderBoard();
  say("Key forgotten.");
});
$("refresh").addEventListener("click", loadCalls);
on("unauthorized", () => { disconnect(); say("The API key no longer works.", true); });
on("changed", scheduleRefresh);
on("session", scheduleRefresh);

setupSession();
setInterval(tick, 1000);
showWorkspace(null);
renderBoard();
if (hasKey()) connect();
