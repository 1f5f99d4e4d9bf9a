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

// Codec is an audio codec as SDP names it: encoding name, clock rate and the
// payload type it is carried with.
type Codec struct {
	Name      string // encoding name, as in a=rtpmap ("PCMU")
	ClockRate uint32 // Hz
	PT        uint8  // RTP payload type
}

// The codecs the relay carries (ITU-T G.711, RFC 3551 section 4.5.14).
var (
	CodecPCMU = Codec{Name: "PCMU", ClockRate: 8000, PT: PayloadPCMU}
	CodecPCMA = Codec{Name: "PCMA", ClockRate: 8000, PT: PayloadPCMA}
	// CodecG722 is relayed without transcoding (passthrough only).
	CodecG722 = Codec{Name: "G722", ClockRate: 8000, PT: PayloadG722}
	// CodecCN is comfort noise (RFC 3389), offered and answered beside the
	// codec when a peer offers it.
	CodecCN = Codec{Name: "CN", ClockRate: 8000, PT: PayloadCN}
)

// PassthroughCodecs returns every codec the relay carries, G.722
// included, in the edge's order of preference: use it as Negotiate's
// supported list where the other leg can be given the same codec.
func PassthroughCodecs() []Codec { return []Codec{CodecG722, CodecPCMU, CodecPCMA} }

// Relayable reports whether the relay carries payload type pt as audio.
func Relayable(pt uint8) bool { return lawOf(pt) != lawNone || pt == PayloadG722 }

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
// (case-insensitive, RFC 4855 section 3) and clock rate.
func (f Format) matches(c Codec) bool {
	return f.PT == c.PT && strings.EqualFold(f.Name, c.Name) && f.ClockRate == c.ClockRate &&
		f.Channels <= 1
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
