package media

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"github.com/pion/sdp/v3"

	"github.com/voiceedge/edge/media/srtp"
)

// SDPParams describe an SDP body the edge sends, offer or answer.
type SDPParams struct {
	// Addr is the edge's media address as its peers must reach it (the
	// public address under NAT), used in o= and c=.
	Addr netip.Addr
	// Port is the RTP port of the leg (Session.LocalAddr). Zero rejects the
	// stream (RFC 3264 section 6).
	Port int
	// SessionID and SessionVersion fill o= (RFC 4566 section 5.2). Keep the
	// ID for the dialog and increment the version with every new offer or
	// answer that changes the body (RFC 3264 section 8).
	SessionID      uint64
	SessionVersion uint64
	// Codecs are the audio codecs, in preference order; an answer carries
	// exactly one (RFC 3264 section 6.1). At least one is required.
	Codecs []Codec
	// TelephoneEventPT adds telephone-event/8000 with fmtp 0-16 (RFC 4733
	// section 7.1.1) on this payload type, a dynamic one (96-127, RFC 3551
	// section 3, or 35-63, RFC 5761 section 4); NoPayloadType leaves it out.
	// There is no usable zero value: set one or the other.
	TelephoneEventPT uint8
	// Direction is the direction attribute; always written.
	Direction Direction
	// Ptime is a=ptime in milliseconds; 0 means DefaultPtime (20).
	Ptime int

	// Profile is the transport profile, keys, RTCP and m-line layout.
	Profile
}

// Profile is what an SDP body says of the audio stream beyond its codecs:
// for an answer, mostly what the offer said (Answer.Profile), with the
// edge's own key and RTCP port.
type Profile struct {
	// Proto is the audio m-line's profile; "" means ProtoAVP. An SAVP
	// profile needs Crypto.
	Proto string
	// Crypto is the edge's a=crypto (RFC 4568) for an SAVP profile: its
	// own key, with the tag and suite of the offer's crypto it accepts
	// when answering (Session.SetCrypto, Session.OfferCrypto).
	Crypto srtp.Crypto
	// RTCPMux writes a=rtcp-mux (RFC 5761), for an offer of it or an
	// answer to one; otherwise a=rtcp names the RTCP port (RFC 3605),
	// RTCPPort, when set.
	RTCPMux  bool
	RTCPPort int

	// Mirror, for an answer, are the offer's m-lines: the answer carries
	// as many, in the same order (RFC 3264 section 6), the audio stream at
	// AudioIndex and every other line rejected with port 0.
	Mirror     []MediaLine
	AudioIndex int
}

// SDP session and origin constants the edge writes (RFC 4566 sections 5.2
// and 5.3). The origin user name is "-" as RFC 4566 allows; nothing of the
// host is disclosed.
const (
	sdpUsername    = "-"
	sdpSessionName = "edge"
)

// BuildSDP writes an SDP body (RFC 4566) for one audio stream: o= and c=
// with Addr, m=audio on Port with the codecs and telephone-event, rtpmap for
// every format, a=ptime and the direction.
func BuildSDP(p SDPParams) ([]byte, error) {
	if err := p.validate(); err != nil {
		return nil, err
	}
	addr := p.Addr.Unmap()
	addrType := "IP4"
	if addr.Is6() {
		addrType = "IP6"
	}
	ptime := p.Ptime
	if ptime == 0 {
		ptime = DefaultPtime
	}
	proto := p.Proto
	if proto == "" {
		proto = ProtoAVP
	}
	md := &sdp.MediaDescription{
		MediaName: sdp.MediaName{
			Media:  "audio",
			Port:   sdp.RangedPort{Value: p.Port},
			Protos: strings.Split(proto, "/"),
		},
	}
	for _, c := range p.Codecs {
		md.MediaName.Formats = append(md.MediaName.Formats, strconv.Itoa(int(c.PT)))
		rtpmap := fmt.Sprintf("%d %s/%d", c.PT, c.Name, c.ClockRate)
		if c.Channels > 1 {
			rtpmap += "/" + strconv.Itoa(c.Channels)
		}
		md.Attributes = append(md.Attributes, sdp.NewAttribute("rtpmap", rtpmap))
		if c.Fmtp != "" {
			md.Attributes = append(md.Attributes, sdp.NewAttribute("fmtp", fmt.Sprintf("%d %s", c.PT, c.Fmtp)))
		}
	}
	if p.TelephoneEventPT != NoPayloadType {
		pt := strconv.Itoa(int(p.TelephoneEventPT))
		md.MediaName.Formats = append(md.MediaName.Formats, pt)
		md.Attributes = append(md.Attributes,
			sdp.NewAttribute("rtpmap", pt+" telephone-event/8000"),
			sdp.NewAttribute("fmtp", pt+" 0-16"))
	}
	md.Attributes = append(md.Attributes,
		sdp.NewAttribute("ptime", strconv.Itoa(ptime)),
		sdp.NewPropertyAttribute(p.Direction.String()))
	switch {
	case p.RTCPMux:
		md.Attributes = append(md.Attributes, sdp.NewPropertyAttribute("rtcp-mux"))
	case p.RTCPPort != 0:
		md.Attributes = append(md.Attributes, sdp.NewAttribute("rtcp", strconv.Itoa(p.RTCPPort)))
	}
	if !p.Crypto.IsZero() {
		md.Attributes = append(md.Attributes, sdp.NewAttribute("crypto", p.Crypto.Attribute()))
	}
	mds := []*sdp.MediaDescription{md}
	if len(p.Mirror) > 0 {
		mds = make([]*sdp.MediaDescription, len(p.Mirror))
		for i, l := range p.Mirror {
			if i == p.AudioIndex {
				mds[i] = md
				continue
			}
			mds[i] = rejectedLine(l)
		}
	}

	sd := &sdp.SessionDescription{
		Origin: sdp.Origin{
			Username:       sdpUsername,
			SessionID:      p.SessionID,
			SessionVersion: p.SessionVersion,
			NetworkType:    "IN",
			AddressType:    addrType,
			UnicastAddress: addr.String(),
		},
		SessionName: sdpSessionName,
		ConnectionInformation: &sdp.ConnectionInformation{
			NetworkType: "IN",
			AddressType: addrType,
			Address:     &sdp.Address{Address: addr.String()},
		},
		TimeDescriptions:  []sdp.TimeDescription{{}},
		MediaDescriptions: mds,
	}
	b, err := sd.Marshal()
	if err != nil {
		return nil, fmt.Errorf("build sdp: %w", err)
	}
	return b, nil
}

