// The operator session: joining a call over WebRTC, switching modes,
// muting and leaving, with keyboard shortcuts (L, W, B, M, Esc; J joins
// the oldest waiting escalation).
import { state, emit, on, say } from "./state.js";
import { api, authHeaders } from "./api.js";
import { startMeters, stopMeters } from "./meters.js";
import { joinFirstWaiting } from "./escalations.js";

const $ = (id) => document.getElementById(id);
const MODE_KEYS = { l: "listen", w: "whisper", b: "barge" };

function sessionSay(msg, isError) {
  $("session-state").textContent = msg;
  $("session-state").classList.toggle("error", !!isError);
}

// microphone returns the operator's microphone, or a silent track when
// there is none or it is refused (the operator can still listen).
async function microphone() {
  try {
    return { stream: await navigator.mediaDevices.getUserMedia({ audio: true, video: false }), silent: false };
  } catch (_) {
    const ctx = new (window.AudioContext || window.webkitAudioContext)();
    const dst = ctx.createMediaStreamDestination();
    const osc = ctx.createOscillator();
    const gain = ctx.createGain();
    gain.gain.value = 0;
    osc.connect(gain).connect(dst);
    osc.start();
    dst.stream.__ctx = ctx;
    return { stream: dst.stream, silent: true };
  }
}

function waitGathering(pc, ms) {
  if (pc.iceGatheringState === "complete") return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => { pc.removeEventListener("icegatheringstatechange", check); clearTimeout(t); resolve(); };
    const check = () => { if (pc.iceGatheringState === "complete") done(); };
    const t = setTimeout(done, ms);
    pc.addEventListener("icegatheringstatechange", check);
  });
}

function stopStream(stream) {
  for (const t of stream.getTracks()) t.stop();
  if (stream.__ctx) stream.__ctx.close();
}

export async function join(callId, mode) {
  if (state.current) { say("Leave the current call first.", true); return; }
  say("Joining call " + callId + " in " + mode + " mode…");
  const pc = new RTCPeerConnection({ iceServers: [] });
  let mic;
  try {
    mic = await microphone();
    for (const t of mic.stream.getAudioTracks()) pc.addTrack(t, mic.stream);
    pc.addEventListener("track", (e) => {
      $("remote-audio").srcObject = e.streams && e.streams[0] ? e.streams[0] : new MediaStream([e.track]);
      $("remote-audio").play().catch(() => { /* autoplay refused: the controls play it */ });
    });
    pc.addEventListener("connectionstatechange", () => {
      if (!state.current || state.current.pc !== pc) return;
      sessionSay("Connection: " + pc.connectionState, pc.connectionState === "failed");
      if (pc.connectionState === "failed") endSession("The connection failed.");
    });
    await pc.setLocalDescription(await pc.createOffer());
    await waitGathering(pc, 5000);
    const res = await api("/v1/calls/" + encodeURIComponent(callId) + "/operators?mode=" + encodeURIComponent(mode), {
      method: "POST", headers: { "Content-Type": "application/sdp" }, body: pc.localDescription.sdp,
    });
    const location = res.headers.get("Location");
    await pc.setRemoteDescription({ type: "answer", sdp: await res.text() });
    state.current = { callId, location, pc, stream: mic.stream, muted: false, mode, operatorId: location.split("/").pop() };
    state.selected = callId;
    $("session").hidden = false;
    $("session-call").textContent = callId;
    showMode(mode);
    setMuted(false);
    sessionSay("Joined in " + mode + " mode" + (mic.silent ? " (no microphone: you are silent)" : "") + ".");
    say("On call " + callId + ".");
    startMeters(state.current);
    emit("session");
    $("leave").focus();
  } catch (e) {
    pc.close();
    if (mic) stopStream(mic.stream);
    say("Could not join call " + callId + ": " + e.message, true);
  }
}

function showMode(mode) {
  for (const b of document.querySelectorAll("#modes button[data-mode]")) {
    b.setAttribute("aria-pressed", String(b.dataset.mode === mode));
  }
  $("session-mode-name").textContent = mode;
  $("session").dataset.mode = mode;
}

function setMuted(m) {
  if (!state.current) return;
  state.current.muted = m;
  for (const t of state.current.stream.getAudioTracks()) t.enabled = !m;
  $("mute").setAttribute("aria-pressed", String(m));
  $("mute").querySelector(".label").textContent = m ? "Unmute" : "Mute";
}

async function patch(body) {
  if (!state.current) return null;
  try {
    const res = await api(state.current.location, {
      method: "PATCH", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
    });
    const op = await res.json();
    if (state.current) state.current.mode = op.mode;
    // Show the change on the board now; the refresh that follows confirms it.
    for (const c of state.calls) {
      for (const o of c.operators || []) if (o.id === op.id) Object.assign(o, { mode: op.mode, muted: op.muted });
    }
    emit("session");
    showMode(op.mode);
    sessionSay("Mode " + op.mode + (op.muted ? ", muted" : "") + ".");
    emit("changed");
    return op;
  } catch (e) {
    sessionSay("Change refused: " + e.message, true);
    return null;
  }
}

export async function setMode(mode) {
  if (!state.current || state.current.mode === mode) return;
  await patch({ mode });
}

export async function toggleMute() {
  if (!state.current) return;
  const want = !state.current.muted;
  setMuted(want);
  if (!(await patch({ muted: want }))) setMuted(!want);
}

export function endSession(msg) {
  if (!state.current) return;
  const c = state.current;
  state.current = null;
  stopMeters();
  c.pc.close();
  stopStream(c.stream);
  $("remote-audio").srcObject = null;
  $("session").hidden = true;
  say(msg);
  emit("session");
}

export async function leave() {
  if (!state.current) return;
  // Tell the edge first, so that it records a leave rather than a dropped
  // connection; then close the connection.
  let err = null;
  try { await api(state.current.location, { method: "DELETE" }); } catch (e) { if (e.status !== 404) err = e; }
  endSession("Left the call.");
  if (err) say("Leave: " + err.message, true);
}

function onKey(e) {
  if (e.ctrlKey || e.metaKey || e.altKey || e.repeat) return;
  const t = e.target;
  if (t && (t.isContentEditable || ["INPUT", "SELECT", "TEXTAREA"].includes(t.tagName))) return;
  const k = e.key.toLowerCase();
  if (state.current) {
    if (MODE_KEYS[k]) { e.preventDefault(); setMode(MODE_KEYS[k]); }
    else if (k === "m") { e.preventDefault(); toggleMute(); }
    else if (e.key === "Escape") { e.preventDefault(); leave(); }
  } else if (k === "j") {
    e.preventDefault();
    joinFirstWaiting();
  }
}

export function setupSession() {
  for (const b of document.querySelectorAll("#modes button[data-mode]")) {
    b.addEventListener("click", () => setMode(b.dataset.mode));
  }
  $("mute").addEventListener("click", toggleMute);
  $("leave").addEventListener("click", leave);
  document.addEventListener("keydown", onKey);
  window.addEventListener("pagehide", () => {
    if (state.current) fetch(state.current.location, { method: "DELETE", keepalive: true, headers: authHeaders() });
  });
  on("join", ({ callId, mode }) => join(callId, mode));
}
