package media

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"github.com/pion/sdp/v3"

	"github.com/voiceedge/edge/media/srtp"
)

// MaxSDPSize bounds the SDP bodies ParseSDP accepts. A two-leg audio call
// needs well under 1 KiB; the bound keeps a hostile body cheap to refuse.
const MaxSDPSize = 16 << 10

// Limits on what ParseSDP accepts: an offer beyond them is refused with
// ErrSDPTooComplex (488). Real offers carry 1-4 m-lines and a few dozen
// attributes.
const (
	MaxMediaLines = 16
	MaxAttributes = 512
)

// Transport profiles of RTP m-lines (RFC 3551, RFC 3711, RFC 4585, RFC
// 5124).
const (
	ProtoAVP   = "RTP/AVP"
	ProtoAVPF  = "RTP/AVPF"
	ProtoSAVP  = "RTP/SAVP"
	ProtoSAVPF = "RTP/SAVPF"
)

// MediaLine is one m= line of a body, as the answer must mirror it
// (RFC 3264 section 6: same number and order of m-lines).
type MediaLine struct {
	Media   string   // "audio", "video", ...
	Port    int      // 0: disabled
	Proto   string   // "RTP/AVP", "RTP/SAVP", "UDP/BFCP", ...
	Formats []string // the fmt tokens as given
}

// Description is what the edge needs of an SDP body (RFC 4566): the audio
// stream of the session it uses, where to send it, and the m-lines an
// answer must mirror.
type Description struct {
	// SessionID and SessionVersion are the o= fields (RFC 4566 section 5.2);
	// a re-offer with an unchanged version changes nothing (RFC 3264
	// section 8).
	SessionID      uint64
	SessionVersion uint64

	// Lines are every m= line of the body, in order; Audio is the index of
	// the audio stream described by the fields below.
	Lines []MediaLine
	Audio int

	// Addr is the connection address of the audio stream: the media-level
	// c= line, or the session-level one (RFC 4566 section 5.7). 0.0.0.0
	// means hold (RFC 3264 section 8.4). It is invalid when c= names a
	// host (an FQDN): the edge does not resolve names in the media path,
	// so such a peer is unreachable until latching learns its address
	// (rtp_latching: learn).
	Addr netip.Addr
	// Host is the c= address as written when it is not an IP literal.
	Host string
	// Port is the RTP port of the m=audio line; 0 means the stream is
	// disabled or rejected (RFC 3264 section 5.1).
	Port int
	// Proto is the transport profile of the m=audio line (ProtoAVP, ...).
	Proto string
	// Formats are the payload formats of the m=audio line, in the order
	// given (the offerer's preference, RFC 3264 section 5.1).
	Formats []Format
	// TelephoneEventPT is the payload type of telephone-event/8000
	// (RFC 4733 section 7.1.1), or NoPayloadType. Only a dynamic payload
	// type counts (see SDPParams.TelephoneEventPT).
	TelephoneEventPT uint8
	// Direction is the audio stream's direction attribute (media level,
	// else session level, else sendrecv).
	Direction Direction
	// Ptime is a=ptime in milliseconds (RFC 4566 section 6), 0 if absent.
	Ptime int
	// Crypto are the usable a=crypto lines of the stream (RFC 4568), in the
	// offerer's order; lines of unknown suites are left out.
	Crypto []srtp.Crypto
	// RTCPMux reports a=rtcp-mux (RFC 5761): RTCP on the RTP port.
	RTCPMux bool
	// RTCPPort is the port of a=rtcp (RFC 3605), 0 when absent (RTP+1).
	RTCPPort int

	// others are the other usable audio streams of the body (for instance
	// the RTP/AVP twin of an RTP/SAVP stream), for SelectAudio.
	others []*Description
}

// RTPAddr returns the address RTP for this stream is sent to.
func (d *Description) RTPAddr() netip.AddrPort {
	return netip.AddrPortFrom(d.Addr, uint16(d.Port))
}

// RTCPAddr returns where RTCP for this stream goes: the RTP address with
// rtcp-mux, else a=rtcp's port, else RTP+1 (RFC 3550 section 11).
func (d *Description) RTCPAddr() netip.AddrPort {
	switch {
	case d.RTCPMux:
		return d.RTPAddr()
	case d.RTCPPort != 0:
		return netip.AddrPortFrom(d.Addr, uint16(d.RTCPPort))
	case d.Port == 0:
		return netip.AddrPortFrom(d.Addr, 0)
	}
	return netip.AddrPortFrom(d.Addr, uint16(d.Port+1))
}

