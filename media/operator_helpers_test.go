package media

import (
	"context"
	"log/slog"
	"math"
	"net"
	"net/netip"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
	"github.com/prometheus/client_golang/prometheus"
)

// Test tones: each party says something else.
const (
	toneCaller    = 440.0
	toneAgent     = 1000.0
	toneOperator  = 2000.0
	toneOperator2 = 3000.0
	toneAmp       = 6000.0
)

// toneGen makes 20 ms frames of a sine, phase-continuous.
type toneGen struct {
	freq  float64
	phase float64
}

func (g *toneGen) frame(dst []int16) {
	step := 2 * math.Pi * g.freq / clockRate
	for i := range dst {
		dst[i] = int16(toneAmp * math.Sin(g.phase))
		g.phase += step
	}
	g.phase = math.Mod(g.phase, 2*math.Pi)
}

// toneLevel estimates the amplitude of freq in samples with the Goertzel
// algorithm.
func toneLevel(samples []int16, freq float64) float64 {
	if len(samples) == 0 {
		return 0
	}
	coeff := 2 * math.Cos(2*math.Pi*freq/clockRate)
	var s1, s2 float64
	for _, x := range samples {
		s0 := float64(x) + coeff*s1 - s2
		s2, s1 = s1, s0
	}
	power := s1*s1 + s2*s2 - coeff*s1*s2
	return 2 * math.Sqrt(max(power, 0)) / float64(len(samples))
}

// heardThreshold separates a tone that is present (about toneAmp, less
// when frames were lost) from one that is not (G.711 noise and leakage).
const heardThreshold = toneAmp / 4

// capture records decoded audio as it arrives.
type capture struct {
	mu      sync.Mutex
	samples []int16
	at      []time.Time // arrival of each 160-sample chunk (per packet)
	starts  []int
}

func (c *capture) add(pcm []int16) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.starts = append(c.starts, len(c.samples))
	c.at = append(c.at, time.Now())
	c.samples = append(c.samples, pcm...)
}

// since returns the audio that arrived after t.
func (c *capture) since(t time.Time) []int16 {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i, at := range c.at {
		if at.After(t) {
			return append([]int16(nil), c.samples[c.starts[i]:]...)
		}
	}
	return nil
}

// tonePeer is a leg's far end on a real UDP socket: it sends a tone as RTP
// every 20 ms and records what it receives.
type tonePeer struct {
	t     testing.TB
	conn  *net.UDPConn
	pt    uint8
	ssrc  uint32
	heard capture

	mu      sync.Mutex
	to      netip.AddrPort
	sent    map[uint16][]byte // recently sent packets by sequence number
	rawSeen [][]byte          // raw packets received, when keepRaw
	keepRaw bool
	paused  bool
}

// newTonePeer starts a peer sending freq with payload type pt to to.
func newTonePeer(t testing.TB, pt uint8, freq float64, ssrc uint32) *tonePeer {
	t.Helper()
	conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	p := &tonePeer{t: t, conn: conn, pt: pt, ssrc: ssrc, sent: make(map[uint16][]byte)}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); p.receive() }()
	go func() { defer wg.Done(); p.send(ctx, freq) }()
	t.Cleanup(func() {
		cancel()
		conn.Close()
		wg.Wait()
	})
	return p
}

func (p *tonePeer) addr() netip.AddrPort { return p.conn.LocalAddr().(*net.UDPAddr).AddrPort() }

// target sets where the peer sends (the session's leg).
func (p *tonePeer) target(to netip.AddrPort) {
	p.mu.Lock()
	p.to = to
	p.mu.Unlock()
}

func (p *tonePeer) send(ctx context.Context, freq float64) {
	gen := toneGen{freq: freq}
	pcm := make([]int16, frameSamples)
	ticker := time.NewTicker(frameDuration)
	defer ticker.Stop()
	seq, ts := uint16(1000), uint32(50000)
	for {
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
		gen.frame(pcm)
		payload := make([]byte, frameSamples)
		encode(payload, pcm, lawOf(p.pt))
		pkt, _ := (&rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: p.pt, SequenceNumber: seq, Timestamp: ts, SSRC: p.ssrc}, Payload: payload}).Marshal()
		p.mu.Lock()
		to, paused := p.to, p.paused
		if !paused {
			p.sent[seq] = pkt
			delete(p.sent, seq-500)
		}
		p.mu.Unlock()
		seq++
		ts += frameSamples
		if to.IsValid() && !paused {
			_, _ = p.conn.WriteToUDPAddrPort(pkt, to)
		}
	}
}

