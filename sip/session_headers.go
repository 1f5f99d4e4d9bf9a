package sip

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/emiago/sipgo/sip"
)

// The session timer headers of RFC 4028 section 4: Session-Expires
// (compact form x) and Min-SE, read from untrusted requests and answers.

// timerRequest is what a request says of session timers.
type timerRequest struct {
	expires   time.Duration // 0: no Session-Expires
	refresher string        // "uac", "uas" or ""
	minSE     time.Duration // 0: no Min-SE
	supported bool          // Supported: timer
}

// sessionExpiresHeader returns the Session-Expires header of msg, in its
// long or compact (x) form.
func sessionExpiresHeader(msg sip.Message) sip.Header {
	for _, name := range []string{"Session-Expires", "x"} {
		if hs := msg.GetHeaders(name); len(hs) > 0 {
			return hs[0]
		}
	}
	return nil
}

// readTimer reads the session timer headers of a request, refusing
// malformed ones with 400 naming the header and a Session-Expires below
// minSE with 422 and Min-SE (RFC 4028 sections 4 and 5).
func readTimer(req *sip.Request, minSE time.Duration) (timerRequest, *Rejection) {
	tr := timerRequest{supported: hasOptionTag(req, "Supported", "timer")}
	if h := req.GetHeader("Min-SE"); h != nil {
		secs, err := parseMinSE(h.Value())
		if err != nil {
			return tr, reject(ReasonBadHeader, "Min-SE")
		}
		tr.minSE = time.Duration(secs) * time.Second
	}
	h := sessionExpiresHeader(req)
	if h == nil {
		return tr, nil
	}
	secs, refresher, err := parseSessionExpires(h.Value())
	if err != nil {
		return tr, reject(ReasonBadHeader, "Session-Expires")
	}
	tr.expires, tr.refresher = time.Duration(secs)*time.Second, refresher
	if tr.expires < minSE {
		rej := reject(ReasonIntervalTooBrief, "Session-Expires")
		rej.headers = []sip.Header{sip.NewHeader("Min-SE", strconv.Itoa(int(minSE/time.Second)))}
		return tr, rej
	}
	return tr, nil
}

// parseSessionExpires parses a Session-Expires value (RFC 4028 section
// 4): delta-seconds, then parameters, of which refresher is uac or uas.
func parseSessionExpires(v string) (uint32, string, error) {
	parts := strings.Split(v, ";")
	secs, err := parseDelta(parts[0])
	if err != nil || secs == 0 {
		return 0, "", fmt.Errorf("bad Session-Expires %q", v)
	}
	refresher := ""
	for _, p := range parts[1:] {
		name, val, _ := strings.Cut(p, "=")
		name, val = strings.ToLower(strings.TrimSpace(name)), strings.ToLower(strings.TrimSpace(val))
		if name == "" || !isToken(name) {
			return 0, "", fmt.Errorf("bad Session-Expires %q", v)
		}
		if name == "refresher" {
			if val != "uac" && val != "uas" || refresher != "" {
				return 0, "", fmt.Errorf("bad Session-Expires refresher %q", v)
			}
			refresher = val
		}
	}
	return secs, refresher, nil
}

// parseMinSE parses a Min-SE value: delta-seconds and generic parameters.
func parseMinSE(v string) (uint32, error) {
	head, params, _ := strings.Cut(v, ";")
	secs, err := parseDelta(head)
	if err != nil || secs == 0 {
		return 0, fmt.Errorf("bad Min-SE %q", v)
	}
	for _, p := range strings.Split(params, ";") {
		name, _, _ := strings.Cut(p, "=")
		if params != "" && !isToken(strings.TrimSpace(name)) {
			return 0, fmt.Errorf("bad Min-SE %q", v)
		}
	}
	return secs, nil
}

// parseDelta parses delta-seconds (RFC 3261 section 25.1): 1*DIGIT, at
// most 2**32-1.
func parseDelta(s string) (uint32, error) {
	s = strings.TrimSpace(s)
	if s == "" || len(s) > 10 {
		return 0, fmt.Errorf("bad delta-seconds %q", s)
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, fmt.Errorf("bad delta-seconds %q", s)
		}
	}
	n, err := strconv.ParseUint(s, 10, 32)
	if err != nil {
		return 0, fmt.Errorf("bad delta-seconds %q", s)
	}
	return uint32(n), nil
}

func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isTokenChar(s[i]) {
			return false
		}
	}
	return true
}