// Secure reports whether the audio stream is SRTP (RTP/SAVP or RTP/SAVPF).
func (d *Description) Secure() bool { return d.Proto == ProtoSAVP || d.Proto == ProtoSAVPF }

// Feedback reports whether the audio stream's profile is AVPF (RFC 4585).
func (d *Description) Feedback() bool { return d.Proto == ProtoAVPF || d.Proto == ProtoSAVPF }

// OnHold reports whether the description puts its sender's peer on hold:
// direction sendonly or inactive, or connection address 0.0.0.0 (RFC 3264
// section 8.4).
func (d *Description) OnHold() bool {
	dir := d.EffectiveDirection()
	return dir == SendOnly || dir == Inactive
}

// EffectiveDirection is Direction with the legacy hold of RFC 2543 applied:
// a connection address of 0.0.0.0 (or ::) means "do not send to me", which
// turns sendrecv into sendonly and recvonly into inactive (RFC 3264
// section 8.4).
func (d *Description) EffectiveDirection() Direction {
	if d.Addr.IsUnspecified() {
		return d.Direction.withoutReceive()
	}
	return d.Direction
}

// ParseSDP parses an SDP body (RFC 4566) and returns its first usable audio
// stream (an RTP profile, a port other than 0, else the first audio
// stream). It is lenient about line order (a session c= or b= after t=,
// as some carriers send), and refuses bodies over MaxSDPSize or with more
// than MaxMediaLines m-lines or MaxAttributes attributes (ErrSDPTooComplex),
// bodies that do not parse, bodies without an RTP audio stream, streams
// without a connection address and a=crypto lines of a supported suite
// that cannot be used (ErrBadCrypto). It never panics on untrusted input.
func ParseSDP(b []byte) (*Description, error) {
	if len(b) > MaxSDPSize {
		return nil, fmt.Errorf("%w: %d bytes, limit %d", ErrSDPTooLarge, len(b), MaxSDPSize)
	}
	if len(b) == 0 {
		return nil, fmt.Errorf("%w: empty body", ErrMalformedSDP)
	}
	b, err := normalizeSDP(b)
	if err != nil {
		return nil, err
	}
	var sd sdp.SessionDescription
	if err := sd.Unmarshal(b); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformedSDP, err)
	}
	var found []*Description
	var firstErr error
	lines := make([]MediaLine, 0, len(sd.MediaDescriptions))
	for i, m := range sd.MediaDescriptions {
		if m == nil {
			return nil, fmt.Errorf("%w: empty media description", ErrMalformedSDP)
		}
		lines = append(lines, MediaLine{
			Media: m.MediaName.Media, Port: m.MediaName.Port.Value,
			Proto: strings.Join(m.MediaName.Protos, "/"), Formats: m.MediaName.Formats,
		})
		if m.MediaName.Media != "audio" {
			continue
		}
		d, err := parseAudio(&sd, m)
		if err != nil {
			if firstErr == nil || errors.Is(err, srtp.ErrBadCrypto) {
				firstErr = err
			}
			if errors.Is(err, srtp.ErrBadCrypto) {
				return nil, err
			}
			continue
		}
		d.Audio = i
		found = append(found, d)
	}
	if len(found) == 0 {
		if firstErr != nil {
			return nil, firstErr
		}
		return nil, ErrNoAudio
	}
	for _, d := range found {
		d.SessionID, d.SessionVersion, d.Lines = sd.Origin.SessionID, sd.Origin.SessionVersion, lines
	}
	// The first enabled stream wins; the rest remain for SelectAudio.
	best := 0
	for i, d := range found {
		if d.Port != 0 {
			best = i
			break
		}
	}
	d := found[best]
	for i, o := range found {
		if i != best && o.Port != 0 {
			d.others = append(d.others, o)
		}
	}
	return d, nil
}

// parseAudio reads one m=audio description.
func parseAudio(sd *sdp.SessionDescription, md *sdp.MediaDescription) (*Description, error) {
	d := &Description{TelephoneEventPT: NoPayloadType}
	if err := parseMediaLine(d, md); err != nil {
		return nil, err
	}
	conn := md.ConnectionInformation
	if conn == nil {
		conn = sd.ConnectionInformation
	}
	addr, host, err := parseConnection(conn)
	if err != nil {
		return nil, err
	}
	d.Addr, d.Host = addr, host
	if err := parseAttributes(d, sd.Attributes, md.Attributes); err != nil {
		return nil, err
	}
	return d, nil
}