func (p *tonePeer) receive() {
	buf := make([]byte, 2048)
	pcm := make([]int16, 2048)
	for {
		n, _, err := p.conn.ReadFromUDPAddrPort(buf)
		if err != nil {
			return
		}
		var pkt rtp.Packet
		if err := pkt.Unmarshal(append([]byte(nil), buf[:n]...)); err != nil {
			p.t.Errorf("peer received non-RTP: %v", err)
			continue
		}
		p.mu.Lock()
		if p.keepRaw {
			p.rawSeen = append(p.rawSeen, append([]byte(nil), buf[:n]...))
		}
		p.mu.Unlock()
		if law := lawOf(pkt.PayloadType); law != lawNone {
			p.heard.add(pcm[:decode(pcm, pkt.Payload, law)])
		}
	}
}

// listen returns the audio heard during d from now.
func (p *tonePeer) listen(d time.Duration) []int16 {
	mark := time.Now()
	time.Sleep(d)
	return p.heard.since(mark)
}

// testCall is a running session whose legs are tone peers: the caller
// (leg A, PCMA) says 440 Hz, the agent (leg B, PCMU) 1000 Hz.
type testCall struct {
	s      *Session
	caller *tonePeer
	agent  *tonePeer
}

func newTestCall(t *testing.T, codecA, codecB uint8) *testCall {
	t.Helper()
	m, _ := newTestManager(t, Config{})
	c := &testCall{
		s:      newRunningSession(t, m, t.Name()),
		caller: newTonePeer(t, codecA, toneCaller, 0xCA11E4),
		agent:  newTonePeer(t, codecB, toneAgent, 0xA6E47),
	}
	if err := c.s.SetRemote(LegA, c.caller.addr(), codecA, NoPayloadType); err != nil {
		t.Fatal(err)
	}
	if err := c.s.SetRemote(LegB, c.agent.addr(), codecB, NoPayloadType); err != nil {
		t.Fatal(err)
	}
	c.caller.target(c.s.LocalAddr(LegA))
	c.agent.target(c.s.LocalAddr(LegB))
	return c
}

// newTestEngine returns an engine on a loopback ICE socket with short ICE
// timeouts, closed when the test ends.
func newTestEngine(t testing.TB) (*OperatorEngine, *prometheus.Registry) {
	t.Helper()
	conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	cfg := WebRTCConfig{
		ICEDisconnectedTimeout: time.Second,
		ICEFailedTimeout:       time.Second,
		ICEKeepalive:           200 * time.Millisecond,
	}
	e, err := NewOperatorEngine(cfg, reg, slog.New(slog.DiscardHandler), WithICEConn(conn))
	if err != nil {
		t.Fatalf("NewOperatorEngine: %v", err)
	}
	t.Cleanup(func() {
		if err := e.Close(); err != nil {
			t.Errorf("engine Close: %v", err)
		}
	})
	return e, reg
}

// browser is a pion peer connection standing for an operator's browser:
// it offers the codecs a browser offers, sends a tone as PCMU and records
// what it hears.
type browser struct {
	t     testing.TB
	pc    *webrtc.PeerConnection
	conn  *net.UDPConn // its ICE socket
	track *webrtc.TrackLocalStaticRTP
	heard capture
	wg    sync.WaitGroup
	stop  context.CancelFunc

	connected chan struct{}
	once      sync.Once
}

// newBrowser makes a browser sending freq, not yet connected.
func newBrowser(t testing.TB, freq float64) *browser {
	t.Helper()
	conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	me := &webrtc.MediaEngine{}
	if err := me.RegisterDefaultCodecs(); err != nil {
		t.Fatal(err)
	}
	quiet := pionLoggerFactory{log: slog.New(slog.DiscardHandler)}
	se := webrtc.SettingEngine{LoggerFactory: quiet}
	se.SetICEUDPMux(ice.NewUDPMuxDefault(ice.UDPMuxParams{UDPConn: conn, Logger: quiet.NewLogger("ice")}))
	se.SetIncludeLoopbackCandidate(true)
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	se.SetICETimeouts(time.Second, time.Second, 200*time.Millisecond)
	api := webrtc.NewAPI(webrtc.WithMediaEngine(me), webrtc.WithSettingEngine(se))
	pc, err := api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	b := &browser{t: t, pc: pc, conn: conn, connected: make(chan struct{})}
	track, err := webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypePCMU, ClockRate: 8000}, "mic", "browser")
	if err != nil {
		t.Fatal(err)
	}
	b.track = track
	if _, err := pc.AddTrack(track); err != nil {
		t.Fatal(err)
	}
	pc.OnConnectionStateChange(func(s webrtc.PeerConnectionState) {
		if s == webrtc.PeerConnectionStateConnected {
			b.once.Do(func() { close(b.connected) })
		}
	})
	pc.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		pcm := make([]int16, 2048)
		for {
			pkt, _, err := tr.ReadRTP()
			if err != nil {
				return
			}
			if pkt.PayloadType == PayloadPCMU {
				b.heard.add(pcm[:DecodePCMU(pcm, pkt.Payload)])
			}
		}
	})
	ctx, cancel := context.WithCancel(context.Background())
	b.stop = cancel
	b.wg.Add(1)
	go b.speak(ctx, freq)
	t.Cleanup(b.close)
	return b
}

