package sip

import (
	"context"
	"fmt"
	"time"

	"github.com/voiceedge/edge/internal/jsonenc"
	"github.com/voiceedge/edge/media"
	"github.com/voiceedge/edge/tenancy"
)

// end releases everything the call holds, once: the media session (after
// reading its statistics), the dialog cache entries, the call's slot with
// its final record and call.ended in the workspace's stream, with the
// end of its token (one write, EndCallEventToken, when the store issues
// the tokens; else EndCallEvent then EndCallToken). Every way a call ends
// comes here.
func (c *call) end(reason Reason) {
	c.endOnce.Do(func() {
		c.cancel(context.Canceled)
		stats := c.sess.Stats()
		_ = c.sess.Close()
		c.mu.Lock()
		legIDs, peer := c.legIDs, c.peer
		now := time.Now().UTC()
		c.rec.State, c.rec.EndedAt, c.rec.EndReason = tenancy.CallEnded, &now, string(reason)
		rec := c.rec
		c.mu.Unlock()
		c.s.dialogs.remove(c, legIDs, peer)
		if c.a != nil {
			c.s.ended.add(c.req, now)
		}
		c.endOutbound()
		data := map[string]any{
			"reason":      string(reason),
			"duration_ms": now.Sub(rec.StartedAt).Milliseconds(),
			"talk_ms":     int64(0),
			"packets":     packetStats(stats),
			"loss":        lossStats(stats),
			"jitter_ms":   map[string]float64{"a": stats.A.JitterMs, "b": stats.B.JitterMs},
			"srtp":        map[string]bool{"a": stats.A.SRTP, "b": stats.B.SRTP},
			"rtcp":        map[string]any{"a": stats.A.RTCP, "b": stats.B.RTCP}, // RTCPStats.AppendJSON
		}
		if rec.AnsweredAt != nil {
			data["talk_ms"] = now.Sub(*rec.AnsweredAt).Milliseconds()
		}
		c.transition(rec, true, tenancy.EventCallEnded, data)
		c.s.metrics.activeCalls.Dec()
		c.s.metrics.ended.WithLabelValues(string(reason)).Inc()
		c.log.Info("call ended", "reason", reason, "duration", now.Sub(rec.StartedAt).Round(time.Millisecond),
			"a_rx", stats.A.PacketsReceived, "b_rx", stats.B.PacketsReceived)
		c.s.calls.Done()
	})
}

// packetStats are the relay's packet counters of both legs: a_* are what
// the edge received from and sent to the trunk, b_* the service.
func packetStats(st media.SessionStats) map[string]uint64 {
	return map[string]uint64{
		"a_received": st.A.PacketsReceived, "a_sent": st.A.PacketsSent,
		"b_received": st.B.PacketsReceived, "b_sent": st.B.PacketsSent,
		"dropped": st.A.DroppedWrongSource + st.A.DroppedMalformed + st.A.DroppedOther +
			st.B.DroppedWrongSource + st.B.DroppedMalformed + st.B.DroppedOther,
	}
}

// lossStats are the packets lost on the way to the edge, per leg, and the
// fraction of the expected (RFC 3550 appendix A.3).
func lossStats(st media.SessionStats) map[string]any {
	frac := func(l media.LegStats) float64 {
		if l.PacketsExpected == 0 {
			return 0
		}
		return float64(l.PacketsLost) / float64(l.PacketsExpected)
	}
	return map[string]any{
		"a_lost": st.A.PacketsLost, "b_lost": st.B.PacketsLost,
		"a_fraction": frac(st.A), "b_fraction": frac(st.B),
	}
}

// event appends an event of the call to its workspace's stream, and only
// there.
func (c *call) event(typ string, data map[string]any) {
	e, err := callEvent(c.id, typ, data)
	if err != nil {
		c.log.Warn("encode event", "type", typ, "error", err)
		return
	}
	c.s.writeEvent(c.route.Workspace.ID, e)
}

// transition writes the call's record rec and its event typ in one write
// (end: the final record, which frees the slot, and the token's end), or,
// when data does not encode, the record alone (and the token's end).
func (c *call) transition(rec tenancy.CallRecord, end bool, typ string, data map[string]any) {
	e, err := callEvent(c.id, typ, data)
	switch {
	case err != nil && end:
		c.log.Warn("encode event", "type", typ, "error", err)
		c.s.writeState(opEnd, rec.WorkspaceID, rec.ID, rec)
		c.s.endCallToken(rec.WorkspaceID, rec.ID, c.token)
	case err != nil:
		c.log.Warn("encode event", "type", typ, "error", err)
		c.s.writeState(opUpdate, rec.WorkspaceID, rec.ID, rec)
	case end:
		c.s.writeEndEvent(rec, e, c.token)
	default:
		c.s.writeUpdateEvent(rec, e)
	}
}

// callEvent is the event typ of call id, now. Its data is encoded as
// encoding/json would, without its reflection where it can (jsonenc).
func callEvent(id, typ string, data map[string]any) (tenancy.Event, error) {
	b, err := jsonenc.Append(make([]byte, 0, 256), data)
	if err != nil {
		return tenancy.Event{}, fmt.Errorf("encode event %s: %w", typ, err)
	}
	return tenancy.Event{Type: typ, Time: time.Now().UTC(), CallID: id, Data: b}, nil
}
