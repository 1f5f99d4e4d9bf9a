package media

import (
	"context"
	"encoding/json"
	"errors"
	"net/netip"
	"runtime"
	"testing"
	"time"
)

func TestSessionStatsLossAndJitter(t *testing.T) {
	t.Parallel()
	c, _ := newCall(t, DefaultConfig(), PayloadPCMU, NoPayloadType, PayloadPCMU, NoPayloadType)
	// 12 packets of 20 ms, seq 100..111 without 105, sent 10 ms early or
	// late in turn: real interarrival jitter.
	for i := range 12 {
		seq := uint16(100 + i)
		if seq == 105 {
			continue
		}
		c.trunk.send(c.a, rtpPacket(t, 0, seq, uint32(i)*160, 0x1234, ramp(0)))
		c.service.recv()
		time.Sleep(time.Duration(10+20*(i%2)) * time.Millisecond)
	}
	st := c.s.Stats()
	a := st.A
	if a.PacketsReceived != 11 || a.PacketsExpected != 12 || a.PacketsLost != 1 {
		t.Fatalf("received %d expected %d lost %d; want 11, 12, 1", a.PacketsReceived, a.PacketsExpected, a.PacketsLost)
	}
	if a.JitterMs <= 1 {
		t.Fatalf("jitter %.3f ms, want > 1 ms with 10 ms of send jitter", a.JitterMs)
	}
	if a.BytesReceived != 11*(12+160) || st.B.BytesSent != a.BytesReceived {
		t.Fatalf("bytes received %d, sent to B %d", a.BytesReceived, st.B.BytesSent)
	}
	if a.LastPacket.IsZero() || time.Since(a.LastPacket) > 5*time.Second {
		t.Fatalf("last packet %v", a.LastPacket)
	}
	if st.B.PacketsReceived != 0 || st.B.PacketsLost != 0 || !st.B.LastPacket.IsZero() {
		t.Fatalf("B stats %+v", st.B)
	}

	b, err := json.Marshal(st)
	if err != nil {
		t.Fatal(err)
	}
	var back struct {
		CallID string         `json:"call_id"`
		A      map[string]any `json:"a"`
	}
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if back.CallID != t.Name() || back.A["packets_lost"] != float64(1) || back.A["jitter_ms"] == nil {
		t.Fatalf("json %s", b)
	}
}

