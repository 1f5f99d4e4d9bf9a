// Operator console of the edge (design section 8). Plain JavaScript, no
// build step. The API key is kept in sessionStorage (this tab only) and is
// sent only in the Authorization header: the live event stream is read
// with fetch() streaming, never with the key in a URL.
"use strict";

(() => {
  const KEY_STORE = "edge.operator.apiKey";
  const $ = (id) => document.getElementById(id);
  const els = {
    status: $("status"), keyForm: $("key-form"), key: $("api-key"), forget: $("forget"),
    calls: document.querySelector("#calls tbody"), callsCount: $("calls-count"), noCalls: $("no-calls"),
    refresh: $("refresh"), escalations: $("escalations"), noEsc: $("no-escalations"),
    session: $("session"), sessionCall: $("session-call"), sessionState: $("session-state"),
    mode: $("session-mode"), switchMode: $("switch-mode"), mute: $("mute"), leave: $("leave"),
    audio: $("remote-audio"), others: $("others"),
  };

  let apiKey = sessionStorage.getItem(KEY_STORE) || "";
  let streamAbort = null;     // AbortController of the event stream
  let lastEventId = "";
  let pollTimer = 0;
  let refreshTimer = 0;
  let current = null;         // {callId, location, pc, stream, muted, accountId}
  let calls = [];

  function say(msg, isError) {
    els.status.textContent = msg;
    els.status.classList.toggle("error", !!isError);
  }
  function sessionSay(msg, isError) {
    els.sessionState.textContent = msg;
    els.sessionState.classList.toggle("error", !!isError);
  }

  function authHeaders(extra) {
    return Object.assign({ Authorization: "Bearer " + apiKey }, extra || {});
  }

  // api calls the edge and returns the response, throwing an Error with
  // the API's message on a failure status.
  async function api(path, opts) {
    const res = await fetch(path, Object.assign({ cache: "no-store" }, opts, { headers: authHeaders(opts && opts.headers) }));
    if (!res.ok) {
      let msg = res.status + " " + res.statusText;
      try {
        const body = await res.json();
        if (body && body.error) msg = body.error.message + " (" + res.status + " " + body.error.code + ")";
      } catch (_) { /* not JSON */ }
      const err = new Error(msg);
      err.status = res.status;
      throw err;
    }
    return res;
  }

  // ---- calls ---------------------------------------------------------

  function cell(text, code) {
    const td = document.createElement("td");
    if (code) {
      const c = document.createElement("code");
      c.textContent = text;
      td.appendChild(c);
    } else {
      td.textContent = text;
    }
    return td;
  }

  function operatorsText(ops) {
    if (!ops || ops.length === 0) return "none";
    return ops.map((o) => o.account_id + " (" + o.mode + (o.muted ? ", muted" : "") + ")").join(", ");
  }

  function renderCalls() {
    els.calls.replaceChildren();
    for (const c of calls) {
      const tr = document.createElement("tr");
      tr.dataset.callId = c.id;
      tr.append(cell(c.id, true), cell(c.from || ""), cell(c.to || ""), cell(c.state || ""),
        cell(c.started_at ? new Date(c.started_at).toLocaleTimeString() : ""), cell(operatorsText(c.operators)));
      const td = document.createElement("td");
      const sel = document.createElement("select");
      sel.id = "mode-" + c.id;
      const lab = document.createElement("label");
      lab.htmlFor = sel.id;
      lab.className = "visually-hidden";
      lab.textContent = "Mode for call " + c.id + " ";
      for (const m of ["listen", "whisper", "barge"]) {
        const o = document.createElement("option");
        o.value = m;
        o.textContent = m;
        sel.appendChild(o);
      }
      const btn = document.createElement("button");
      btn.type = "button";
      btn.className = "join";
      btn.dataset.callId = c.id;
      btn.textContent = "Join";
      btn.setAttribute("aria-label", "Join call " + c.id);
      btn.disabled = !!current;
      btn.addEventListener("click", () => join(c.id, sel.value));
      td.append(lab, sel, " ", btn);
      tr.appendChild(td);
      els.calls.appendChild(tr);
    }
    els.callsCount.textContent = "(" + calls.length + ")";
    els.noCalls.hidden = calls.length > 0;
    renderOthers();
  }

  async function loadCalls() {
    if (!apiKey) return;
    try {
      const res = await api("/v1/calls");
      const body = await res.json();
      calls = body.items || [];
      renderCalls();
    } catch (e) {
      say("Could not list calls: " + e.message, true);
      if (e.status === 401) disconnect();
    }
  }

  function scheduleRefresh() {
    clearTimeout(refreshTimer);
    refreshTimer = setTimeout(loadCalls, 150);
  }

  // ---- escalations -----------------------------------------------------

  function addEscalation(ev) {
    const data = ev.data || {};
    const li = document.createElement("li");
    li.dataset.callId = ev.call_id;
    const when = ev.time ? new Date(ev.time).toLocaleTimeString() : "";
    li.textContent = when + " — call " + ev.call_id + ": " + (data.reason || "no reason given") +
      " (from " + (data.source || "unknown") + ") ";
    const btn = document.createElement("button");
    btn.type = "button";
    btn.textContent = "Join (listen)";
    btn.setAttribute("aria-label", "Join escalated call " + ev.call_id);
    btn.addEventListener("click", () => join(ev.call_id, "listen"));
    li.appendChild(btn);
    els.escalations.prepend(li);
    els.noEsc.hidden = true;
  }

  // ---- event stream (SSE over fetch) -----------------------------------

  function handleEvent(name, data) {
    let ev;
    try { ev = JSON.parse(data); } catch (_) { return; }
    switch (name) {
      case "call.escalation_requested":
        addEscalation(ev);
        say("Escalation requested on call " + ev.call_id);
        scheduleRefresh();
        break;
      case "call.ended":
        if (current && current.callId === ev.call_id) endSession("The call ended.");
        for (const li of [...els.escalations.children]) if (li.dataset.callId === ev.call_id) li.remove();
        els.noEsc.hidden = els.escalations.children.length > 0;
        scheduleRefresh();
        break;
      case "operator.left":
        if (current && ev.data && ev.data.operator_id === current.operatorId) {
          endSession("You were taken off the call (" + (ev.data.reason || "left") + ").");
        }
        scheduleRefresh();
        break;
      default:
        scheduleRefresh();
    }
  }

  async function followEvents() {
    if (streamAbort) streamAbort.abort();
    const ctl = new AbortController();
    streamAbort = ctl;
    while (!ctl.signal.aborted && apiKey) {
      try {
        const headers = { Accept: "text/event-stream" };
        if (lastEventId) headers["Last-Event-ID"] = lastEventId;
        // The first connection replays the last 15 minutes (escalations
        // still waiting); reconnections resume after the last event seen.
        const url = "/v1/events/stream" + (lastEventId ? "" : "?since=900");
        const res = await api(url, { headers, signal: ctl.signal });
        const reader = res.body.getReader();
        const dec = new TextDecoder();
        let buf = "";
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buf += dec.decode(value, { stream: true });
          let idx;
          while ((idx = buf.search(/\r?\n\r?\n/)) >= 0) {
            const block = buf.slice(0, idx);
            buf = buf.slice(idx).replace(/^\r?\n\r?\n/, "");
            let name = "message", data = "", id = "";
            for (const line of block.split(/\r?\n/)) {
              if (line.startsWith(":")) continue;
              const i = line.indexOf(":");
              const field = i < 0 ? line : line.slice(0, i);
              const val = i < 0 ? "" : line.slice(i + 1).replace(/^ /, "");
              if (field === "event") name = val;
              else if (field === "data") data += (data ? "\n" : "") + val;
              else if (field === "id") id = val;
            }
            if (id) lastEventId = id;
            if (name === "stream.closed") { say("The API key no longer works.", true); disconnect(); return; }
            if (data) handleEvent(name, data);
          }
        }
      } catch (e) {
        if (ctl.signal.aborted) return;
        if (e.status === 401 || e.status === 403) { say("Live updates stopped: " + e.message, true); return; }
      }
      await new Promise((r) => setTimeout(r, 2000));
      loadCalls();
    }
  }

  // ---- joining -----------------------------------------------------------

  // microphone returns the operator's microphone, or a silent track when
  // there is none or it is refused (the operator can still listen).
  async function microphone() {
    try {
      const s = await navigator.mediaDevices.getUserMedia({ audio: true, video: false });
      return { stream: s, silent: false };
    } catch (_) {
      const AC = window.AudioContext || window.webkitAudioContext;
      const ctx = new AC();
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

  async function join(callId, mode) {
    if (current) { say("Leave the current call first.", true); return; }
    say("Joining call " + callId + " in " + mode + " mode…");
    const pc = new RTCPeerConnection({ iceServers: [] });
    let mic;
    try {
      mic = await microphone();
      for (const t of mic.stream.getAudioTracks()) pc.addTrack(t, mic.stream);
      pc.addEventListener("track", (e) => {
        els.audio.srcObject = e.streams && e.streams[0] ? e.streams[0] : new MediaStream([e.track]);
        els.audio.play().catch(() => { /* autoplay refused: the controls play it */ });
      });
      pc.addEventListener("connectionstatechange", () => {
        if (!current || current.pc !== pc) return;
        sessionSay("Connection: " + pc.connectionState, pc.connectionState === "failed");
        if (pc.connectionState === "failed") endSession("The connection failed.");
      });
      await pc.setLocalDescription(await pc.createOffer());
      await waitGathering(pc, 5000);
      const res = await api("/v1/calls/" + encodeURIComponent(callId) + "/operators?mode=" + encodeURIComponent(mode), {
        method: "POST", headers: { "Content-Type": "application/sdp" }, body: pc.localDescription.sdp,
      });
      const location = res.headers.get("Location");
      const answer = await res.text();
      await pc.setRemoteDescription({ type: "answer", sdp: answer });
      current = { callId, location, pc, stream: mic.stream, muted: false, operatorId: location.split("/").pop() };
      els.session.hidden = false;
      els.sessionCall.textContent = callId;
      els.mode.value = mode;
      setMuted(false);
      sessionSay("Joined in " + mode + " mode" + (mic.silent ? " (no microphone: you are silent)" : "") + ".");
      say("On call " + callId + ".");
      renderCalls();
      els.leave.focus();
    } catch (e) {
      pc.close();
      if (mic) stopStream(mic.stream);
      say("Could not join call " + callId + ": " + e.message, true);
    }
  }

  function stopStream(stream) {
    for (const t of stream.getTracks()) t.stop();
    if (stream.__ctx) stream.__ctx.close();
  }

  function setMuted(m) {
    if (!current) return;
    current.muted = m;
    for (const t of current.stream.getAudioTracks()) t.enabled = !m;
    els.mute.setAttribute("aria-pressed", String(m));
    els.mute.textContent = m ? "Unmute" : "Mute";
  }

  async function patch(body) {
    if (!current) return;
    try {
      const res = await api(current.location, {
        method: "PATCH", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
      });
      const op = await res.json();
      sessionSay("Mode " + op.mode + (op.muted ? ", muted" : "") + ".");
      scheduleRefresh();
      return op;
    } catch (e) {
      sessionSay("Change refused: " + e.message, true);
      return null;
    }
  }

  function endSession(msg) {
    if (!current) return;
    const c = current;
    current = null;
    c.pc.close();
    stopStream(c.stream);
    els.audio.srcObject = null;
    els.session.hidden = true;
    say(msg);
    renderCalls();
  }

  async function leave() {
    if (!current) return;
    // Tell the edge first, so that it records a leave rather than a
    // dropped connection; then close the connection.
    const loc = current.location;
    let err = null;
    try { await api(loc, { method: "DELETE" }); } catch (e) { if (e.status !== 404) err = e; }
    endSession("Left the call.");
    if (err) say("Leave: " + err.message, true);
  }

  function renderOthers() {
    els.others.replaceChildren();
    if (!current) return;
    const c = calls.find((x) => x.id === current.callId);
    const others = c ? (c.operators || []).filter((o) => o.id !== current.operatorId) : [];
    for (const o of others) {
      const li = document.createElement("li");
      li.textContent = o.account_id + " — " + o.mode + (o.muted ? " (muted)" : "");
      els.others.appendChild(li);
    }
    if (others.length === 0) {
      const li = document.createElement("li");
      li.textContent = "No other operator.";
      els.others.appendChild(li);
    }
  }

  // ---- key -----------------------------------------------------------------

  function connect() {
    if (!apiKey) return;
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

  els.keyForm.addEventListener("submit", (e) => {
    e.preventDefault();
    apiKey = els.key.value.trim();
    els.key.value = "";
    if (!apiKey) return;
    sessionStorage.setItem(KEY_STORE, apiKey);
    lastEventId = "";
    connect();
  });
  els.forget.addEventListener("click", () => {
    leave();
    disconnect();
    apiKey = "";
    sessionStorage.removeItem(KEY_STORE);
    calls = [];
    renderCalls();
    say("Key forgotten.");
  });
  els.refresh.addEventListener("click", loadCalls);
  els.switchMode.addEventListener("click", () => patch({ mode: els.mode.value }));
  els.mute.addEventListener("click", async () => {
    if (!current) return;
    const want = !current.muted;
    setMuted(want);
    if (!(await patch({ muted: want }))) setMuted(!want);
  });
  els.leave.addEventListener("click", leave);
  window.addEventListener("pagehide", () => {
    if (current) fetch(current.location, { method: "DELETE", keepalive: true, headers: authHeaders() });
  });

  renderCalls();
  if (apiKey) connect();
})();