func (b *browser) speak(ctx context.Context, freq float64) {
	defer b.wg.Done()
	gen := toneGen{freq: freq}
	pcm := make([]int16, frameSamples)
	ticker := time.NewTicker(frameDuration)
	defer ticker.Stop()
	pkt := &rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: 7, Timestamp: 99}, Payload: make([]byte, frameSamples)}
	for {
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
		gen.frame(pcm)
		EncodePCMU(pkt.Payload, pcm)
		_ = b.track.WriteRTP(pkt)
		pkt.SequenceNumber++
		pkt.Timestamp += frameSamples
	}
}

// offer returns a complete (non-trickle) offer.
func (b *browser) offer() string {
	b.t.Helper()
	offer, err := b.pc.CreateOffer(nil)
	if err != nil {
		b.t.Fatal(err)
	}
	gathered := webrtc.GatheringCompletePromise(b.pc)
	if err := b.pc.SetLocalDescription(offer); err != nil {
		b.t.Fatal(err)
	}
	<-gathered
	return b.pc.LocalDescription().SDP
}

// accept applies the edge's answer and waits for the connection.
func (b *browser) accept(answer string) {
	b.t.Helper()
	if err := b.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: answer}); err != nil {
		b.t.Fatalf("browser SetRemoteDescription: %v", err)
	}
	select {
	case <-b.connected:
	case <-time.After(10 * time.Second):
		b.t.Fatalf("browser did not connect: %s", b.pc.ConnectionState())
	}
}

// vanish makes the browser disappear without a word: its socket closes,
// no DTLS close_notify is sent.
func (b *browser) vanish() {
	b.stop()
	b.conn.Close()
}

func (b *browser) close() {
	b.stop()
	b.wg.Wait()
	_ = b.pc.Close()
	b.conn.Close()
}

// listen returns the audio the browser heard during d from now.
func (b *browser) listen(d time.Duration) []int16 {
	mark := time.Now()
	time.Sleep(d)
	return b.heard.since(mark)
}

// joinBrowser joins a new browser sending freq to c's call in mode.
func joinBrowser(t *testing.T, e *OperatorEngine, c *testCall, mode OperatorMode, freq float64) (*Operator, *browser) {
	t.Helper()
	b := newBrowser(t, freq)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	op, answer, err := e.Join(ctx, c.s, "acct-"+string(mode), mode, b.offer())
	if err != nil {
		t.Fatalf("Join(%s): %v", mode, err)
	}
	b.accept(answer)
	return op, b
}

// hears asserts which tones samples contain.
func hears(t *testing.T, who string, samples []int16, want map[float64]bool) {
	t.Helper()
	if len(samples) < 4*frameSamples {
		t.Fatalf("%s heard only %d samples", who, len(samples))
	}
	for freq, present := range want {
		level := toneLevel(samples, freq)
		if got := level > heardThreshold; got != present {
			t.Errorf("%s: %v Hz level %.0f (threshold %.0f), heard=%v, want %v", who, freq, level, heardThreshold, got, present)
		}
	}
}

// waitDone waits for an operator's Done channel.
func waitDone(t *testing.T, op *Operator, within time.Duration) {
	t.Helper()
	select {
	case <-op.Done():
	case <-time.After(within):
		t.Fatalf("operator %s not done within %v", op.ID(), within)
	}
}

// settleGoroutines waits for the goroutine count to fall back to n; pion
// takes a moment to wind its connections down.
func settleGoroutines(t *testing.T, n int) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for runtime.NumGoroutine() > n {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			t.Fatalf("goroutines: %d, want <= %d\n%s", runtime.NumGoroutine(), n, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(50 * time.Millisecond)
	}
}