func TestSessionMediaTimeout(t *testing.T) {
	t.Parallel()
	const timeout = 150 * time.Millisecond
	cfg := Config{MediaTimeout: timeout}

	t.Run("no media at all", func(t *testing.T) {
		t.Parallel()
		c, reg := newCall(t, cfg, PayloadPCMU, NoPayloadType, PayloadPCMU, NoPayloadType)
		hooked := make(chan struct{}, 2)
		c.s.OnTimeout(func() { hooked <- struct{}{} })
		select {
		case <-c.s.TimedOut():
		case <-time.After(2 * time.Second):
			t.Fatal("no media timeout")
		}
		late := make(chan struct{}, 2)
		c.s.OnTimeout(func() { late <- struct{}{} }) // set after the timeout: called at once
		for name, ch := range map[string]chan struct{}{"OnTimeout before": hooked, "OnTimeout after": late} {
			select {
			case <-ch:
			case <-time.After(2 * time.Second):
				t.Fatalf("%s the timeout: not called", name)
			}
		}
		time.Sleep(2 * timeout)
		if len(hooked)+len(late) != 0 {
			t.Fatal("an OnTimeout hook was called twice")
		}
		if v := counterValue(t, reg, "edge_media_timeouts_total", "", ""); v != 1 {
			t.Fatalf("timeouts_total = %v", v)
		}
	})

	t.Run("media keeps it alive, silence ends it", func(t *testing.T) {
		t.Parallel()
		c, _ := newCall(t, cfg, PayloadPCMU, NoPayloadType, PayloadPCMU, NoPayloadType)
		start := time.Now()
		var lastSend time.Time
		for i := range 15 { // 450 ms of RTP, from the service only
			lastSend = time.Now()
			c.service.send(c.b, rtpPacket(t, 0, uint16(i), uint32(i)*160, 9, ramp(0)))
			time.Sleep(30 * time.Millisecond)
		}
		select {
		case <-c.s.TimedOut():
			t.Fatalf("timed out while RTP flowed (after %v)", time.Since(start))
		default:
		}
		select {
		case <-c.s.TimedOut():
			if idle := time.Since(lastSend); idle < timeout {
				t.Fatalf("timed out after only %v of silence", idle)
			}
		case <-time.After(2 * time.Second):
			t.Fatal("no media timeout after RTP stopped")
		}
	})

	t.Run("hold suspends it", func(t *testing.T) {
		t.Parallel()
		c, _ := newCall(t, cfg, PayloadPCMU, NoPayloadType, PayloadPCMU, NoPayloadType)
		c.s.SetHold(true)
		select {
		case <-c.s.TimedOut():
			t.Fatal("timed out on hold")
		case <-time.After(3 * timeout):
		}
		c.s.SetHold(false)
		resumed := time.Now()
		select {
		case <-c.s.TimedOut():
			if idle := time.Since(resumed); idle < timeout {
				t.Fatalf("timed out %v after resume, before a full period", idle)
			}
		case <-time.After(2 * time.Second):
			t.Fatal("no media timeout after resume")
		}
	})

	t.Run("disabled", func(t *testing.T) {
		t.Parallel()
		c, _ := newCall(t, Config{}, PayloadPCMU, NoPayloadType, PayloadPCMU, NoPayloadType)
		select {
		case <-c.s.TimedOut():
			t.Fatal("timed out with MediaTimeout 0")
		case <-time.After(3 * timeout):
		}
	})
}

func TestSessionSetRemoteValidates(t *testing.T) {
	t.Parallel()
	m, _ := newTestManager(t, DefaultConfig())
	s, err := m.NewSession("validate")
	if err != nil {
		t.Fatal(err)
	}
	ok := netip.MustParseAddrPort("127.0.0.1:4000")
	tests := []struct {
		name            string
		leg             Leg
		addr            netip.AddrPort
		codecPT, dtmfPT uint8
		want            error
	}{
		{name: "G.729", leg: LegA, addr: ok, codecPT: 18, dtmfPT: NoPayloadType, want: ErrUnsupportedCodec},
		{name: "event PT out of range", leg: LegA, addr: ok, codecPT: 0, dtmfPT: 128, want: ErrUnsupportedCodec},
		{name: "event PT is the codec's", leg: LegA, addr: ok, codecPT: 8, dtmfPT: 8, want: ErrUnsupportedCodec},
		{name: "no address", leg: LegA, codecPT: 0, dtmfPT: NoPayloadType, want: ErrInvalidRemote},
		{name: "multicast", leg: LegB, addr: netip.MustParseAddrPort("239.1.1.1:4000"), codecPT: 0, dtmfPT: NoPayloadType, want: ErrInvalidRemote},
		{name: "bad leg", leg: 7, addr: ok, codecPT: 0, dtmfPT: NoPayloadType, want: ErrInvalidLeg},
		{name: "valid", leg: LegB, addr: ok, codecPT: 8, dtmfPT: 101},
		{name: "hold address", leg: LegB, addr: netip.MustParseAddrPort("0.0.0.0:4000"), codecPT: 8, dtmfPT: 101},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := s.SetRemote(tt.leg, tt.addr, tt.codecPT, tt.dtmfPT); !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
		})
	}
	s.Close()
	if err := s.SetRemote(LegA, ok, 0, NoPayloadType); !errors.Is(err, ErrClosed) {
		t.Fatalf("after Close: %v", err)
	}
}

