// The escalation queue: requests for a human on live calls, with a visible
// alert and an audible one (a beep made with WebAudio, no sound file),
// and a one-click join in the mode the request asks (listen when none).
import { state, emit, on, callById, operatorName } from "./state.js";
import { el } from "./api.js";

const MODES = ["listen", "whisper", "barge"];
const REMIND_MS = 20000; // the beep repeats while a request waits
const queue = new Map(); // event id -> escalation event
let audio = null;        // AudioContext, made on a user gesture
let remindTimer = 0;
let beeped = new Set();  // event ids already announced

// unlockAudio makes (or resumes) the AudioContext; call it from a user
// gesture (the Connect button), as browsers require before sound plays.
export function unlockAudio() {
  const AC = window.AudioContext || window.webkitAudioContext;
  if (!AC) return;
  if (!audio) audio = new AC();
  if (audio.state === "suspended") audio.resume().catch(() => {});
}

// beep plays two short 880 Hz tones with soft edges.
export function beep() {
  if (!audio) unlockAudio();
  if (!audio) return;
  const t0 = audio.currentTime + 0.02;
  for (const start of [t0, t0 + 0.25]) {
    const osc = audio.createOscillator();
    const gain = audio.createGain();
    osc.type = "sine";
    osc.frequency.value = 880;
    gain.gain.setValueAtTime(0, start);
    gain.gain.linearRampToValueAtTime(0.25, start + 0.01);
    gain.gain.setValueAtTime(0.25, start + 0.15);
    gain.gain.linearRampToValueAtTime(0, start + 0.17);
    osc.connect(gain).connect(audio.destination);
    osc.start(start);
    osc.stop(start + 0.2);
  }
  const alert = document.getElementById("esc-alert");
  alert.dataset.beeps = String(Number(alert.dataset.beeps || 0) + 1);
}

export function addEscalation(ev) {
  queue.set(ev.id, ev);
  render();
}

export function removeCall(callId) {
  for (const [id, ev] of queue) if (ev.call_id === callId) queue.delete(id);
  render();
}

export function clearQueue() {
  queue.clear();
  beeped = new Set();
  render();
}

function requestedMode(ev) {
  const m = ev.data && ev.data.mode;
  return MODES.includes(m) ? m : "listen";
}

// waiting returns the escalations still waiting for an operator, oldest
// first: their call is live and nobody is on it.
export function waiting() {
  return [...queue.values()].filter((ev) => {
    const c = callById(ev.call_id);
    return c && (!c.operators || c.operators.length === 0);
  });
}

export function joinFirstWaiting() {
  const w = waiting();
  if (w.length > 0 && !state.current) emit("join", { callId: w[0].call_id, mode: requestedMode(w[0]) });
}

// markRows highlights the board's rows of calls waiting for a human.
function markRows(w) {
  const ids = new Set(w.map((ev) => ev.call_id));
  for (const tr of document.querySelectorAll("#calls tbody tr")) {
    const on = ids.has(tr.dataset.callId);
    tr.classList.toggle("escalated", on);
    const cell = tr.querySelector(".caller");
    const badge = cell && cell.querySelector(".needs-human");
    if (on && cell && !badge) cell.appendChild(el("span", "badge needs-human", "needs a human"));
    if (!on && badge) badge.remove();
  }
}

function render() {
  const list = document.getElementById("escalations");
  list.replaceChildren();
  const items = [...queue.values()].filter((ev) => !state.callsLoaded || callById(ev.call_id));
  for (const ev of items) {
    const c = callById(ev.call_id);
    const data = ev.data || {};
    const mode = requestedMode(ev);
    const answeredBy = c && c.operators && c.operators.length > 0 ? c.operators.map(operatorName).join(", ") : "";
    const li = el("li", answeredBy ? "answered" : "waiting");
    li.dataset.callId = ev.call_id;
    li.dataset.mode = mode;
    const head = el("div", "esc-head");
    head.append(el("time", "", ev.time ? new Date(ev.time).toLocaleTimeString() : ""),
      el("strong", "", c ? (c.from || "unknown caller") : ev.call_id),
      el("span", "muted-text", c ? " → " + (c.service_name || c.service_id) : ""));
    const reason = el("p", "reason", data.reason || "no reason given");
    const source = { service: "the agent", api: "the API" }[data.source] || data.source || "unknown";
    const meta = el("p", "muted-text", "asked by " + source +
      " · wants " + mode + (answeredBy ? " · answered by " + answeredBy : " · waiting"));
    li.append(head, reason, meta);
    if (!answeredBy) {
      const btn = el("button", "esc-join primary", "Join (" + mode + ")");
      btn.type = "button";
      btn.dataset.callId = ev.call_id;
      btn.dataset.mode = mode;
      btn.disabled = !!state.current;
      btn.setAttribute("aria-label", "Join escalated call " + ev.call_id + " in " + mode + " mode");
      btn.addEventListener("click", () => emit("join", { callId: ev.call_id, mode }));
      li.appendChild(btn);
    }
    list.appendChild(li);
  }
  document.getElementById("no-escalations").hidden = items.length > 0;
  const w = waiting();
  const alert = document.getElementById("esc-alert");
  alert.hidden = w.length === 0;
  document.getElementById("esc-alert-text").textContent =
    w.length === 1 ? "1 caller is waiting for a human" : w.length + " callers are waiting for a human";
  document.body.classList.toggle("escalating", w.length > 0);
  markRows(w);
  const fresh = w.filter((ev) => !beeped.has(ev.id));
  if (fresh.length > 0) {
    for (const ev of fresh) beeped.add(ev.id);
    beep();
  }
  clearInterval(remindTimer);
  if (w.length > 0) remindTimer = setInterval(() => { if (waiting().length > 0) beep(); }, REMIND_MS);
}

on("calls", render);
on("rows", () => markRows(waiting()));
on("session", render);
