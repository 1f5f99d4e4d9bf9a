// The live board of the workspace's calls, with a ticking duration, who is
// on each call and in which mode, and the caller's projection (previous
// calls, escalations) beside the selected call.
import { state, emit, on, callById, operatorName, say } from "./state.js";
import { getJSON, el, duration } from "./api.js";

const MODES = ["listen", "whisper", "barge"];
const tbody = () => document.querySelector("#calls tbody");
const callers = new Map(); // call id -> caller view, or a Promise while loading

export async function loadCalls() {
  try {
    const body = await getJSON("/v1/calls");
    // Oldest first, in a stable order: rows do not move between refreshes.
    state.calls = (body.items || []).sort((x, y) =>
      (Date.parse(x.started_at) - Date.parse(y.started_at)) || (x.id < y.id ? -1 : x.id > y.id ? 1 : 0));
    state.callsLoaded = true;
    for (const id of callers.keys()) if (!callById(id)) callers.delete(id); // ended calls
    renderBoard();
    emit("calls");
  } catch (e) {
    say("Could not list calls: " + e.message, true);
    if (e.status === 401) emit("unauthorized");
  }
}

function since(c) { return c.answered_at || c.started_at; }

function cell(content, cls) {
  const td = el("td", cls);
  if (content instanceof Node) td.appendChild(content);
  else td.textContent = content;
  return td;
}

function operatorsCell(c) {
  const td = el("td", "ops");
  if (!c.operators || c.operators.length === 0) {
    td.appendChild(el("span", "muted-text", "nobody"));
    return td;
  }
  for (const o of c.operators) {
    const chip = el("span", "chip mode-" + o.mode, operatorName(o) + " · " + o.mode + (o.muted ? " · muted" : ""));
    chip.dataset.operatorId = o.id;
    td.appendChild(chip);
  }
  return td;
}

function joinCell(c) {
  const td = el("td", "join-cell");
  const sel = el("select");
  sel.id = "mode-" + c.id;
  const lab = el("label", "visually-hidden", "Mode for call " + c.id);
  lab.htmlFor = sel.id;
  for (const m of MODES) {
    const o = el("option", "", m);
    o.value = m;
    sel.appendChild(o);
  }
  const btn = el("button", "join", "Join");
  btn.type = "button";
  btn.dataset.callId = c.id;
  btn.setAttribute("aria-label", "Join call " + c.id);
  btn.disabled = !!state.current;
  btn.addEventListener("click", (e) => { e.stopPropagation(); emit("join", { callId: c.id, mode: sel.value }); });
  sel.addEventListener("click", (e) => e.stopPropagation());
  td.append(lab, sel, btn);
  return td;
}

function callerCell(c) {
  const wrap = el("div", "caller");
  wrap.appendChild(el("span", "number", c.from || "unknown"));
  const v = callers.get(c.id);
  if (v && !(v instanceof Promise)) wrap.appendChild(historyBadge(v));
  return wrap;
}

function historyBadge(v) {
  if (!v.identified) return el("span", "badge", "number withheld");
  if (v.first_call) return el("span", "badge first", "first call");
  const n = v.previous_calls.length || Math.max(v.entity.calls - 1, 0);
  const b = el("span", "badge repeat", n + " previous call" + (n === 1 ? "" : "s"));
  if (v.entity.escalations > 0) b.textContent += " · " + v.entity.escalations + " escalated";
  return b;
}

