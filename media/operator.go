package media

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// OperatorMode is how an operator takes part in a call (design section 8).
type OperatorMode string

// The operator modes.
const (
	// ModeListen: the operator hears the caller and the agent and is heard
	// by nobody.
	ModeListen OperatorMode = "listen"
	// ModeWhisper: the operator hears both and is heard by the agent (leg
	// B) only, to coach it; the caller hears nothing of it.
	ModeWhisper OperatorMode = "whisper"
	// ModeBarge: the operator hears both and is heard by both.
	ModeBarge OperatorMode = "barge"
)

// Valid reports whether m is one of the three modes.
func (m OperatorMode) Valid() bool {
	return m == ModeListen || m == ModeWhisper || m == ModeBarge
}

// ParseOperatorMode returns the mode named s ("listen", "whisper",
// "barge"), or ErrInvalidMode.
func ParseOperatorMode(s string) (OperatorMode, error) {
	if m := OperatorMode(s); m.Valid() {
		return m, nil
	}
	return "", fmt.Errorf("%w: %q (want listen, whisper or barge)", ErrInvalidMode, s)
}

// OperatorStats are the counters of an operator leg.
type OperatorStats struct {
	ID        string       `json:"id"`
	AccountID string       `json:"account_id"`
	CallID    string       `json:"call_id"`
	Mode      OperatorMode `json:"mode"`
	Muted     bool         `json:"muted"`
	// State is the WebRTC connection state ("new", "connecting",
	// "connected", "disconnected", "failed", "closed").
	State    string    `json:"state"`
	JoinedAt time.Time `json:"joined_at"`
	// PacketsReceived and BytesReceived count the operator's audio RTP
	// (after SRTP); PacketsSent and BytesSent the mix sent to it.
	PacketsReceived uint64 `json:"packets_received"`
	BytesReceived   uint64 `json:"bytes_received"`
	PacketsSent     uint64 `json:"packets_sent"`
	BytesSent       uint64 `json:"bytes_sent"`
}

// Operator is one operator's WebRTC leg on a call, made by
// OperatorEngine.Join. It lives until Close, the end of the call, or the
// failure of its connection (Done). Its methods are safe for concurrent use.
type Operator struct {
	id        string
	accountID string
	sess      *Session
	engine    *OperatorEngine
	log       *slog.Logger
	joined    time.Time

	pc    *webrtc.PeerConnection
	track *webrtc.TrackLocalStaticRTP
	in    inputRing  // the operator's voice, for the mixer
	level levelMeter // its level, metered by the mixer (levels.go)

	mode      atomic.Pointer[OperatorMode]
	muted     atomic.Bool
	gone      atomic.Bool
	connected atomic.Bool
	reading   atomic.Bool // an audio track is being read
	state     atomic.Int32

	// The RTP stream to the browser; only the mixer goroutine touches it.
	out     rtp.Packet
	outSeq  uint16
	outTS   uint32
	outInit bool

	rxPackets, rxBytes atomic.Uint64
	txPackets, txBytes atomic.Uint64

	done      chan struct{}
	closeOnce sync.Once
}

// newOperator creates the operator's peer connection and local track.
func newOperator(e *OperatorEngine, sess *Session, accountID string, mode OperatorMode) (*Operator, error) {
	id := newOperatorID()
	op := &Operator{
		id:        id,
		accountID: accountID,
		sess:      sess,
		engine:    e,
		log:       sess.log.With("operator_id", id, "account_id", accountID),
		joined:    time.Now(),
		done:      make(chan struct{}),
	}
	op.mode.Store(&mode)
	op.state.Store(int32(webrtc.PeerConnectionStateNew))
	pc, err := e.api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		return nil, fmt.Errorf("new peer connection: %w", err)
	}
	op.pc = pc
	track, err := webrtc.NewTrackLocalStaticRTP(pcmuCapability, "audio", "edge-"+sess.CallID())
	if err != nil {
		pc.Close()
		return nil, fmt.Errorf("new audio track: %w", err)
	}
	op.track = track
	pc.OnTrack(op.onTrack)
	pc.OnConnectionStateChange(op.onState)
	return op, nil
}

// newOperatorID returns 16 random hex digits.
func newOperatorID() string {
	var b [8]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24)
	return hex.EncodeToString(b[:])
}

// negotiate answers the offer and waits for ICE gathering to complete, so
// the answer carries every candidate.
func (o *Operator) negotiate(ctx context.Context, offer string) (string, error) {
	if err := o.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: offer}); err != nil {
		return "", fmt.Errorf("%w: %w", ErrBadOffer, err)
	}
	sender, err := o.pc.AddTrack(o.track)
	if err != nil {
		return "", fmt.Errorf("add audio track: %w", err)
	}
	go drainRTCP(sender)
	answer, err := o.pc.CreateAnswer(nil)
	if err != nil {
		return "", fmt.Errorf("%w: create answer: %w", ErrBadOffer, err)
	}
	gathered := webrtc.GatheringCompletePromise(o.pc)
	if err := o.pc.SetLocalDescription(answer); err != nil {
		return "", fmt.Errorf("set local description: %w", err)
	}
	select {
	case <-gathered:
	case <-ctx.Done():
		return "", ctx.Err()
	}
	local := o.pc.LocalDescription()
	if local == nil {
		return "", fmt.Errorf("no local description: %w", ErrClosed)
	}
	return local.SDP, nil
}

