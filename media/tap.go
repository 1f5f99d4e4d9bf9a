package media

// Tap is the seam for audio processing inside the relay, such as the
// operator mixer of design section 8 (listen, whisper, barge). A Tap is
// optional: without one the relay forwards payloads untouched (apart from
// PCMU<->PCMA transcoding).
//
// When a Tap is set, every audio packet (the leg's negotiated codec, not
// telephone-event) is decoded to 16-bit linear PCM at 8 kHz and passed to
// Frame before it is sent to the other leg.
type Tap interface {
	// Frame is called on the poller goroutine that reads the leg from
	// (shared with other calls: poller_linux.go), once per audio packet
	// (usually 20 ms, 160 samples). pcm holds the decoded samples; Frame
	// may read them (listen) and may change them in place (whisper, barge:
	// mix operator audio in). When it returns true the relay encodes
	// pcm, in the receiving leg's law, as the payload it sends; when false
	// the original payload goes out. Frame must not block, must not retain
	// pcm, and must not call Session.Close.
	Frame(from Leg, pcm []int16) (replaced bool)
}

// tapHolder boxes a Tap so it can be swapped atomically.
type tapHolder struct{ tap Tap }

// SetTap installs t as the session's Tap, replacing any other; nil removes
// it. It takes effect from the next packet and may be called at any time.
func (s *Session) SetTap(t Tap) {
	if t == nil {
		s.tap.Store(nil)
		return
	}
	s.tap.Store(&tapHolder{tap: t})
}
