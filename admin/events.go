package admin

import (
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
	"time"

	"github.com/voiceedge/edge/tenancy"
)

func (s *Server) events(w http.ResponseWriter, r *request) error {
	if wantsStream(r.Request) {
		return s.streamEvents(w, r)
	}
	p, err := s.pageOf(r.Request)
	if err != nil {
		return err
	}
	evs, next, err := s.store.ListEvents(r.Context(), r.ws, p.cursor, p.limit)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, listPage[tenancy.Event]{Items: evs, NextCursor: next})
	return nil
}

// wantsStream reports whether the client asks for Server-Sent Events.
func wantsStream(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept"), ",") {
		if mt, _, err := mime.ParseMediaType(strings.TrimSpace(part)); err == nil && mt == "text/event-stream" {
			return true
		}
	}
	return false
}

// streamEvents streams the workspace's events as Server-Sent Events (HTML
// Living Standard, section 9.2): each event with its stream id as the SSE
// id, its type as the SSE event name and its JSON as data. It starts after
// Last-Event-ID (or ?cursor), else with events newer than the request;
// sends a comment every Config.StreamKeepalive when idle; re-checks the key
// every Config.StreamReauth, so a revoked key or a demoted account loses
// the stream; and ends when the client goes, the key stops working or the
// server shuts down.
func (s *Server) streamEvents(w http.ResponseWriter, r *request) error {
	ctx := r.Context()
	after, field := r.Header.Get("Last-Event-ID"), "Last-Event-ID"
	if after == "" {
		after, field = r.URL.Query().Get("cursor"), "cursor"
	}
	if !tenancy.ValidEventCursor(after) {
		return invalid(field, "not an event id of this stream")
	}
	if after == "" {
		last, err := s.store.LastEventID(ctx, r.ws)
		if err != nil {
			return err
		}
		after = last
	}
	key := r.p.KeyID
	if r.p.Platform {
		key = "platform"
	}
	release, ok := s.streams.Acquire(r.ws, key)
	if !ok {
		return &retryError{err: ErrStreamsFull, retryAfter: 5}
	}
	defer release()
	s.metrics.streams.Inc()
	defer s.metrics.streams.Dec()

	rc := http.NewResponseController(w)
	// The stream outlives Config.ReadTimeout, which would otherwise end it.
	_ = rc.SetReadDeadline(time.Time{})
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	send := func(text string) bool {
		_ = rc.SetWriteDeadline(time.Now().Add(10 * time.Second))
		if _, err := io.WriteString(w, text); err != nil {
			return false
		}
		return rc.Flush() == nil
	}
	if !send(": stream of " + r.ws + "\n\n") {
		return nil
	}
	stop := stopping(ctx)
	lastWrite, lastAuth := time.Now(), time.Now()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-stop:
			return nil
		default:
		}
		if time.Since(lastAuth) >= s.cfg.StreamReauth {
			p, err := s.principal(r.Request, r.Header.Get("Authorization"))
			if err != nil || authorize(&route{access: inWorkspace, action: tenancy.ActionRead}, p, r.ws) != nil {
				return nil
			}
			lastAuth = time.Now()
		}
		evs, err := s.store.WaitEvents(ctx, r.ws, after, s.cfg.StreamWait)
		if err != nil {
			// Redis went away or the client did: end the stream; the
			// client resumes with Last-Event-ID.
			if ctx.Err() == nil {
				s.log.Warn("event stream ended", "workspace_id", r.ws, "err", err)
			}
			return nil
		}
		var b strings.Builder
		for _, e := range evs {
			data, err := json.Marshal(e)
			if err != nil {
				continue
			}
			fmt.Fprintf(&b, "id: %s\nevent: %s\ndata: %s\n\n", e.ID, sseField(e.Type), data)
			after = e.ID
		}
		switch {
		case b.Len() > 0:
			if !send(b.String()) {
				return nil
			}
			lastWrite = time.Now()
		case time.Since(lastWrite) >= s.cfg.StreamKeepalive:
			if !send(": keepalive\n\n") {
				return nil
			}
			lastWrite = time.Now()
		}
	}
}

// sseField keeps a value on one SSE line.
func sseField(v string) string {
	return strings.NewReplacer("\r", " ", "\n", " ").Replace(v)
}