export function renderBoard() {
  const rows = tbody();
  rows.replaceChildren();
  for (const c of state.calls) {
    const tr = el("tr");
    tr.dataset.callId = c.id;
    tr.tabIndex = 0;
    tr.classList.toggle("selected", c.id === state.selected);
    tr.classList.toggle("mine", !!state.current && state.current.callId === c.id);
    const dur = el("span", "duration");
    dur.dataset.since = since(c) || "";
    tr.append(cell(callerCell(c)), cell(c.to || ""), cell(c.service_name || c.service_id || ""),
      cell(el("span", "state state-" + c.state, c.state)), cell(dur, "num"), operatorsCell(c), joinCell(c));
    tr.addEventListener("click", () => select(c.id));
    tr.addEventListener("keydown", (e) => { if (e.key === "Enter") select(c.id); });
    rows.appendChild(tr);
    fetchCaller(c.id);
  }
  document.getElementById("calls-count").textContent = "(" + state.calls.length + ")";
  document.getElementById("no-calls").hidden = state.calls.length > 0;
  if (state.selected && !callById(state.selected)) state.selected = "";
  if (!state.selected && state.calls.length > 0) state.selected = state.calls[0].id;
  tick();
  renderCaller();
}

// tick updates every duration on the page, once a second.
export function tick() {
  const now = Date.now();
  for (const d of document.querySelectorAll("[data-since]")) {
    const t = Date.parse(d.dataset.since);
    d.textContent = isNaN(t) ? "" : duration((now - t) / 1000);
  }
}

export function select(callId) {
  state.selected = callId;
  for (const tr of tbody().children) tr.classList.toggle("selected", tr.dataset.callId === callId);
  renderCaller();
}

function fetchCaller(callId) {
  if (callers.has(callId)) return callers.get(callId);
  const p = getJSON("/v1/calls/" + encodeURIComponent(callId) + "/caller").then((v) => {
    callers.set(callId, v);
    const tr = tbody().querySelector('tr[data-call-id="' + CSS.escape(callId) + '"]');
    if (tr) tr.firstChild.replaceChildren(callerCell(callById(callId) || { id: callId, from: v.number }));
    emit("rows");
    if (state.selected === callId) renderCaller();
    return v;
  }).catch((e) => { callers.delete(callId); say("Could not read the caller of " + callId + ": " + e.message, true); });
  callers.set(callId, p);
  return p;
}

function fmtTime(s) { return s ? new Date(s).toLocaleString([], { dateStyle: "medium", timeStyle: "short" }) : "—"; }

function fact(dl, term, value) {
  dl.append(el("dt", "", term), el("dd", "", value));
}

// renderCaller shows the selected call's caller projection.
export function renderCaller() {
  const box = document.getElementById("caller");
  const body = document.getElementById("caller-body");
  const c = callById(state.selected);
  box.hidden = !c;
  if (!c) return;
  box.dataset.callId = c.id;
  document.getElementById("caller-number").textContent = c.from || "unknown";
  const v = callers.get(c.id);
  body.replaceChildren();
  if (!v || v instanceof Promise) { body.appendChild(el("p", "muted-text", "Loading…")); return; }
  body.appendChild(historyBadge(v));
  if (!v.identified) { body.appendChild(el("p", "muted-text", "The caller withheld the number: no history.")); return; }
  if (v.first_call) { body.appendChild(el("p", "", "No previous call from this number in this workspace.")); return; }
  const e = v.entity;
  const dl = el("dl", "facts");
  fact(dl, "Calls", String(e.calls));
  fact(dl, "Last call", fmtTime(e.last_call_at));
  fact(dl, "Talk time", duration(e.talk_time_seconds || 0));
  fact(dl, "Escalations", String(e.escalations));
  fact(dl, "Transfers", String(e.transfers));
  fact(dl, "Last service", e.last_service_id || "—");
  body.appendChild(dl);
  body.appendChild(el("h3", "", "Previous calls"));
  const ul = el("ul", "previous");
  for (const p of v.previous_calls) {
    const li = el("li");
    li.dataset.callId = p.call_id;
    li.append(el("span", "when", fmtTime(p.started_at)), el("span", "num", duration(p.duration_s || 0)),
      el("span", "", p.service_id || ""), el("span", "reason", (p.end_reason || "").replace(/_/g, " ")));
    ul.appendChild(li);
  }
  if (v.previous_calls.length === 0) ul.appendChild(el("li", "muted-text", "none listed"));
  body.appendChild(ul);
}

export function forgetCallers() { callers.clear(); }

on("session", renderBoard);
