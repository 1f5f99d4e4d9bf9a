// What the console knows, shared by its modules, and a small bus that
// tells them when it changes.

export const state = {
  workspace: null, // GET /v1/workspace
  calls: [],       // GET /v1/calls items
  callsLoaded: false,
  current: null,   // the operator session: {callId, operatorId, location, pc, stream, mode, muted}
  selected: "",    // the call whose caller is shown
};

const handlers = {};

export function on(name, fn) {
  (handlers[name] = handlers[name] || []).push(fn);
}

export function emit(name, arg) {
  for (const fn of handlers[name] || []) fn(arg);
}

export function callById(id) {
  return state.calls.find((c) => c.id === id);
}

// operatorName is how an operator is shown: its account's name, or its
// account id, and "you" for this console's own session.
export function operatorName(o) {
  if (state.current && o.id === state.current.operatorId) return "You";
  return o.account_name || o.account_id;
}

const status = () => document.getElementById("status");

export function say(msg, isError) {
  status().textContent = msg;
  status().classList.toggle("error", !!isError);
}
