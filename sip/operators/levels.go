package operators

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/voiceedge/edge/media"
)

// levelsInterval is how often a levels stream sends the call's levels.
const levelsInterval = 100 * time.Millisecond

// levelsEvent is one event of a levels stream.
type levelsEvent struct {
	OperatorID string `json:"operator_id"`
	media.CallLevels
	// Time is when the levels were read (RFC 3339, milliseconds).
	Time string `json:"time"`
}

// streamLevels serves GET /v1/calls/{call_id}/operators/{operator_id}/levels
// on the node holding the call: Server-Sent Events named "levels", every
// levelsInterval, with the audio level in dBFS of each party of the call as
// the edge's mixer receives it (the caller, the agent and every operator,
// before mixing; media.Session.Levels). It serves the operator's own
// account (admins and owners any operator of the workspace), as PATCH and
// DELETE do, and ends with an event "levels.closed" when the operator
// leaves the call (for whatever reason: the rechecks take a revoked key
// off within seconds), when the client goes or the handler closes. Each
// stream takes a place among Config.MaxStreams (503 beyond). The levels
// are computed in the edge, not in Redis: they never enter the
// workspace's event stream.
func (h *Handler) streamLevels(w http.ResponseWriter, r *request) error {
	e, err := h.ownOperator(r)
	if err != nil {
		return err
	}
	call, ok := h.calls.Call(r.call.ID)
	if !ok || call.Session == nil || call.WorkspaceID != r.p.WorkspaceID {
		return ErrCallNotActive
	}
	release, err := h.openStream(r)
	if err != nil {
		return err
	}
	defer release()
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	stop := context.AfterFunc(h.bg, cancel)
	defer stop()

	rc := http.NewResponseController(w)
	if !startSSE(w, rc, "levels of operator "+e.op.ID(), time.Second) {
		return nil
	}

	tick := time.NewTicker(levelsInterval)
	defer tick.Stop()
	buf := make([]byte, 0, 512)
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-e.op.Done():
			armWrite(rc)
			_, _ = fmt.Fprint(w, "event: levels.closed\ndata: {\"reason\":\"the operator left the call\"}\n\n")
			_ = rc.Flush()
			return nil
		case now := <-tick.C:
			lv, _ := call.Session.Levels()
			b, err := json.Marshal(levelsEvent{OperatorID: e.op.ID(), CallLevels: lv, Time: now.UTC().Format("2006-01-02T15:04:05.000Z07:00")})
			if err != nil {
				return nil
			}
			buf = append(append(append(buf[:0], "event: levels\ndata: "...), b...), "\n\n"...)
			armWrite(rc)
			if _, err := w.Write(buf); err != nil {
				return nil
			}
			if err := rc.Flush(); err != nil {
				return nil
			}
		}
	}
}
