// The edge's operator API as the console calls it. The API key is kept in
// sessionStorage (this tab only) and is sent only in the Authorization
// header, never in a URL: even the live streams are read with fetch() and
// a streaming body, since EventSource cannot set headers.

const KEY_STORE = "edge.operator.apiKey";

let apiKey = sessionStorage.getItem(KEY_STORE) || "";

export function hasKey() { return apiKey !== ""; }

export function setKey(k) {
  apiKey = k;
  if (k) sessionStorage.setItem(KEY_STORE, k);
  else sessionStorage.removeItem(KEY_STORE);
}

export function authHeaders(extra) {
  return Object.assign({ Authorization: "Bearer " + apiKey }, extra || {});
}

// api calls the edge and returns the response, throwing an Error with the
// API's message (and .status) on a failure status.
export async function api(path, opts) {
  const o = opts || {};
  const res = await fetch(path, Object.assign({ cache: "no-store" }, o, { headers: authHeaders(o.headers) }));
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

export async function getJSON(path) {
  return (await api(path)).json();
}

// readSSE opens a Server-Sent Events stream (HTML Living Standard 9.2)
// with fetch and calls onEvent(name, data, id) for each event until the
// stream ends or signal aborts. It returns normally when the stream ends
// and throws on a failure status.
export async function readSSE(path, headers, signal, onEvent) {
  const res = await api(path, { headers: Object.assign({ Accept: "text/event-stream" }, headers), signal });
  const reader = res.body.getReader();
  const dec = new TextDecoder();
  let buf = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
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
      if (data || name !== "message") onEvent(name, data, id);
    }
  }
}

// el makes an element with a class and text.
export function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined && text !== null) e.textContent = text;
  return e;
}

// duration formats seconds as m:ss or h:mm:ss.
export function duration(secs) {
  const s = Math.max(0, Math.floor(secs));
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), r = s % 60;
  const mm = h > 0 ? String(m).padStart(2, "0") : String(m);
  return (h > 0 ? h + ":" : "") + mm + ":" + String(r).padStart(2, "0");
}
