package media

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// listenWindow is how long each assertion listens.
const listenWindow = 400 * time.Millisecond

// settle is how long a change takes to be heard (ramps, jitter buffers).
const settle = 150 * time.Millisecond

// heard is what each party heard over one window.
type heard struct {
	caller, agent []int16
	ops           [][]int16
}

// listenAll records every party over the same window.
func listenAll(c *testCall, browsers ...*browser) heard {
	time.Sleep(settle)
	mark := time.Now()
	time.Sleep(listenWindow)
	h := heard{caller: c.caller.heard.since(mark), agent: c.agent.heard.since(mark)}
	for _, b := range browsers {
		h.ops = append(h.ops, b.heard.since(mark))
	}
	return h
}

// expectMode asserts the mode matrix of design section 8 for one operator
// saying toneOperator.
func expectMode(t *testing.T, mode OperatorMode, h heard) {
	t.Helper()
	hears(t, "operator", h.ops[0], map[float64]bool{toneCaller: true, toneAgent: true, toneOperator: false})
	hears(t, "caller", h.caller, map[float64]bool{toneAgent: true, toneCaller: false, toneOperator: mode == ModeBarge})
	hears(t, "agent", h.agent, map[float64]bool{toneCaller: true, toneAgent: false, toneOperator: mode != ModeListen})
}

func TestOperatorModes(t *testing.T) {
	e, _ := newTestEngine(t)
	for _, mode := range []OperatorMode{ModeListen, ModeWhisper, ModeBarge} {
		t.Run(string(mode), func(t *testing.T) {
			// The caller speaks PCMA, the agent PCMU: the mix transcodes.
			c := newTestCall(t, PayloadPCMA, PayloadPCMU)
			op, b := joinBrowser(t, e, c, mode, toneOperator)
			if op.Mode() != mode || op.AccountID() != "acct-"+string(mode) || len(op.ID()) != 16 {
				t.Fatalf("operator %s mode %s account %s", op.ID(), op.Mode(), op.AccountID())
			}
			if ops := c.s.Operators(); len(ops) != 1 || ops[0] != op {
				t.Fatalf("Operators() = %v", ops)
			}
			expectMode(t, mode, listenAll(c, b))
			st := op.Stats()
			if st.State != "connected" || st.PacketsReceived == 0 || st.PacketsSent == 0 || st.CallID != c.s.CallID() {
				t.Errorf("stats %+v", st)
			}
		})
	}
}

func TestOperatorModeSwitch(t *testing.T) {
	e, _ := newTestEngine(t)
	c := newTestCall(t, PayloadPCMU, PayloadPCMA)
	op, b := joinBrowser(t, e, c, ModeListen, toneOperator)
	for _, mode := range []OperatorMode{ModeWhisper, ModeBarge, ModeListen, ModeBarge} {
		t.Run(string(mode), func(t *testing.T) {
			if err := op.SetMode(mode); err != nil {
				t.Fatal(err)
			}
			expectMode(t, mode, listenAll(c, b))
		})
	}
	t.Run("mute", func(t *testing.T) {
		op.Mute(true)
		expectMode(t, ModeListen, listenAll(c, b))
		op.Mute(false)
		expectMode(t, ModeBarge, listenAll(c, b))
	})
	t.Run("invalid mode", func(t *testing.T) {
		if err := op.SetMode("shout"); !errors.Is(err, ErrInvalidMode) {
			t.Fatalf("SetMode(shout) = %v", err)
		}
		if op.Mode() != ModeBarge {
			t.Fatalf("mode changed to %s", op.Mode())
		}
	})
}

