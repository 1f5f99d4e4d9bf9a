package media

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/pion/sdp/v3"
)

// MaxOfferSize bounds an operator's SDP offer. A browser's audio-only offer
// is 2-6 KiB; 64 KiB leaves room for many candidates and extensions.
const MaxOfferSize = 64 << 10

// checkOffer vets an operator's WebRTC offer before the WebRTC stack sees
// it: its size, that it parses as SDP (RFC 8866), and that an active audio
// stream offers PCMU at 8 kHz, statically (payload type 0, RFC 3551) or by
// a=rtpmap.
func checkOffer(offer string) error {
	if len(offer) > MaxOfferSize {
		return fmt.Errorf("%w: %w: %d bytes, limit %d", ErrBadOffer, ErrSDPTooLarge, len(offer), MaxOfferSize)
	}
	if strings.TrimSpace(offer) == "" {
		return fmt.Errorf("%w: empty sdp", ErrBadOffer)
	}
	var d sdp.SessionDescription
	if err := d.UnmarshalString(offer); err != nil {
		return fmt.Errorf("%w: %w: %w", ErrBadOffer, ErrMalformedSDP, err)
	}
	for _, m := range d.MediaDescriptions {
		if m.MediaName.Media == "audio" && m.MediaName.Port.Value != 0 && offersPCMU(m) {
			return nil
		}
	}
	return ErrNoPCMU
}

// offersPCMU reports whether an audio media description offers PCMU/8000.
func offersPCMU(m *sdp.MediaDescription) bool {
	for _, f := range m.MediaName.Formats {
		pt, err := strconv.Atoi(f)
		if err != nil || pt < 0 || pt > 127 {
			continue
		}
		codec, err := (&sdp.SessionDescription{MediaDescriptions: []*sdp.MediaDescription{m}}).GetCodecForPayloadType(uint8(pt))
		switch {
		case err == nil && strings.EqualFold(codec.Name, "PCMU") && codec.ClockRate == clockRate:
			return true
		case err != nil && pt == int(PayloadPCMU):
			return true // static payload type without a=rtpmap
		}
	}
	return false
}
