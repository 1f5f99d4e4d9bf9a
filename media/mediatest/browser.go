// Package mediatest holds media test helpers several packages share: an
// operator's browser played by pion (Browser).
//
// It is imported by tests only.
package mediatest

import (
	"context"
	"math"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/webrtc/v4"
	pionmedia "github.com/pion/webrtc/v4/pkg/media"

	"github.com/voiceedge/edge/media"
)

// Browser is an operator's browser played by pion on loopback: it offers
// audio, sends 20 ms frames of a quiet 700 Hz tone once connected, and
// counts and decodes (PCMU) what it receives.
type Browser struct {
	pc        *webrtc.PeerConnection
	received  atomic.Int64
	connected chan struct{}
	closed    chan struct{}

	mu  sync.Mutex
	pcm []int16
}

// NewBrowser makes the peer, closed at cleanup; with pcmu false it offers
// Opus only.
func NewBrowser(t testing.TB, pcmu bool) *Browser {
	t.Helper()
	me := &webrtc.MediaEngine{}
	codec := webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypePCMU, ClockRate: 8000, Channels: 1}
	pt := webrtc.PayloadType(0)
	if !pcmu {
		codec = webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}
		pt = 111
	}
	if err := me.RegisterCodec(webrtc.RTPCodecParameters{RTPCodecCapability: codec, PayloadType: pt}, webrtc.RTPCodecTypeAudio); err != nil {
		t.Fatal(err)
	}
	se := webrtc.SettingEngine{}
	se.SetIncludeLoopbackCandidate(true)
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	se.SetInterfaceFilter(func(name string) bool { return name == "lo" })
	se.SetICETimeouts(2*time.Second, 2*time.Second, 300*time.Millisecond)
	api := webrtc.NewAPI(webrtc.WithMediaEngine(me), webrtc.WithSettingEngine(se))
	pc, err := api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	b := &Browser{pc: pc, connected: make(chan struct{}), closed: make(chan struct{})}
	track, err := webrtc.NewTrackLocalStaticSample(codec, "mic", "operator")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pc.AddTrack(track); err != nil {
		t.Fatal(err)
	}
	var once, closeOnce sync.Once
	pc.OnConnectionStateChange(func(s webrtc.PeerConnectionState) {
		switch s {
		case webrtc.PeerConnectionStateConnected:
			once.Do(func() { close(b.connected) })
		case webrtc.PeerConnectionStateFailed, webrtc.PeerConnectionStateClosed, webrtc.PeerConnectionStateDisconnected:
			closeOnce.Do(func() { close(b.closed) })
		}
	})
	pc.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) { b.read(tr) })
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); b.speak(ctx, track) }()
	t.Cleanup(func() {
		cancel()
		_ = pc.Close()
		wg.Wait()
	})
	return b
}

// read counts and decodes the RTP of a remote track until it ends.
func (b *Browser) read(tr *webrtc.TrackRemote) {
	pcm := make([]int16, 1500)
	for {
		pkt, _, err := tr.ReadRTP()
		if err != nil {
			return
		}
		b.received.Add(1)
		if pkt.PayloadType == 0 {
			n := media.DecodePCMU(pcm, pkt.Payload)
			b.mu.Lock()
			b.pcm = append(b.pcm, pcm[:n]...)
			b.mu.Unlock()
		}
	}
}

// speak sends the tone, once connected, until ctx ends.
func (b *Browser) speak(ctx context.Context, track *webrtc.TrackLocalStaticSample) {
	select {
	case <-b.connected:
	case <-ctx.Done():
		return
	}
	frame := make([]byte, 160)
	phase := 0.0
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		for i := range frame {
			frame[i] = media.LinearToULaw(int16(2000 * math.Sin(phase)))
			phase += 2 * math.Pi * 700 / 8000
		}
		_ = track.WriteSample(pionmedia.Sample{Data: frame, Duration: 20 * time.Millisecond})
	}
}

// Offer returns the complete (non-trickle) SDP offer.
func (b *Browser) Offer(t testing.TB) []byte {
	t.Helper()
	o, err := b.pc.CreateOffer(nil)
	if err != nil {
		t.Fatal(err)
	}
	gathered := webrtc.GatheringCompletePromise(b.pc)
	if err := b.pc.SetLocalDescription(o); err != nil {
		t.Fatal(err)
	}
	select {
	case <-gathered:
	case <-time.After(5 * time.Second):
		t.Fatal("ICE gathering did not complete")
	}
	return []byte(b.pc.LocalDescription().SDP)
}

// Accept applies the edge's answer and waits (10 s at most) for the
// connection.
func (b *Browser) Accept(t testing.TB, answer []byte) {
	t.Helper()
	if err := b.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: string(answer)}); err != nil {
		t.Fatalf("set answer: %v\n%s", err, answer)
	}
	select {
	case <-b.connected:
	case <-time.After(10 * time.Second):
		t.Fatal("operator connection not established")
	}
}

// Received is the count of RTP packets received.
func (b *Browser) Received() *atomic.Int64 { return &b.received }

// Closed is closed when the connection fails, disconnects or closes.
func (b *Browser) Closed() <-chan struct{} { return b.closed }

// Level is the RMS of the audio received so far, after skip samples.
func (b *Browser) Level(skip int) float64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.pcm) <= skip {
		return 0
	}
	var sum float64
	for _, s := range b.pcm[skip:] {
		sum += float64(s) * float64(s)
	}
	return math.Sqrt(sum / float64(len(b.pcm)-skip))
}

// HeardFor returns what the browser receives during d from now.
func (b *Browser) HeardFor(d time.Duration) []int16 {
	b.mu.Lock()
	mark := len(b.pcm)
	b.mu.Unlock()
	time.Sleep(d)
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]int16(nil), b.pcm[mark:]...)
}
