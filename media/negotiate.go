package media

import (
	"fmt"

	"github.com/voiceedge/edge/media/srtp"
)

// Answer is the outcome of Negotiate: what to put in the answer to an offer
// and how to configure the relay for the offerer's leg.
type Answer struct {
	// Codec is the chosen codec with the offerer's payload type.
	Codec Codec
	// TelephoneEventPT is the offerer's telephone-event payload type when it
	// offered telephone-event/8000 (RFC 4733 section 7.1.1), else
	// NoPayloadType.
	TelephoneEventPT uint8
	// Direction is the direction of the answer (AnswerDirection of the
	// offer's effective direction).
	Direction Direction
	// Ptime is the offerer's a=ptime, or 20 ms when it gave none.
	Ptime int
	// CN reports comfort noise (RFC 3389, PT 13) in the offer.
	CN bool
	// Crypto is the offerer's crypto for SRTP (Description.PeerCrypto),
	// zero for plain RTP: what Session.SetCrypto takes.
	Crypto srtp.Crypto
	// Profile is the answer's profile as the offer asks for it (RFC 3264
	// section 6: AVPF answered with AVPF, SAVP with SAVP; rtcp-mux
	// accepted, RFC 5761; the offer's m-lines mirrored). Its Crypto is
	// left for the edge's own key (Session.SetCrypto's result).
	Profile Profile
}

// DefaultPtime is the packet time, in milliseconds, the edge announces
// (a=ptime:20) when nothing else is known.
const DefaultPtime = 20

// Negotiate applies RFC 3264 section 6.1 to an offer: it picks the first
// format of the offer, in the offer's order, that is one of supported
// (nil means DefaultCodecs), adds telephone-event if it was offered, and
// derives the answer direction, treating c=0.0.0.0 as hold (section 8.4).
// The relay carries PCMU (PT 0), PCMA (PT 8) and, untranscoded, G.722 (PT
// 9) and Opus (opus/48000/2 on a dynamic PT, RFC 7587) only when in
// supported (PassthroughCodecs); other entries of supported are ignored.
// An Opus choice keeps the offer's payload type and fmtp. CN reports
// whether comfort noise (PT 13) was offered. It returns ErrNoCommonCodec when nothing matches,
// ErrStreamDisabled when the offer's audio port is 0.
//
// Negotiate also reads an answer to the edge's own offer: the answerer's
// first format is its choice.
func Negotiate(offer *Description, supported []Codec) (Answer, error) {
	if offer == nil {
		return Answer{}, fmt.Errorf("negotiate: %w", ErrNoAudio)
	}
	if offer.Port == 0 {
		return Answer{}, fmt.Errorf("negotiate: %w", ErrStreamDisabled)
	}
	if supported == nil {
		supported = DefaultCodecs()
	}
	ans := Answer{
		TelephoneEventPT: offer.TelephoneEventPT,
		Direction:        AnswerDirection(offer.EffectiveDirection()),
		Ptime:            offer.Ptime,
		Crypto:           offer.PeerCrypto(),
		Profile: Profile{
			Proto: offer.Proto, RTCPMux: offer.RTCPMux, Mirror: offer.Lines, AudioIndex: offer.Audio,
		},
	}
	if ans.Ptime == 0 {
		ans.Ptime = DefaultPtime
	}
	for _, f := range offer.Formats {
		if f.matches(CodecCN) {
			ans.CN = true
		}
	}
	for _, f := range offer.Formats {
		for _, c := range supported {
			if k, ok := f.Matches(c); ok && c.relayable() {
				ans.Codec = k
				return ans, nil
			}
		}
	}
	return Answer{}, fmt.Errorf("negotiate: offer %s: %w", formatList(offer.Formats), ErrNoCommonCodec)
}

// formatList renders formats for an error message ("0 PCMU/8000, 18 ...").
func formatList(fs []Format) string {
	b := make([]byte, 0, 16*len(fs))
	for i, f := range fs {
		if i > 0 {
			b = append(b, ", "...)
		}
		b = fmt.Appendf(b, "%d %s/%d", f.PT, f.Name, f.ClockRate)
	}
	return string(b)
}