func TestTwoOperators(t *testing.T) {
	e, _ := newTestEngine(t)
	c := newTestCall(t, PayloadPCMU, PayloadPCMU)
	op1, b1 := joinBrowser(t, e, c, ModeBarge, toneOperator)
	op2, b2 := joinBrowser(t, e, c, ModeListen, toneOperator2)

	t.Run("barge and listen", func(t *testing.T) {
		h := listenAll(c, b1, b2)
		// A listening operator is heard by nobody, not even operators.
		hears(t, "operator 1", h.ops[0], map[float64]bool{toneCaller: true, toneAgent: true, toneOperator: false, toneOperator2: false})
		// Operators hear every other operator heard on the call.
		hears(t, "operator 2", h.ops[1], map[float64]bool{toneCaller: true, toneAgent: true, toneOperator: true, toneOperator2: false})
		hears(t, "caller", h.caller, map[float64]bool{toneAgent: true, toneOperator: true, toneOperator2: false})
		hears(t, "agent", h.agent, map[float64]bool{toneCaller: true, toneOperator: true, toneOperator2: false})
	})
	t.Run("barge and whisper", func(t *testing.T) {
		if err := op2.SetMode(ModeWhisper); err != nil {
			t.Fatal(err)
		}
		h := listenAll(c, b1, b2)
		hears(t, "operator 1", h.ops[0], map[float64]bool{toneCaller: true, toneAgent: true, toneOperator: false, toneOperator2: true})
		hears(t, "operator 2", h.ops[1], map[float64]bool{toneCaller: true, toneAgent: true, toneOperator: true, toneOperator2: false})
		hears(t, "caller", h.caller, map[float64]bool{toneAgent: true, toneOperator: true, toneOperator2: false})
		hears(t, "agent", h.agent, map[float64]bool{toneCaller: true, toneOperator: true, toneOperator2: true})
	})
	t.Run("first leaves", func(t *testing.T) {
		if err := op1.Close(); err != nil {
			t.Fatal(err)
		}
		waitDone(t, op1, time.Second)
		if ops := c.s.Operators(); len(ops) != 1 || ops[0] != op2 {
			t.Fatalf("Operators() = %v", ops)
		}
		h := listenAll(c, b2)
		hears(t, "operator 2", h.ops[0], map[float64]bool{toneCaller: true, toneAgent: true, toneOperator: false})
		hears(t, "caller", h.caller, map[float64]bool{toneAgent: true, toneOperator: false, toneOperator2: false})
		hears(t, "agent", h.agent, map[float64]bool{toneCaller: true, toneOperator: false, toneOperator2: true})
	})
}

// streamCheck follows the stream a peer receives: one SSRC, sequence
// numbers and timestamps that never go back.
type streamCheck struct {
	ssrc    uint32
	seq     uint16
	ts      uint32
	started bool
}

func (s *streamCheck) check(t *testing.T, who string, raw [][]byte) {
	t.Helper()
	for _, b := range raw {
		var p rtp.Packet
		if err := p.Unmarshal(b); err != nil {
			t.Fatal(err)
		}
		if s.started {
			if p.SSRC != s.ssrc {
				t.Fatalf("%s: SSRC changed from %#x to %#x", who, s.ssrc, p.SSRC)
			}
			if d := p.SequenceNumber - s.seq; d == 0 || d > 100 {
				t.Fatalf("%s: sequence number %d after %d", who, p.SequenceNumber, s.seq)
			}
			if d := int32(p.Timestamp - s.ts); d <= 0 || d > 100*frameSamples {
				t.Fatalf("%s: timestamp %d after %d", who, p.Timestamp, s.ts)
			}
		}
		s.started, s.ssrc, s.seq, s.ts = true, p.SSRC, p.SequenceNumber, p.Timestamp
	}
}

func TestLastOperatorLeavingRestoresRelay(t *testing.T) {
	e, reg := newTestEngine(t)
	c := newTestCall(t, PayloadPCMU, PayloadPCMU)
	for _, p := range []*tonePeer{c.caller, c.agent} {
		p.mu.Lock()
		p.keepRaw = true
		p.mu.Unlock()
	}
	time.Sleep(100 * time.Millisecond)
	op, b := joinBrowser(t, e, c, ModeBarge, toneOperator)
	expectMode(t, ModeBarge, listenAll(c, b))
	if testutil.ToFloat64(e.metrics.frames) == 0 {
		t.Fatal("no mixer frames counted")
	}
	if err := op.Close(); err != nil {
		t.Fatal(err)
	}
	waitDone(t, op, time.Second)
	eventually(t, "mixer gone", func() bool { return c.s.mix.Load() == nil })
	if n := len(c.s.Operators()); n != 0 {
		t.Fatalf("%d operators left", n)
	}
	if got := testutil.ToFloat64(e.metrics.joins[joinOK]); got != 1 {
		t.Fatalf("joins ok = %v", got)
	}
	_ = reg

	// Plain relay again: nothing of the operator, and each packet byte for
	// byte what the other party sent.
	h := listenAll(c)
	hears(t, "caller", h.caller, map[float64]bool{toneAgent: true, toneOperator: false})
	hears(t, "agent", h.agent, map[float64]bool{toneCaller: true, toneOperator: false})
	for _, pair := range []struct {
		name     string
		from, to *tonePeer
	}{{"caller to agent", c.caller, c.agent}, {"agent to caller", c.agent, c.caller}} {
		t.Run(pair.name, func(t *testing.T) {
			pair.to.mu.Lock()
			raw := append([][]byte(nil), pair.to.rawSeen...)
			pair.to.mu.Unlock()
			// The whole call, relayed then mixed then relayed, is one
			// stream: same SSRC, numbering going forward.
			var sc streamCheck
			sc.check(t, pair.name, raw)
			last := raw[len(raw)-10:]
			pair.from.mu.Lock()
			defer pair.from.mu.Unlock()
			for _, got := range last {
				var p rtp.Packet
				if err := p.Unmarshal(got); err != nil {
					t.Fatal(err)
				}
				sent, ok := pair.from.sent[p.SequenceNumber]
				if !ok || !bytes.Equal(sent, got) {
					t.Fatalf("packet seq %d is not the one sent (found %v):\n got %x\nsent %x", p.SequenceNumber, ok, got[:16], sent)
				}
			}
		})
	}
}

