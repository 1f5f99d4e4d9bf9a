package sip

import (
	"context"
	"errors"
	"fmt"
	"mime"
	"strconv"
	"strings"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/voiceedge/edge/media"
)

// DTMF from the trunk as SIP INFO (application/dtmf-relay, the de facto
// "Signal=5\r\nDuration=160" format, or application/dtmf, a bare digit)
// is converted to RFC 4733 events in the stream the service receives.
// Digits are never logged nor put in events: they can be card numbers or
// dates of birth. Each one is counted (edge_sip_dtmf_total).

// maxDTMFBody bounds an INFO DTMF body.
const maxDTMFBody = 256

// isDTMFType reports whether a Content-Type is a DTMF INFO body.
func isDTMFType(ct *sip.ContentTypeHeader) bool {
	if ct == nil {
		return false
	}
	mt, _, err := mime.ParseMediaType(ct.Value())
	return err == nil && (mt == "application/dtmf-relay" || mt == "application/dtmf")
}

// parseDTMFInfo reads the event code and duration of an INFO DTMF body.
func parseDTMFInfo(ct string, body []byte) (uint8, time.Duration, bool) {
	if len(body) > maxDTMFBody {
		return 0, 0, false
	}
	mt, _, _ := mime.ParseMediaType(ct)
	text := strings.TrimSpace(string(body))
	if mt == "application/dtmf" {
		if len(text) != 1 {
			return 0, 0, false
		}
		ev, ok := media.DTMFEvent(text[0])
		return ev, 0, ok
	}
	var ev uint8
	var d time.Duration
	found := false
	for _, line := range strings.Split(text, "\n") {
		k, v, ok := strings.Cut(strings.TrimSpace(line), "=")
		if !ok {
			continue
		}
		v = strings.TrimSpace(v)
		switch strings.ToLower(strings.TrimSpace(k)) {
		case "signal":
			if len(v) != 1 {
				if n, err := strconv.Atoi(v); err == nil && n >= 0 && n <= 15 {
					ev, found = uint8(n), true // some send the event code
				}
				continue
			}
			ev, found = media.DTMFEvent(v[0])
			if !found && v[0] >= '0' && v[0] <= '9' {
				ev, found = v[0]-'0', true
			}
		case "duration":
			if n, err := strconv.Atoi(v); err == nil && n > 0 && n <= 10000 {
				d = time.Duration(n) * time.Millisecond
			}
		}
	}
	return ev, d, found
}

// onTrunkDTMF answers an INFO DTMF of the trunk: 200 and an RFC 4733 event
// towards the service, 400 for a body that names no digit. A service
// without telephone-event gets nothing (counted), but the trunk still gets
// 200: the digit was received.
func (s *Server) onTrunkDTMF(c *call, req *sip.Request, tx sip.ServerTransaction) {
	ev, d, ok := parseDTMFInfo(req.ContentType().Value(), req.Body())
	if !ok {
		s.metrics.dtmf.WithLabelValues("info", "malformed").Inc()
		s.refuse(req, tx, reject(ReasonMalformed, "DTMF body"))
		return
	}
	result := "converted"
	if err := c.sess.SendDTMF(media.LegB, ev, d); err != nil {
		switch {
		case errors.Is(err, media.ErrNoTelephoneEvent):
			result = "no_telephone_event"
		case errors.Is(err, media.ErrDTMFBusy):
			result = "busy"
		default:
			result = "error"
		}
	}
	s.metrics.dtmf.WithLabelValues("info", result).Inc()
	_ = tx.Respond(sip.NewResponseFromRequest(req, 200, "OK", nil))
}

// relayDTMF sends an RFC 4733 digit of the trunk to a service that did not
// negotiate telephone-event, as SIP INFO application/dtmf-relay in its
// dialog (media.DTMFHook: it must not block, so the INFO goes on its own
// goroutine, bounded by the call's context and 5 s).
func (c *call) relayDTMF(from media.Leg, ev uint8, d time.Duration) {
	if from != media.LegA {
		return
	}
	c.mu.Lock()
	up, dlg := c.bUp && c.legB != nil, c.legB
	c.mu.Unlock()
	if !up {
		c.s.metrics.dtmf.WithLabelValues("rfc4733", "no_dialog").Inc()
		return
	}
	go func() {
		ctx, cancel := context.WithTimeout(c.ctx, 5*time.Second)
		defer cancel()
		req := sip.NewRequest(sip.INFO, dlg.Target())
		req.Laddr = dlg.Laddr()
		ct := sip.ContentTypeHeader("application/dtmf-relay")
		req.AppendHeader(&ct)
		req.SetBody([]byte(fmt.Sprintf("Signal=%c\r\nDuration=%d\r\n", media.DTMFDigit(ev), max(d.Milliseconds(), 40))))
		r, err := dlg.Do(ctx, req)
		result := "info_sent"
		if err != nil || r.StatusCode >= 300 {
			result = "info_failed"
		}
		c.s.metrics.dtmf.WithLabelValues("rfc4733", result).Inc()
	}()
}