// rejectedLine answers an m-line the edge does not use: port 0, the same
// media and profile, one of its formats (RFC 3264 section 6).
func rejectedLine(l MediaLine) *sdp.MediaDescription {
	proto := l.Proto
	if proto == "" {
		proto = ProtoAVP
	}
	formats := l.Formats
	if len(formats) > 1 {
		formats = formats[:1]
	}
	if len(formats) == 0 {
		formats = []string{"0"}
	}
	media := l.Media
	if media == "" {
		media = "audio"
	}
	return &sdp.MediaDescription{MediaName: sdp.MediaName{
		Media: media, Port: sdp.RangedPort{Value: 0}, Protos: strings.Split(proto, "/"), Formats: formats,
	}}
}

// validate checks that p makes a body a peer can use.
func (p SDPParams) validate() error {
	switch {
	case !p.Addr.IsValid():
		return fmt.Errorf("%w: no address", ErrInvalidSDPParams)
	case p.Port < 0 || p.Port > 65535:
		return fmt.Errorf("%w: port %d", ErrInvalidSDPParams, p.Port)
	case len(p.Codecs) == 0:
		return fmt.Errorf("%w: no codec", ErrInvalidSDPParams)
	case p.Direction > Inactive:
		return fmt.Errorf("%w: direction %d", ErrInvalidSDPParams, p.Direction)
	case p.Ptime < 0 || p.Ptime > 1000:
		return fmt.Errorf("%w: ptime %d", ErrInvalidSDPParams, p.Ptime)
	case p.Proto != "" && p.Proto != ProtoAVP && p.Proto != ProtoAVPF && p.Proto != ProtoSAVP && p.Proto != ProtoSAVPF:
		return fmt.Errorf("%w: profile %q", ErrInvalidSDPParams, p.Proto)
	case (p.Proto == ProtoSAVP || p.Proto == ProtoSAVPF) != !p.Crypto.IsZero():
		return fmt.Errorf("%w: an SAVP profile goes with a crypto, and only it", ErrInvalidSDPParams)
	case len(p.Mirror) > 0 && (p.AudioIndex < 0 || p.AudioIndex >= len(p.Mirror)):
		return fmt.Errorf("%w: audio index %d of %d lines", ErrInvalidSDPParams, p.AudioIndex, len(p.Mirror))
	case p.TelephoneEventPT != NoPayloadType && !isDynamicPT(p.TelephoneEventPT):
		return fmt.Errorf("%w: telephone-event payload type %d", ErrInvalidSDPParams, p.TelephoneEventPT)
	}
	for _, c := range p.Codecs {
		if c.PT > 127 || c.Name == "" || c.ClockRate == 0 || strings.ContainsAny(c.Fmtp, "\r\n") {
			return fmt.Errorf("%w: codec %+v", ErrInvalidSDPParams, c)
		}
		if c.PT == p.TelephoneEventPT {
			return fmt.Errorf("%w: payload type %d used twice", ErrInvalidSDPParams, c.PT)
		}
	}
	return nil
}
