package operators

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/voiceedge/edge/tenancy"
)

// streamWait bounds one blocking read of the event stream, so that the key
// is checked again and keepalives go out on time.
const streamWait = time.Second

// maxSince bounds ?since, the seconds of past events a stream starts with.
const maxSince = 3600

// consoleEvent reports whether an event is one the console follows:
// calls and operators (call.started, call.answered, call.ended,
// call.escalation_requested, operator.joined, operator.left). The
// workspace's configuration audit stays in the admin API's stream.
func consoleEvent(typ string) bool {
	return strings.HasPrefix(typ, "call.") || strings.HasPrefix(typ, "operator.")
}

// streamEvents serves GET /v1/events/stream: the call and operator events
// of the key's workspace as Server-Sent Events (HTML Living Standard,
// section 9.2), each with its stream id as the SSE id, its type as the
// event name and its JSON as data. It starts after Last-Event-ID (or
// ?cursor), else with the events of the last ?since seconds (at most an
// hour: the console shows the escalations of the last minutes), else with
// events newer than the request; sends a comment every
// Config.StreamKeepalive when idle; checks the key again every
// Config.StreamReauth and ends when it stops working; and ends when the
// client goes or the handler closes. The key travels in the Authorization
// header: the console reads the stream with fetch(), never with a key in
// the URL.
func (h *Handler) streamEvents(w http.ResponseWriter, r *request) error {
	after, field := r.Header.Get("Last-Event-ID"), "Last-Event-ID"
	if after == "" {
		after, field = r.URL.Query().Get("cursor"), "cursor"
	}
	if !tenancy.ValidEventCursor(after) {
		return invalid(field, "not an event id of this stream")
	}
	if since := r.URL.Query().Get("since"); since != "" && after == "" {
		secs, err := strconv.Atoi(since)
		if err != nil || secs < 1 || secs > maxSince {
			return invalid("since", "must be a number of seconds from 1 to %d", maxSince)
		}
		after = fmt.Sprintf("%d-0", time.Now().Add(-time.Duration(secs)*time.Second).UnixMilli())
	}
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	stop := context.AfterFunc(h.bg, cancel)
	defer stop()
	if after == "" {
		last, err := h.streamStore.LastEventID(ctx, r.p.WorkspaceID)
		if err != nil {
			return err
		}
		after = last
	}
	release, err := h.openStream(r)
	if err != nil {
		return err
	}
	defer release()

	rc := http.NewResponseController(w)
	if !startSSE(w, rc, "events of workspace "+r.p.WorkspaceID, 2*time.Second) {
		return nil
	}

	lastWrite, lastAuth := time.Now(), time.Now()
	for ctx.Err() == nil {
		evs, err := h.streamStore.WaitEvents(ctx, r.p.WorkspaceID, after, streamWait)
		armWrite(rc)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			h.log.Warn("event stream read", "workspace_id", r.p.WorkspaceID, "error", err)
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(streamWait):
			}
		}
		for _, ev := range evs {
			after = ev.ID
			if !consoleEvent(ev.Type) {
				continue
			}
			b, err := json.Marshal(ev)
			if err != nil {
				continue
			}
			if _, err := fmt.Fprintf(w, "id: %s\nevent: %s\ndata: %s\n\n", ev.ID, ev.Type, b); err != nil {
				return nil
			}
			lastWrite = time.Now()
		}
		if time.Since(lastWrite) >= h.cfg.StreamKeepalive {
			if _, err := fmt.Fprint(w, ": keepalive\n\n"); err != nil {
				return nil
			}
			lastWrite = time.Now()
		}
		if err := rc.Flush(); err != nil {
			return nil
		}
		if time.Since(lastAuth) >= h.cfg.StreamReauth {
			lastAuth = time.Now()
			if !h.stillAllowed(ctx, r.p, tenancy.ActionRead) {
				armWrite(rc)
				_, _ = fmt.Fprint(w, "event: stream.closed\ndata: {\"reason\":\"the API key no longer works\"}\n\n")
				_ = rc.Flush()
				return nil
			}
		}
	}
	return nil
}

// stillAllowed reports whether p's key still exists and its account's role
// still allows a. A store that cannot be reached counts as allowed (the
// check is repeated).
func (h *Handler) stillAllowed(ctx context.Context, p tenancy.Principal, a tenancy.Action) bool {
	if _, err := h.store.GetAPIKey(ctx, p.WorkspaceID, p.KeyID); err != nil {
		return !errors.Is(err, tenancy.ErrNotFound)
	}
	acct, err := h.store.GetAccount(ctx, p.WorkspaceID, p.AccountID)
	if err != nil {
		return !errors.Is(err, tenancy.ErrNotFound)
	}
	return acct.Role.Allows(a)
}
