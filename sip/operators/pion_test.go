package operators

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

// pionOperator is an operator's browser played by pion: it offers audio,
// sends 20 ms PCMU frames of a quiet tone once connected, and counts and
// decodes what it receives.
type pionOperator struct {
	pc        *webrtc.PeerConnection
	received  atomic.Int64
	connected chan struct{}
	closed    chan struct{}

	mu  sync.Mutex
	pcm []int16
}

// newPionOperator makes the peer; with pcmu false it offers Opus only.
func newPionOperator(t *testing.T, pcmu bool) *pionOperator {
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
	p := &pionOperator{pc: pc, connected: make(chan struct{}), closed: make(chan struct{})}
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
			once.Do(func() { close(p.connected) })
		case webrtc.PeerConnectionStateFailed, webrtc.PeerConnectionStateClosed, webrtc.PeerConnectionStateDisconnected:
			closeOnce.Do(func() { close(p.closed) })
		}
	})
	pc.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		pcm := make([]int16, 1500)
		for {
			pkt, _, err := tr.ReadRTP()
			if err != nil {
				return
			}
			p.received.Add(1)
			if pkt.PayloadType == 0 {
				n := media.DecodePCMU(pcm, pkt.Payload)
				p.mu.Lock()
				p.pcm = append(p.pcm, pcm[:n]...)
				p.mu.Unlock()
			}
		}
	})
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		select {
		case <-p.connected:
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
	}()
	t.Cleanup(func() {
		cancel()
		_ = pc.Close()
		wg.Wait()
	})
	return p
}

// offer returns the complete (non-trickle) SDP offer.
func (p *pionOperator) offer(t *testing.T) []byte {
	t.Helper()
	o, err := p.pc.CreateOffer(nil)
	if err != nil {
		t.Fatal(err)
	}
	gathered := webrtc.GatheringCompletePromise(p.pc)
	if err := p.pc.SetLocalDescription(o); err != nil {
		t.Fatal(err)
	}
	select {
	case <-gathered:
	case <-time.After(5 * time.Second):
		t.Fatal("ICE gathering did not complete")
	}
	return []byte(p.pc.LocalDescription().SDP)
}

// accept applies the edge's answer and waits for the connection.
func (p *pionOperator) accept(t *testing.T, answer []byte) {
	t.Helper()
	if err := p.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: string(answer)}); err != nil {
		t.Fatalf("set answer: %v\n%s", err, answer)
	}
	select {
	case <-p.connected:
	case <-time.After(10 * time.Second):
		t.Fatal("operator connection not established")
	}
}

// level is the RMS of the audio received so far, after skip samples.
func (p *pionOperator) level(skip int) float64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.pcm) <= skip {
		return 0
	}
	var sum float64
	for _, s := range p.pcm[skip:] {
		sum += float64(s) * float64(s)
	}
	return math.Sqrt(sum / float64(len(p.pcm)-skip))
}