// A re-INVITE with c=0.0.0.0 stops RTP towards that leg, but the held party
// may still send (music on hold); resuming restores the flow.
func TestSessionLegacyHold(t *testing.T) {
	t.Parallel()
	c, _ := newCall(t, DefaultConfig(), PayloadPCMU, NoPayloadType, PayloadPCMU, NoPayloadType)
	c.trunk.send(c.a, rtpPacket(t, 0, 1, 160, 1, ramp(0)))
	c.service.recv()

	if err := c.s.SetRemote(LegA, netip.MustParseAddrPort("0.0.0.0:0"), PayloadPCMU, NoPayloadType); err != nil {
		t.Fatal(err)
	}
	c.service.send(c.b, rtpPacket(t, 0, 1, 160, 2, ramp(0)))
	c.trunk.expectNothing()
	c.trunk.send(c.a, rtpPacket(t, 0, 2, 320, 1, ramp(0))) // music on hold
	c.service.recv()

	if err := c.s.SetRemote(LegA, c.trunk.addr(), PayloadPCMU, NoPayloadType); err != nil {
		t.Fatal(err)
	}
	c.service.send(c.b, rtpPacket(t, 0, 2, 320, 2, ramp(0)))
	c.trunk.recv()
}

func TestSessionCloseReleasesEverything(t *testing.T) {
	// Not parallel: counts goroutines.
	before := runtime.NumGoroutine()
	m, _ := newTestManager(t, Config{MediaTimeout: time.Minute})
	pool := m.pool
	for _, stop := range []string{"close", "cancel", "both"} {
		t.Run(stop, func(t *testing.T) { runAndStop(t, m, stop) })
	}
	if pool.InUse() != 0 || m.Active() != 0 {
		t.Fatalf("InUse %d, Active %d after Close", pool.InUse(), m.Active())
	}
	waitGoroutines(t, before)
}

func TestSessionRunTwice(t *testing.T) {
	t.Parallel()
	m, _ := newTestManager(t, DefaultConfig())
	s := newRunningSession(t, m, "twice")
	eventually(t, "running", func() bool {
		s.mu.Lock()
		defer s.mu.Unlock()
		return s.running
	})
	if err := s.Run(context.Background()); !errors.Is(err, ErrAlreadyRunning) {
		t.Fatalf("second Run: %v", err)
	}
}

func TestSessionCloseWithoutRun(t *testing.T) {
	t.Parallel()
	m, _ := newTestManager(t, DefaultConfig())
	s, err := m.NewSession("never-run")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, ok := m.Session("never-run"); ok {
		t.Fatal("closed session still tracked")
	}
}

// runAndStop runs a session with traffic, stops it the given way and
// checks that Run returns and the session is finished.
func runAndStop(t *testing.T, m *Manager, stop string) {
	s, err := m.NewSession("close-" + stop)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	trunk, service := newPeer(t, "127.0.0.1"), newPeer(t, "127.0.0.1")
	if err := s.SetRemote(LegA, trunk.addr(), 0, NoPayloadType); err != nil {
		t.Fatal(err)
	}
	if err := s.SetRemote(LegB, service.addr(), 0, NoPayloadType); err != nil {
		t.Fatal(err)
	}
	trunk.send(s.LocalAddr(LegA), rtpPacket(t, 0, 1, 160, 1, ramp(0)))
	service.recv()

	if stop == "cancel" || stop == "both" {
		cancel() // the context ends, as on shutdown
	}
	if stop == "close" || stop == "both" {
		if err := s.Close(); err != nil { // as on BYE
			t.Fatal(err)
		}
	}
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	if err := s.Close(); err != nil { // idempotent
		t.Fatal(err)
	}
	if err := s.Run(context.Background()); !errors.Is(err, ErrClosed) {
		t.Fatalf("Run after Close: %v", err)
	}
	trunk.conn.Close()
	service.conn.Close()
}
