package sip

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/voiceedge/edge/routing"
	"github.com/voiceedge/edge/tenancy"
)

// TestServiceHeadersBudget checks that the X- headers to a service stay
// under 1 KiB with the longest values they can carry, and that voice
// settings too large for the budget are cut and marked truncated (the
// service reads them whole from the call context).
func TestServiceHeadersBudget(t *testing.T) {
	token := "ws_" + strings.Repeat("a", 16) + "." + strings.Repeat("b", 43)
	long := func(n int) string { return strings.Repeat("x", n) }
	tests := []struct {
		name      string
		voiceB64  string
		token     string
		wantVoice bool
	}{
		{"small voice settings", base64.RawURLEncoding.EncodeToString([]byte(`{"tts_voice":"alloy","speed":1}`)), token, true},
		{"voice settings over the budget", base64.RawURLEncoding.EncodeToString([]byte(long(2000))), token, true},
		{"no token", base64.RawURLEncoding.EncodeToString([]byte(long(300))), "", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := &routing.Route{
				Number:    "+" + strings.Repeat("9", 15),
				Workspace: &routing.WorkspaceView{ID: "ws_" + strings.Repeat("z", 61), Environment: tenancy.EnvDevelopment},
				Service:   &routing.Service{ID: long(64)}, VoiceSettingsB64: tc.voiceB64,
			}
			hs := serviceHeaders("call_"+long(20), r, identity{caller: long(64)}, tc.token, MaxServiceHeaders)
			var wire bytes.Buffer
			names := map[string]string{}
			for _, h := range hs {
				fmt.Fprintf(&wire, "%s: %s\r\n", h.Name(), h.Value())
				names[h.Name()] = h.Value()
			}
			if wire.Len() >= 1024 || headersSize(hs) != wire.Len() {
				t.Fatalf("X- headers take %d bytes (counted %d), want under 1024", wire.Len(), headersSize(hs))
			}
			v, ok := names[HeaderVoiceSettings]
			if ok != tc.wantVoice {
				t.Fatalf("X-Voice-Settings present: %v, want %v", ok, tc.wantVoice)
			}
			if over := len(tc.voiceB64) > 1024; ok && over {
				js, err := base64.RawURLEncoding.DecodeString(v)
				if err != nil || !strings.Contains(string(js), `"truncated":true`) {
					t.Fatalf("X-Voice-Settings of settings over the budget: %s, want them marked truncated", js)
				}
			}
			if got := names[HeaderCallToken]; got != tc.token {
				t.Fatalf("token header %q, want %q", got, tc.token)
			}
		})
	}
}

// syncBuffer is a log sink safe for concurrent writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestServiceGetsCallToken places a call to a raw service socket that
// refuses it: its
// INVITE carries a call token that the store resolves to that call of
// that workspace; when the call ends the token has 60 s left; the edge
// never logs it.
func TestServiceGetsCallToken(t *testing.T) {
	logs := &syncBuffer{}
	e := newTestEdge(t, func(o *edgeOptions) {
		o.logs = logs
	})
	svc, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { svc.Close() })
	ws := e.addWorkspace(t, wsSpec{name: "Clinic", number: "+15551230001", cidr: "127.0.0.1/32",
		target: fmt.Sprintf("sip:agent@%s", svc.LocalAddr())})
	trunk := newRawTrunk(t, "127.0.0.1", e.udpAddr)
	inv := trunk.newInvite("+15551230001")
	trunk.send(t, inv.text(trunk.local()))

	_ = svc.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 8192)
	n, from, err := svc.ReadFromUDP(buf)
	if err != nil {
		t.Fatalf("no INVITE at the service: %v", err)
	}
	msg, err := sip.NewParser().ParseSIP(buf[:n])
	if err != nil {
		t.Fatalf("parse the service's INVITE: %v\n%s", err, buf[:n])
	}
	req, ok := msg.(*sip.Request)
	if !ok || req.Method != sip.INVITE {
		t.Fatalf("the service got %v", msg)
	}
	header := func(name string) string {
		if h := req.GetHeader(name); h != nil {
			return h.Value()
		}
		return ""
	}
	token, callID := header(HeaderCallToken), header(HeaderCallID)
	if token == "" || callID == "" {
		t.Fatalf("INVITE without %s or %s:\n%s", HeaderCallToken, HeaderCallID, buf[:n])
	}
	total := 0
	for _, line := range strings.Split(string(buf[:n]), "\r\n") {
		if strings.HasPrefix(line, "X-") {
			total += len(line) + 2
		}
	}
	if total >= 1024 {
		t.Fatalf("X- headers take %d bytes", total)
	}
	ctx := context.Background()
	p, err := e.store.AuthenticateCallToken(ctx, token)
	if err != nil || p.WorkspaceID != ws || p.CallID != callID || p.ServiceID != "agent" {
		t.Fatalf("token resolves to %+v, %v; want call %s of %s", p, err, callID, ws)
	}

	// The service refuses the call: the trunk gets 503 and the call ends.
	if _, err := svc.WriteToUDP([]byte(sip.NewResponseFromRequest(req, 503, "Service Unavailable", nil).String()), from); err != nil {
		t.Fatal(err)
	}
	res, raw := trunk.final(t, 10*time.Second)
	if res == nil || res.StatusCode != 503 {
		t.Fatalf("trunk got %v\n%s", res, raw)
	}
	trunk.ack(t, inv, res)
	e.waitEnded(t, ws, 1)
	key := "{ws:" + ws + "}:calltoken:" + tenancy.HashKey(token)
	waitFor(t, 5*time.Second, "token shortened to its grace", func() bool {
		ttl, err := e.store.Client().TTL(ctx, key).Result()
		return err == nil && ttl > 0 && ttl <= tenancy.CallTokenGrace
	})
	if strings.Contains(logs.String(), token) || strings.Contains(logs.String(), token[strings.IndexByte(token, '.')+1:]) {
		t.Fatalf("the edge logged the call token")
	}
	if !strings.Contains(logs.String(), callID) {
		t.Fatalf("the log sink saw nothing of the call (is it wired?)")
	}
}
