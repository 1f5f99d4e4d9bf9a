package media

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"
)

// DTMF events the edge makes itself, in RFC 4733 (section 2.3 for the
// payload, 3.2 for the DTMF event codes 0-15): SIP INFO digits from a trunk
// become events in the stream the service receives.

// Errors of SendDTMF.
var (
	// ErrNoTelephoneEvent reports a leg whose peer did not negotiate
	// telephone-event: there is no payload type to send events with.
	ErrNoTelephoneEvent = errors.New("media: leg has no telephone-event")
	// ErrDTMFBusy reports an event still being sent on the leg.
	ErrDTMFBusy = errors.New("media: dtmf event in progress")
)

// Bounds of an injected event.
const (
	MinDTMFDuration = 40 * time.Millisecond
	MaxDTMFDuration = 5 * time.Second
	// DefaultDTMFDuration is used for a duration of 0.
	DefaultDTMFDuration = 160 * time.Millisecond
	dtmfVolume          = 10 // -10 dBm0 (RFC 4733 section 2.3.4)
	dtmfEndRepeats      = 3  // the end packet is sent three times (section 2.5.1.4)
)

// DTMFHook receives the RFC 4733 events of a leg whose other leg did not
// negotiate telephone-event, once per event when it ends: from is the leg
// that sent it. It runs on the relay's goroutine and must not block.
type DTMFHook func(from Leg, ev uint8, d time.Duration)

// OnDTMF sets the DTMFHook (nil removes it).
func (s *Session) OnDTMF(h DTMFHook) {
	if h == nil {
		s.dtmfHook.Store(nil)
		return
	}
	s.dtmfHook.Store(&h)
}

// signalDTMF hands the end of an RFC 4733 event (section 2.3) to the
// session's DTMFHook, once per event.
func (f *forwarder) signalDTMF(payload []byte, ts uint32) {
	if len(payload) < 4 {
		return
	}
	end := payload[1]&0x80 != 0
	if ts != f.evTS {
		f.evTS, f.evEnded = ts, false
	}
	if !end || f.evEnded {
		return
	}
	f.evEnded = true
	if h := f.s.dtmfHook.Load(); h != nil && payload[0] <= 15 {
		d := time.Duration(binary.BigEndian.Uint16(payload[2:])) * time.Second / clockRate
		(*h)(f.from.id, payload[0], d)
	}
}

// DTMFDigit returns the digit of an RFC 4733 DTMF event code (0-15).
func DTMFDigit(ev uint8) byte {
	return "0123456789*#ABCD"[ev&15]
}

// DTMFEvent returns the RFC 4733 event code of a DTMF digit (0-9, *, #,
// A-D); ok is false for anything else.
func DTMFEvent(digit byte) (uint8, bool) {
	switch {
	case digit >= '0' && digit <= '9':
		return digit - '0', true
	case digit == '*':
		return 10, true
	case digit == '#':
		return 11, true
	case digit >= 'A' && digit <= 'D':
		return 12 + digit - 'A', true
	case digit >= 'a' && digit <= 'd':
		return 12 + digit - 'a', true
	}
	return 0, false
}

// SendDTMF sends the RFC 4733 event ev (0-15) lasting d (bounded to
// MinDTMFDuration..MaxDTMFDuration; 0 means DefaultDTMFDuration) to leg
// l's peer, inside the stream the edge sends it (same SSRC, sequence
// numbers going on), with the peer's telephone-event payload type. Audio
// relayed to the leg is held back while the event plays (RFC 4733 section
// 2.5.1.1 lets the event replace it). It returns at once; the packets go
// out every 20 ms on a goroutine of the session.
func (s *Session) SendDTMF(l Leg, ev uint8, d time.Duration) error {
	if !l.valid() || ev > 15 {
		return fmt.Errorf("send dtmf on call %s: %w", s.callID, ErrInvalidLeg)
	}
	lg := s.legs[l]
	p := lg.peer.Load()
	if p == nil || p.dtmfPT == NoPayloadType {
		return fmt.Errorf("send dtmf on call %s leg %s: %w", s.callID, l, ErrNoTelephoneEvent)
	}
	if d == 0 {
		d = DefaultDTMFDuration
	}
	d = min(max(d, MinDTMFDuration), MaxDTMFDuration)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed || !s.running {
		return fmt.Errorf("send dtmf on call %s: %w", s.callID, ErrClosed)
	}
	if !lg.injecting.CompareAndSwap(false, true) {
		return fmt.Errorf("send dtmf on call %s leg %s: %w", s.callID, l, ErrDTMFBusy)
	}
	s.wg.Add(1)
	go s.playDTMF(lg, ev, d)
	return nil
}

// playDTMF sends one event: a packet every frame with the duration so far,
// the first with the marker bit, the last (E bit) three times.
func (s *Session) playDTMF(lg *leg, ev uint8, d time.Duration) {
	defer s.wg.Done()
	defer lg.injecting.Store(false)
	var pkt [rtpHeaderLen + 4]byte
	total := uint16(min(d/frameDuration*frameSamples, 0xFFFF))
	t := time.NewTicker(frameDuration)
	defer t.Stop()
	for dur, i := uint16(0), 0; ; i++ {
		end := dur >= total
		p := lg.peer.Load()
		if p == nil || p.dtmfPT == NoPayloadType {
			return
		}
		repeats := 1
		if end {
			repeats = dtmfEndRepeats
		}
		for r := range repeats {
			// Each copy of the end packet is a packet of its own, with the
			// next sequence number (SRTP would refuse a repeated one).
			ssrc, seq, ts := lg.out.inject(i == 0 && r == 0, time.Since(s.epoch))
			putRTPHeader(pkt[:], p.dtmfPT, seq, ts, ssrc)
			if i == 0 {
				pkt[1] |= 0x80 // marker: the start of an event
			}
			pkt[rtpHeaderLen] = ev
			pkt[rtpHeaderLen+1] = dtmfVolume
			if end {
				pkt[rtpHeaderLen+1] |= 0x80
			}
			binary.BigEndian.PutUint16(pkt[rtpHeaderLen+2:], max(dur, 1))
			if dst, ok := p.destination(); ok {
				if _, err := lg.write(pkt[:], dst); err == nil {
					lg.stats.txPackets.Add(1)
					lg.stats.txBytes.Add(uint64(len(pkt)))
				}
			}
		}
		if end {
			s.metrics.dtmfInjected.Inc()
			return
		}
		select {
		case <-s.closing:
			return
		case <-t.C:
		}
		dur = min(dur+frameSamples, total)
	}
}