// parseMediaLine reads port, transport and formats of an m= line
// (RFC 4566 section 5.14).
func parseMediaLine(d *Description, md *sdp.MediaDescription) error {
	port := md.MediaName.Port.Value
	if port < 0 || port > 65535 {
		return fmt.Errorf("%w: audio port %d", ErrMalformedSDP, port)
	}
	d.Port = port
	proto := strings.Join(md.MediaName.Protos, "/")
	switch proto {
	case ProtoAVP, ProtoAVPF, ProtoSAVP, ProtoSAVPF:
	default:
		return fmt.Errorf("%w: %q", ErrUnsupportedTransport, proto)
	}
	d.Proto = proto
	if len(md.MediaName.Formats) == 0 {
		return fmt.Errorf("%w: m=audio without formats", ErrMalformedSDP)
	}
	d.Formats = make([]Format, 0, len(md.MediaName.Formats))
	for _, f := range md.MediaName.Formats {
		pt, err := parsePT(f)
		if err != nil {
			return err
		}
		d.Formats = append(d.Formats, staticFormats[pt])
		d.Formats[len(d.Formats)-1].PT = pt
	}
	return nil
}

// parseConnection reads a c= line (RFC 4566 section 5.7). The edge sends
// media only to unicast IP literals; a host name would need DNS in the
// media path: it is returned as host with an invalid address (the stream
// is unreachable until latched, see Description.Addr).
func parseConnection(c *sdp.ConnectionInformation) (netip.Addr, string, error) {
	addr, err := parseConnAddr(c)
	if err != nil && c != nil && c.Address != nil && c.NetworkType == "IN" &&
		(c.AddressType == "IP4" || c.AddressType == "IP6") && isHostName(c.Address.Address) {
		return netip.Addr{}, c.Address.Address, nil
	}
	return addr, "", err
}

// isHostName reports whether s looks like a DNS name (RFC 1123 labels).
func isHostName(s string) bool {
	if s == "" || len(s) > 253 {
		return false
	}
	for _, label := range strings.Split(s, ".") {
		if label == "" || len(label) > 63 {
			return false
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
				return false
			}
		}
	}
	_, err := netip.ParseAddr(s)
	return err != nil && !strings.ContainsAny(s[len(s)-1:], "0123456789")
}

func parseConnAddr(c *sdp.ConnectionInformation) (netip.Addr, error) {
	if c == nil || c.Address == nil {
		return netip.Addr{}, fmt.Errorf("%w: no c= line", ErrBadConnection)
	}
	if c.NetworkType != "IN" {
		return netip.Addr{}, fmt.Errorf("%w: network type %q", ErrBadConnection, c.NetworkType)
	}
	addr, err := netip.ParseAddr(c.Address.Address)
	if err != nil {
		return netip.Addr{}, fmt.Errorf("%w: %q: %w", ErrBadConnection, c.Address.Address, err)
	}
	addr = addr.Unmap()
	switch {
	case c.AddressType == "IP4" && !addr.Is4(), c.AddressType == "IP6" && !addr.Is6():
		return netip.Addr{}, fmt.Errorf("%w: %s is not %s", ErrBadConnection, addr, c.AddressType)
	case c.AddressType != "IP4" && c.AddressType != "IP6":
		return netip.Addr{}, fmt.Errorf("%w: address type %q", ErrBadConnection, c.AddressType)
	case addr.IsMulticast():
		return netip.Addr{}, fmt.Errorf("%w: multicast %s", ErrBadConnection, addr)
	}
	return addr, nil
}

