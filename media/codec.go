package media

import "strings"

// NoPayloadType marks an absent payload type (for instance no
// telephone-event). RTP payload types are 7 bits (RFC 3550 section 5.1), so
// it never collides with a real one.
const NoPayloadType uint8 = 0xFF

// Static payload types of the codecs the relay carries (RFC 3551 section 6).
const (
	PayloadPCMU uint8 = 0
	PayloadPCMA uint8 = 8
	// PayloadG722 is G.722 (RFC 3551 section 4.5.2: 16 kHz audio, an 8000
	// Hz RTP clock). The relay passes it through untouched when both legs
	// use it; it does not transcode it, mix it or tap it.
	PayloadG722 uint8 = 9
	// PayloadCN is comfort noise (RFC 3389), passed through between legs
	// that both negotiated it.
	PayloadCN uint8 = 13
)

// DefaultTelephoneEventPT is the dynamic payload type the edge offers for
// RFC 4733 telephone-event when it makes its own offer.
const DefaultTelephoneEventPT uint8 = 101

// DefaultOpusPT is the dynamic payload type of CodecOpus; an offer's own
// Opus payload type replaces it when negotiated.
const DefaultOpusPT uint8 = 111

// Codec is an audio codec as SDP names it: encoding name, clock rate and the
// payload type it is carried with; channels and fmtp parameters for the
// codecs that have them (Opus).
type Codec struct {
	Name      string // encoding name, as in a=rtpmap ("PCMU")
	ClockRate uint32 // Hz
	PT        uint8  // RTP payload type
	Channels  int    // rtpmap encoding parameters; 0 writes none (one channel)
	Fmtp      string // a=fmtp parameters, verbatim; "" writes none
}

// IsOpus reports whether c is Opus (RFC 7587 section 7: opus/48000/2 on a
// dynamic payload type).
func (c Codec) IsOpus() bool {
	return strings.EqualFold(c.Name, "opus") && c.ClockRate == 48000 && c.Channels == 2 && isDynamicPT(c.PT)
}

// relayable reports whether the relay carries c as audio: Opus, or a
// static payload type the relay carries under its own name.
func (c Codec) relayable() bool {
	if c.IsOpus() {
		return true
	}
	return Relayable(c.PT) && (c.Name == "" || strings.EqualFold(c.Name, staticFormats[c.PT].Name))
}

// The codecs the relay carries (ITU-T G.711, RFC 3551 section 4.5.14).
var (
	CodecPCMU = Codec{Name: "PCMU", ClockRate: 8000, PT: PayloadPCMU}
	CodecPCMA = Codec{Name: "PCMA", ClockRate: 8000, PT: PayloadPCMA}
	// CodecG722 is relayed without transcoding (passthrough only).
	CodecG722 = Codec{Name: "G722", ClockRate: 8000, PT: PayloadG722}
	// CodecOpus is Opus (RFC 7587), relayed without transcoding
	// (passthrough only). Its payload type is dynamic: negotiation keeps
	// the offer's, with its fmtp; the relay rewrites it between legs that
	// use different ones.
	CodecOpus = Codec{Name: "opus", ClockRate: 48000, Channels: 2, PT: DefaultOpusPT}
	// CodecCN is comfort noise (RFC 3389), offered and answered beside the
	// codec when a peer offers it.
	CodecCN = Codec{Name: "CN", ClockRate: 8000, PT: PayloadCN}
)

// PassthroughCodecs returns every codec the relay carries, G.722 and
// Opus included, in the edge's order of preference: use it as Negotiate's
// supported list where the other leg can be given the same codec.
func PassthroughCodecs() []Codec { return []Codec{CodecOpus, CodecG722, CodecPCMU, CodecPCMA} }

// Relayable reports whether the relay carries static payload type pt as
// audio (Opus, on a dynamic type, is told by its Codec: SetRemoteCodec).
func Relayable(pt uint8) bool { return lawOf(pt) != lawNone || pt == PayloadG722 }

// encoding identifies a relayed codec independently of its payload type,
// so that the relay can tell the same codec on different payload types
// (Opus) from different codecs.
type encoding uint8

const (
	encNone encoding = iota
	encPCMU
	encPCMA
	encG722
	encOpus
)

// encodingOf returns the encoding of a relayable codec, encNone otherwise.
func encodingOf(c Codec) encoding {
	switch {
	case c.IsOpus():
		return encOpus
	case c.PT == PayloadPCMU:
		return encPCMU
	case c.PT == PayloadPCMA:
		return encPCMA
	case c.PT == PayloadG722:
		return encG722
	default:
		return encNone
	}
}