// drainRTCP reads the RTCP the browser sends about our audio, so that the
// interceptors see it, until the sender stops.
func drainRTCP(sender *webrtc.RTPSender) {
	buf := make([]byte, 1500)
	for {
		if _, _, err := sender.Read(buf); err != nil {
			return
		}
	}
}

// onTrack reads the operator's audio into its jitter buffer. Only the
// first audio track is used; further ones are read and discarded.
func (o *Operator) onTrack(track *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
	use := track.Kind() == webrtc.RTPCodecTypeAudio && o.reading.CompareAndSwap(false, true)
	buf := make([]byte, 1500)
	pcm := make([]int16, 1500)
	for {
		n, _, err := track.Read(buf)
		if err != nil {
			if !errors.Is(err, io.EOF) && !o.gone.Load() {
				o.log.Debug("operator track ended", "err", err)
			}
			return
		}
		if !use {
			continue
		}
		h, ok := parseRTPHeader(buf[:n])
		if !ok || h.pt != PayloadPCMU {
			continue // telephone-event from the console is not used
		}
		o.rxPackets.Add(1)
		o.rxBytes.Add(uint64(n))
		samples := DecodePCMU(pcm, buf[h.payloadStart:h.payloadEnd])
		o.in.push(frameSource{ssrc: h.ssrc, seq: h.seq, ts: h.timestamp}, pcm[:samples], time.Since(o.sess.epoch))
	}
}

// onState follows the connection: connected starts the counters, failed
// or closed ends the operator.
func (o *Operator) onState(s webrtc.PeerConnectionState) {
	o.state.Store(int32(s))
	switch s {
	case webrtc.PeerConnectionStateConnected:
		o.connected.Store(true)
	case webrtc.PeerConnectionStateFailed, webrtc.PeerConnectionStateClosed:
		o.connected.Store(false)
		if !o.gone.Load() {
			o.log.Info("operator connection ended", "state", s.String())
		}
		o.Close()
	default:
		o.connected.Store(false)
	}
}

// sendFrame sends one frame of PCMU to the browser. The mixer calls it,
// one frame per 20 ms.
func (o *Operator) sendFrame(payload []byte) {
	if !o.outInit {
		o.outInit = true
		o.outSeq = uint16(randomSSRC())
		o.outTS = randomSSRC()
		o.out.Header.Marker = true
	}
	o.out.Header.Version = 2
	o.out.Header.PayloadType = PayloadPCMU
	o.out.Header.SequenceNumber = o.outSeq
	o.out.Header.Timestamp = o.outTS
	o.out.Payload = payload
	o.outSeq++
	o.outTS += frameSamples
	if !o.connected.Load() || o.gone.Load() {
		return
	}
	if err := o.track.WriteRTP(&o.out); err != nil {
		return
	}
	o.out.Header.Marker = false
	o.txPackets.Add(1)
	o.txBytes.Add(uint64(rtpHeaderLen + len(payload)))
}

// ID returns the operator's id, unique on the edge (16 hex digits).
func (o *Operator) ID() string { return o.id }

// AccountID returns the account the operator joined as.
func (o *Operator) AccountID() string { return o.accountID }

// CallID returns the call the operator is on.
func (o *Operator) CallID() string { return o.sess.CallID() }

// Mode returns the operator's current mode.
func (o *Operator) Mode() OperatorMode { return *o.mode.Load() }

// SetMode switches the operator's mode; the mix follows from the next
// frame, with a short ramp. It returns ErrInvalidMode for an unknown mode
// and ErrClosed once the operator is closed.
func (o *Operator) SetMode(mode OperatorMode) error {
	if !mode.Valid() {
		return fmt.Errorf("set mode of operator %s: %w: %q", o.id, ErrInvalidMode, mode)
	}
	if o.gone.Load() {
		return fmt.Errorf("set mode of operator %s: %w", o.id, ErrClosed)
	}
	if old := o.mode.Swap(&mode); *old != mode {
		o.log.Info("operator mode changed", "from", *old, "to", mode)
	}
	return nil
}

// Mute silences (true) or restores (false) the operator's microphone in
// the mix, whatever its mode; it still hears the call.
func (o *Operator) Mute(muted bool) { o.muted.Store(muted) }

// Muted reports whether the operator is muted.
func (o *Operator) Muted() bool { return o.muted.Load() }

// Done returns a channel that is closed when the operator has left: Close,
// the end of the call, or its connection failing or closing (the browser
// went away).
func (o *Operator) Done() <-chan struct{} { return o.done }

// isGone reports whether the operator is closed.
func (o *Operator) isGone() bool { return o.gone.Load() }

// Stats returns the operator's counters.
func (o *Operator) Stats() OperatorStats {
	return OperatorStats{
		ID:              o.id,
		AccountID:       o.accountID,
		CallID:          o.sess.CallID(),
		Mode:            o.Mode(),
		Muted:           o.muted.Load(),
		State:           webrtc.PeerConnectionState(o.state.Load()).String(),
		JoinedAt:        o.joined,
		PacketsReceived: o.rxPackets.Load(),
		BytesReceived:   o.rxBytes.Load(),
		PacketsSent:     o.txPackets.Load(),
		BytesSent:       o.txBytes.Load(),
	}
}

// Close takes the operator off the call (its voice fades out over one
// frame) and closes its connection. It is idempotent.
func (o *Operator) Close() error {
	var err error
	o.closeOnce.Do(func() {
		o.gone.Store(true)
		o.sess.removeOperator(o)
		o.engine.forget(o)
		err = o.pc.Close()
		close(o.done)
		o.log.Info("operator left")
	})
	return err
}
