// Audio level meters while joined. The edge's mixer measures every party
// as it receives them (caller, agent, each operator: RMS in dBFS per 20 ms
// frame) and streams them every 100 ms on
// GET <operator session>/levels (Server-Sent Events over fetch). The
// browser adds one meter of its own: the level of the mix it receives,
// from WebRTC getStats() (inbound-rtp audioLevel).
import { state, callById, operatorName } from "./state.js";
import { readSSE, el } from "./api.js";

const FLOOR = -60; // dBFS at the left end of a meter
let abort = null;
let statsTimer = 0;

function meterRow(key, label) {
  const list = document.getElementById("meters");
  let row = list.querySelector('[data-party="' + CSS.escape(key) + '"]');
  if (!row) {
    row = el("li", "meter");
    row.dataset.party = key;
    const bar = el("div", "bar");
    bar.appendChild(el("div", "fill"));
    bar.setAttribute("role", "meter");
    bar.setAttribute("aria-valuemin", String(FLOOR));
    bar.setAttribute("aria-valuemax", "0");
    row.append(el("span", "who"), bar, el("span", "db num"));
    list.appendChild(row);
  }
  row.querySelector(".who").textContent = label;
  return row;
}

function show(row, dbfs) {
  const v = Math.max(FLOOR, Math.min(0, dbfs));
  row.dataset.dbfs = String(dbfs);
  const bar = row.querySelector(".bar");
  bar.setAttribute("aria-valuenow", String(Math.round(v)));
  const fill = row.querySelector(".fill");
  fill.style.width = ((v - FLOOR) / -FLOOR * 100).toFixed(1) + "%";
  fill.classList.toggle("hot", dbfs > -6);
  row.querySelector(".db").textContent = dbfs <= -89 ? "silent" : (Math.round(dbfs) || 0) + " dBFS";
}

function render(lv) {
  const seen = new Set(["caller", "agent", "browser"]);
  show(meterRow("caller", "Caller"), lv.caller_dbfs);
  show(meterRow("agent", "Agent"), lv.agent_dbfs);
  const c = state.current ? callById(state.current.callId) : null;
  for (const o of lv.operators || []) {
    const known = c && (c.operators || []).find((x) => x.id === o.operator_id);
    const name = operatorName(known || { id: o.operator_id, account_id: o.account_id });
    const label = name + " (" + o.mode + (o.muted ? ", muted" : "") + ")";
    seen.add("op:" + o.operator_id);
    show(meterRow("op:" + o.operator_id, label), o.dbfs);
  }
  const list = document.getElementById("meters");
  for (const row of [...list.children]) {
    if (!seen.has(row.dataset.party)) row.remove();
  }
  list.appendChild(meterRow("browser", "You hear (browser)")); // last
}

// startMeters follows the levels of the session s until stopMeters.
export function startMeters(s) {
  stopMeters();
  const ctl = new AbortController();
  abort = ctl;
  document.getElementById("meters").replaceChildren();
  meterRow("browser", "You hear (browser)");
  (async () => {
    for (let attempt = 0; attempt < 30 && !ctl.signal.aborted; attempt++) {
      try {
        await readSSE(s.location + "/levels", {}, ctl.signal, (name, data) => {
          if (name === "levels") { try { render(JSON.parse(data)); } catch (_) { /* skip */ } }
          if (name === "levels.closed") ctl.abort();
        });
      } catch (e) {
        if (ctl.signal.aborted || e.status === 404 || e.status === 403 || e.status === 401) return;
      }
      await new Promise((r) => setTimeout(r, 1000));
    }
  })();
  statsTimer = setInterval(async () => {
    if (!s.pc) return;
    try {
      const r = await s.pc.getStats();
      r.forEach((st) => {
        if (st.type === "inbound-rtp" && st.kind === "audio" && typeof st.audioLevel === "number") {
          show(meterRow("browser", "You hear (browser)"), st.audioLevel > 0 ? 20 * Math.log10(st.audioLevel) : -90);
        }
      });
    } catch (_) { /* closed */ }
  }, 200);
}

export function stopMeters() {
  if (abort) abort.abort();
  abort = null;
  clearInterval(statsTimer);
  document.getElementById("meters").replaceChildren();
}