// String names the encoding as an error message does ("G722", "opus").
func (e encoding) String() string {
	switch e {
	case encPCMU:
		return "PCMU"
	case encPCMA:
		return "PCMA"
	case encG722:
		return "G722"
	case encOpus:
		return "opus"
	default:
		return "unknown"
	}
}

// DefaultCodecs returns the codecs the edge supports, in its order of
// preference: PCMU, then PCMA.
func DefaultCodecs() []Codec { return []Codec{CodecPCMU, CodecPCMA} }

// Format is one payload format of an SDP media description: a payload type
// of the m= line with its a=rtpmap (or the static assignment of RFC 3551
// section 6 when there is none) and its a=fmtp parameters.
type Format struct {
	PT        uint8
	Name      string // encoding name; empty for an unknown dynamic type
	ClockRate uint32 // Hz; 0 when unknown
	Channels  int    // 0 when not given (means 1 for audio)
	Fmtp      string // a=fmtp parameters, verbatim
}

// matches reports whether f is codec c: same payload type, encoding name
// (case-insensitive, RFC 4855 section 3) and clock rate; for Opus, whose
// payload type is dynamic, any dynamic payload type with opus/48000/2.
func (f Format) matches(c Codec) bool {
	if c.IsOpus() {
		return f.codec().IsOpus()
	}
	return f.PT == c.PT && strings.EqualFold(f.Name, c.Name) && f.ClockRate == c.ClockRate &&
		f.Channels <= 1
}

// codec returns f as a Codec: its payload type, name, clock rate, channels
// and fmtp.
func (f Format) codec() Codec {
	return Codec{Name: f.Name, ClockRate: f.ClockRate, PT: f.PT, Channels: f.Channels, Fmtp: f.Fmtp}
}

// Matches reports whether f is codec c (as Negotiate matches them: Opus on
// any dynamic payload type) and returns c as f carries it: for Opus, with
// f's payload type and fmtp.
func (f Format) Matches(c Codec) (Codec, bool) {
	if !f.matches(c) {
		return Codec{}, false
	}
	if c.IsOpus() {
		return f.codec(), true
	}
	return c, true
}

// isTelephoneEvent reports whether f is RFC 4733 telephone-event at 8 kHz.
func (f Format) isTelephoneEvent() bool {
	return strings.EqualFold(f.Name, "telephone-event") && f.ClockRate == 8000
}

// staticFormats are the audio payload types of RFC 3551 section 6 that an
// SDP body may use without a=rtpmap.
var staticFormats = map[uint8]Format{
	0:  {PT: 0, Name: "PCMU", ClockRate: 8000},
	3:  {PT: 3, Name: "GSM", ClockRate: 8000},
	4:  {PT: 4, Name: "G723", ClockRate: 8000},
	5:  {PT: 5, Name: "DVI4", ClockRate: 8000},
	6:  {PT: 6, Name: "DVI4", ClockRate: 16000},
	7:  {PT: 7, Name: "LPC", ClockRate: 8000},
	8:  {PT: 8, Name: "PCMA", ClockRate: 8000},
	9:  {PT: 9, Name: "G722", ClockRate: 8000},
	10: {PT: 10, Name: "L16", ClockRate: 44100, Channels: 2},
	11: {PT: 11, Name: "L16", ClockRate: 44100},
	12: {PT: 12, Name: "QCELP", ClockRate: 8000},
	13: {PT: 13, Name: "CN", ClockRate: 8000},
	14: {PT: 14, Name: "MPA", ClockRate: 90000},
	15: {PT: 15, Name: "G728", ClockRate: 8000},
	16: {PT: 16, Name: "DVI4", ClockRate: 11025},
	17: {PT: 17, Name: "DVI4", ClockRate: 22050},
	18: {PT: 18, Name: "G729", ClockRate: 8000},
}

// isDynamicPT reports whether pt may be bound dynamically, as
// telephone-event must be: 96-127 (RFC 3551 section 3), or 35-63 when a
// peer runs out of those (RFC 5761 section 4).
func isDynamicPT(pt uint8) bool {
	return (pt >= 35 && pt <= 63) || (pt >= 96 && pt <= 127)
}

// law is the G.711 companding law of a codec payload type.
type law uint8

const (
	lawNone law = iota
	lawULaw
	lawALaw
)

// lawOf returns the G.711 law of a static payload type.
func lawOf(pt uint8) law {
	switch pt {
	case PayloadPCMU:
		return lawULaw
	case PayloadPCMA:
		return lawALaw
	default:
		return lawNone
	}
}