// parseAttributes applies a=rtpmap, a=fmtp, a=ptime and the direction
// attributes; media-level values win over session-level ones.
func parseAttributes(d *Description, session, media []sdp.Attribute) error {
	for _, a := range session {
		if dir, ok := parseDirection(a.Key); ok {
			d.Direction = dir
		}
		if a.Key == "ptime" {
			d.Ptime = parsePtime(a.Value)
		}
	}
	for _, a := range media {
		if dir, ok := parseDirection(a.Key); ok {
			d.Direction = dir
			continue
		}
		switch a.Key {
		case "ptime":
			d.Ptime = parsePtime(a.Value)
		case "rtpmap":
			if err := applyRtpmap(d, a.Value); err != nil {
				return err
			}
		case "fmtp":
			applyFmtp(d, a.Value)
		case "rtcp-mux":
			d.RTCPMux = true
		case "rtcp":
			d.RTCPPort = parseRTCPPort(a.Value)
		case "crypto":
			if !d.Secure() {
				continue // a=crypto only means something on an SAVP line
			}
			c, err := srtp.ParseCrypto(a.Value)
			switch {
			case errors.Is(err, srtp.ErrUnknownSuite):
				continue // RFC 4568 section 7.1.1: pick one we support
			case err != nil:
				return fmt.Errorf("%w: %w", ErrBadCrypto, err)
			}
			d.Crypto = append(d.Crypto, c)
		}
	}
	if d.Secure() && len(d.Crypto) == 0 && d.Port != 0 {
		return fmt.Errorf("%w: no a=crypto of a supported suite", ErrBadCrypto)
	}
	for _, f := range d.Formats {
		if f.isTelephoneEvent() && isDynamicPT(f.PT) {
			d.TelephoneEventPT = f.PT
			break
		}
	}
	return nil
}

// applyRtpmap applies "<pt> <name>/<rate>[/<channels>]" (RFC 4566
// section 6) to the format with that payload type. An rtpmap for a payload
// type not on the m= line is ignored.
func applyRtpmap(d *Description, v string) error {
	ptStr, enc, ok := strings.Cut(strings.TrimSpace(v), " ")
	if !ok {
		return fmt.Errorf("%w: rtpmap %q", ErrMalformedSDP, v)
	}
	pt, err := parsePT(ptStr)
	if err != nil {
		return err
	}
	parts := strings.Split(strings.TrimSpace(enc), "/")
	if len(parts) < 2 || len(parts) > 3 || parts[0] == "" {
		return fmt.Errorf("%w: rtpmap %q", ErrMalformedSDP, v)
	}
	rate, err := strconv.ParseUint(parts[1], 10, 32)
	if err != nil || rate == 0 {
		return fmt.Errorf("%w: rtpmap %q: clock rate", ErrMalformedSDP, v)
	}
	channels := 0
	if len(parts) == 3 {
		channels, err = strconv.Atoi(parts[2])
		if err != nil || channels < 1 || channels > 255 {
			return fmt.Errorf("%w: rtpmap %q: channels", ErrMalformedSDP, v)
		}
	}
	for i := range d.Formats {
		if d.Formats[i].PT == pt {
			d.Formats[i].Name = parts[0]
			d.Formats[i].ClockRate = uint32(rate)
			d.Formats[i].Channels = channels
		}
	}
	return nil
}

// applyFmtp attaches "<pt> <parameters>" (RFC 4566 section 6) to its
// format. Malformed fmtp lines are ignored: they only refine a format.
func applyFmtp(d *Description, v string) {
	ptStr, params, ok := strings.Cut(strings.TrimSpace(v), " ")
	if !ok {
		return
	}
	pt, err := parsePT(ptStr)
	if err != nil {
		return
	}
	for i := range d.Formats {
		if d.Formats[i].PT == pt {
			d.Formats[i].Fmtp = strings.TrimSpace(params)
		}
	}
}

// parseRTCPPort reads the port of "a=rtcp:<port> [IN IP4 <addr>]"
// (RFC 3605); a bad value reads as absent.
func parseRTCPPort(v string) int {
	f, _, _ := strings.Cut(strings.TrimSpace(v), " ")
	n, err := strconv.Atoi(f)
	if err != nil || n < 1 || n > 65535 {
		return 0
	}
	return n
}

// parsePT parses an RTP payload type, 0-127 (RFC 3550 section 5.1).
func parsePT(s string) (uint8, error) {
	n, err := strconv.ParseUint(s, 10, 8)
	if err != nil || n > 127 {
		return 0, fmt.Errorf("%w: payload type %q", ErrMalformedSDP, s)
	}
	return uint8(n), nil
}

// parsePtime parses a=ptime; a value that is not a sane packet time in
// milliseconds reads as absent.
func parsePtime(s string) int {
	// RFC 4566 allows a decimal ptime ("20.0"); keep the integer part.
	s, _, _ = strings.Cut(strings.TrimSpace(s), ".")
	n, err := strconv.Atoi(s)
	if err != nil || n <= 0 || n > 1000 {
		return 0
	}
	return n
}
