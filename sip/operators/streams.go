package operators

import (
	"fmt"
	"net/http"
	"time"
)

// openStream takes a stream slot for r's key (503 with Retry-After when
// none is free) and counts the stream in metrics until release.
func (h *Handler) openStream(r *request) (release func(), err error) {
	rel, ok := h.slots.Acquire(r.p.WorkspaceID, r.p.KeyID)
	if !ok {
		h.metrics.streamsRefused.Inc()
		return nil, &retryError{err: ErrStreamsFull, retryAfter: 5}
	}
	h.metrics.streams.Inc()
	return func() { h.metrics.streams.Dec(); rel() }, nil
}

// streamWriteTimeout bounds each write of a stream: a client that stops
// reading (a stalled browser, a slow-loris) is cut off then, and its slot
// freed, instead of holding it until its TCP connection dies.
const streamWriteTimeout = 10 * time.Second

// armWrite sets the deadline of the next write of a stream.
func armWrite(rc *http.ResponseController) {
	_ = rc.SetWriteDeadline(time.Now().Add(streamWriteTimeout))
}

// startSSE writes the head of a server-sent event stream (HTML Living
// Standard, section 9.2): the headers, a first comment and the client's
// reconnection delay, flushed. It reports whether the client took it.
func startSSE(w http.ResponseWriter, rc *http.ResponseController, comment string, retry time.Duration) bool {
	armWrite(rc)
	hd := w.Header()
	hd.Set("Content-Type", "text/event-stream")
	hd.Set("Cache-Control", "no-store")
	hd.Set("X-Accel-Buffering", "no")
	hd.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	if _, err := fmt.Fprintf(w, ": %s\nretry: %d\n\n", comment, retry.Milliseconds()); err != nil {
		return false
	}
	_ = rc.Flush()
	return true
}