func TestOperatorPeerVanishes(t *testing.T) {
	e, _ := newTestEngine(t)
	c := newTestCall(t, PayloadPCMU, PayloadPCMU)
	op, b := joinBrowser(t, e, c, ModeBarge, toneOperator)
	expectMode(t, ModeBarge, listenAll(c, b))

	b.vanish()
	// No close_notify: the edge notices by ICE consent failure.
	waitDone(t, op, 10*time.Second)
	if n := len(c.s.Operators()); n != 0 {
		t.Fatalf("%d operators after the browser vanished", n)
	}
	eventually(t, "mixer gone", func() bool { return c.s.mix.Load() == nil })
	if e.Active() != 0 {
		t.Fatalf("engine has %d operators", e.Active())
	}
	h := listenAll(c)
	hears(t, "caller", h.caller, map[float64]bool{toneAgent: true, toneOperator: false})
	hears(t, "agent", h.agent, map[float64]bool{toneCaller: true, toneOperator: false})
}

func TestOperatorBrowserHangsUp(t *testing.T) {
	e, _ := newTestEngine(t)
	c := newTestCall(t, PayloadPCMU, PayloadPCMU)
	op, b := joinBrowser(t, e, c, ModeWhisper, toneOperator)
	b.close() // a clean close: DTLS close_notify
	waitDone(t, op, 5*time.Second)
	if n := len(c.s.Operators()); n != 0 {
		t.Fatalf("%d operators after the browser closed", n)
	}
}

func TestCallEndClosesOperators(t *testing.T) {
	e, _ := newTestEngine(t)
	c := newTestCall(t, PayloadPCMU, PayloadPCMU)
	op1, _ := joinBrowser(t, e, c, ModeListen, toneOperator)
	op2, _ := joinBrowser(t, e, c, ModeBarge, toneOperator2)
	if err := c.s.Close(); err != nil {
		t.Fatal(err)
	}
	waitDone(t, op1, time.Second)
	waitDone(t, op2, time.Second)
	if e.Active() != 0 {
		t.Fatalf("engine has %d operators", e.Active())
	}
	if err := op1.SetMode(ModeBarge); !errors.Is(err, ErrClosed) {
		t.Fatalf("SetMode after the call ended = %v", err)
	}
	if err := op1.Close(); err != nil {
		t.Fatalf("second Close = %v", err)
	}

	b := newBrowser(t, toneOperator)
	_, _, err := e.Join(context.Background(), c.s, "acct", ModeListen, b.offer())
	if !errors.Is(err, ErrClosed) {
		t.Fatalf("Join on an ended call = %v", err)
	}
	if got := testutil.ToFloat64(e.metrics.joins[joinClosed]); got != 1 {
		t.Fatalf("joins closed = %v", got)
	}
	if e.Active() != 0 {
		t.Fatalf("engine has %d operators after a refused join", e.Active())
	}
}

func TestJoinRejectsBadOffers(t *testing.T) {
	e, _ := newTestEngine(t)
	c := newTestCall(t, PayloadPCMU, PayloadPCMU)
	good := newBrowser(t, toneOperator).offer()
	noPCMU := dropCodec(good, "PCMU")
	tests := []struct {
		name   string
		mode   OperatorMode
		offer  string
		want   error
		result string
	}{
		{name: "empty", mode: ModeListen, offer: "", want: ErrBadOffer, result: joinBadOffer},
		{name: "garbage", mode: ModeListen, offer: "hello\r\nworld\r\n", want: ErrBadOffer, result: joinBadOffer},
		{name: "oversize", mode: ModeListen, offer: good + strings.Repeat("a=x-pad:"+strings.Repeat("z", 100)+"\r\n", 700), want: ErrSDPTooLarge, result: joinBadOffer},
		{name: "no pcmu", mode: ModeListen, offer: noPCMU, want: ErrNoPCMU, result: joinNoPCMU},
		{name: "no audio", mode: ModeListen, offer: "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\na=rtpmap:96 VP8/90000\r\n", want: ErrNoPCMU, result: joinNoPCMU},
		{name: "no fingerprint", mode: ModeListen, offer: dropLines(good, "a=fingerprint:"), want: ErrBadOffer, result: joinBadOffer},
		{name: "no ice credentials", mode: ModeListen, offer: dropLines(good, "a=ice-ufrag:"), want: ErrBadOffer, result: joinBadOffer},
		{name: "bad mode", mode: "shout", offer: good, want: ErrInvalidMode, result: joinBadMode},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := testutil.ToFloat64(e.metrics.joins[tt.result])
			op, answer, err := e.Join(context.Background(), c.s, "acct", tt.mode, tt.offer)
			if !errors.Is(err, tt.want) || op != nil || answer != "" {
				t.Fatalf("Join = %v, %q, %v; want %v", op, answer, err, tt.want)
			}
			if tt.want == ErrSDPTooLarge && !errors.Is(err, ErrBadOffer) {
				t.Fatalf("oversize offer error %v is not ErrBadOffer", err)
			}
			if got := testutil.ToFloat64(e.metrics.joins[tt.result]); got != before+1 {
				t.Fatalf("joins %s = %v, want %v", tt.result, got, before+1)
			}
			if n := len(c.s.Operators()); n != 0 || e.Active() != 0 {
				t.Fatalf("refused join left %d operators on the call, %d in the engine", n, e.Active())
			}
		})
	}
	if c.s.mix.Load() != nil {
		t.Fatal("refused joins started a mixer")
	}
}

// dropCodec removes a codec from every m= line and its attributes.
func dropCodec(offer, name string) string {
	var pt string
	for _, l := range strings.Split(offer, "\r\n") {
		if strings.HasPrefix(l, "a=rtpmap:") && strings.Contains(l, " "+name+"/") {
			pt = strings.Fields(strings.TrimPrefix(l, "a=rtpmap:"))[0]
		}
	}
	var out []string
	for _, l := range strings.Split(offer, "\r\n") {
		switch {
		case strings.HasPrefix(l, "m=audio"):
			f := strings.Fields(l)
			kept := f[:3]
			for _, x := range f[3:] {
				if x != pt {
					kept = append(kept, x)
				}
			}
			l = strings.Join(kept, " ")
		case strings.HasPrefix(l, "a=rtpmap:"+pt+" "), strings.HasPrefix(l, "a=fmtp:"+pt+" "), strings.HasPrefix(l, "a=rtcp-fb:"+pt+" "):
			continue
		}
		out = append(out, l)
	}
	return strings.Join(out, "\r\n")
}

// dropLines removes the lines starting with prefix.
func dropLines(offer, prefix string) string {
	var out []string
	for _, l := range strings.Split(offer, "\r\n") {
		if !strings.HasPrefix(l, prefix) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\r\n")
}

func TestAnswer(t *testing.T) {
	tests := []struct {
		name      string
		publicIPs []string
		want      []string
		wantNot   []string
	}{
		{
			name:    "local",
			want:    []string{"a=rtpmap:0 PCMU/8000", "a=fingerprint:", "a=setup:", "a=end-of-candidates", " 127.0.0.1 "},
			wantNot: []string{"opus", "G722", "PCMA", "a=candidate:.* tcp "},
		},
		{
			name:      "nat 1:1",
			publicIPs: []string{"203.0.113.7"},
			want:      []string{" 203.0.113.7 ", "a=rtpmap:0 PCMU/8000"},
			wantNot:   []string{" 127.0.0.1 "},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
			if err != nil {
				t.Fatal(err)
			}
			e, err := NewOperatorEngine(WebRTCConfig{PublicIPs: tt.publicIPs}, nil, slog.New(slog.DiscardHandler), WithICEConn(conn))
			if err != nil {
				t.Fatal(err)
			}
			defer e.Close()
			c := newTestCall(t, PayloadPCMU, PayloadPCMU)
			op, answer, err := e.Join(context.Background(), c.s, "acct", ModeListen, newBrowser(t, toneOperator).offer())
			if err != nil {
				t.Fatal(err)
			}
			defer op.Close()
			port := fmt.Sprintf(" %d typ host", e.ICEAddr().Port())
			if !strings.Contains(answer, port) {
				t.Errorf("answer has no host candidate on the ICE port%s:\n%s", port, answer)
			}
			for _, w := range tt.want {
				if !strings.Contains(answer, w) {
					t.Errorf("answer lacks %q:\n%s", w, answer)
				}
			}
			for _, w := range tt.wantNot {
				if regexp.MustCompile(w).MatchString(answer) {
					t.Errorf("answer has %q:\n%s", w, answer)
				}
			}
		})
	}
}

func TestWebRTCConfigValidate(t *testing.T) {
	tests := []struct {
		name  string
		cfg   WebRTCConfig
		field string
	}{
		{name: "defaults", cfg: DefaultWebRTCConfig()},
		{name: "port", cfg: WebRTCConfig{ICEPort: 70000}, field: "ice_port"},
		{name: "public ip", cfg: WebRTCConfig{PublicIPs: []string{"edge.example.com"}}, field: "public_ips"},
		{name: "unspecified public ip", cfg: WebRTCConfig{PublicIPs: []string{"0.0.0.0"}}, field: "public_ips"},
		{name: "timeout", cfg: WebRTCConfig{ICEFailedTimeout: -time.Second}, field: "ice_failed_timeout"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Validate()
			if tt.field == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if !errors.Is(err, ErrInvalidConfig) || !strings.Contains(err.Error(), tt.field) {
				t.Fatalf("Validate = %v, want ErrInvalidConfig naming %s", err, tt.field)
			}
		})
	}
	if _, err := NewOperatorEngine(WebRTCConfig{ICEPort: -1}, nil, nil); !errors.Is(err, ErrInvalidConfig) {
		t.Fatalf("NewOperatorEngine with a bad config = %v", err)
	}
}

func TestParseOperatorMode(t *testing.T) {
	for _, s := range []string{"listen", "whisper", "barge"} {
		if m, err := ParseOperatorMode(s); err != nil || string(m) != s {
			t.Errorf("ParseOperatorMode(%q) = %q, %v", s, m, err)
		}
	}
	for _, s := range []string{"", "Listen", "spy"} {
		if _, err := ParseOperatorMode(s); !errors.Is(err, ErrInvalidMode) {
			t.Errorf("ParseOperatorMode(%q) = %v", s, err)
		}
	}
}

func TestOperatorNoGoroutineLeak(t *testing.T) {
	before := runtime.NumGoroutine()
	t.Run("call", func(t *testing.T) {
		e, _ := newTestEngine(t)
		c := newTestCall(t, PayloadPCMU, PayloadPCMA)
		op1, _ := joinBrowser(t, e, c, ModeBarge, toneOperator)
		_, b2 := joinBrowser(t, e, c, ModeWhisper, toneOperator2)
		time.Sleep(200 * time.Millisecond)
		_ = op1.Close()
		b2.vanish()
	})
	settleGoroutines(t, before)
}

func TestNewOperatorEngineBinds(t *testing.T) {
	t.Run("specific address", func(t *testing.T) {
		e, err := NewOperatorEngine(WebRTCConfig{ICEAddr: netip.MustParseAddr("127.0.0.1")}, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer e.Close()
		if a := e.ICEAddr(); a.Addr() != netip.MustParseAddr("127.0.0.1") || a.Port() == 0 {
			t.Fatalf("ICEAddr = %s", a)
		}
		// The port is taken: a second engine on it fails, naming it.
		_, err = NewOperatorEngine(WebRTCConfig{ICEAddr: e.ICEAddr().Addr(), ICEPort: int(e.ICEAddr().Port())}, nil, nil)
		if err == nil || !strings.Contains(err.Error(), e.ICEAddr().String()) {
			t.Fatalf("second engine on %s: %v", e.ICEAddr(), err)
		}
	})
	t.Run("every interface needs a port", func(t *testing.T) {
		if _, err := NewOperatorEngine(WebRTCConfig{}, nil, nil); !errors.Is(err, ErrInvalidConfig) {
			t.Fatalf("NewOperatorEngine without port = %v", err)
		}
	})
	t.Run("metrics registered", func(t *testing.T) {
		_, reg := newTestEngine(t)
		mfs, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		names := map[string]bool{}
		for _, mf := range mfs {
			names[mf.GetName()] = true
		}
		for _, n := range []string{"edge_media_operators_active", "edge_media_operator_joins_total", "edge_media_mixer_frames_total", "edge_media_mixer_late_frames_total"} {
			if !names[n] {
				t.Errorf("metric %s not registered (have %v)", n, names)
			}
		}
	})
}
