package media

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"github.com/pion/sdp/v3"
)

// MaxSDPSize bounds the SDP bodies ParseSDP accepts. A two-leg audio call
// needs well under 1 KiB; the bound keeps a hostile body cheap to refuse.
const MaxSDPSize = 16 << 10

// Description is what the edge needs of an SDP body (RFC 4566): the first
// audio stream of the session and where to send it.
type Description struct {
	// SessionID and SessionVersion are the o= fields (RFC 4566 section 5.2);
	// a re-offer with an unchanged version changes nothing (RFC 3264
	// section 8).
	SessionID      uint64
	SessionVersion uint64

	// Addr is the connection address of the audio stream: the media-level
	// c= line, or the session-level one (RFC 4566 section 5.7). 0.0.0.0
	// means hold (RFC 3264 section 8.4).
	Addr netip.Addr
	// Port is the RTP port of the m=audio line; 0 means the stream is
	// disabled or rejected (RFC 3264 section 5.1).
	Port int
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
}

// RTPAddr returns the address RTP for this stream is sent to.
func (d *Description) RTPAddr() netip.AddrPort {
	return netip.AddrPortFrom(d.Addr, uint16(d.Port))
}

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

// ParseSDP parses an SDP body (RFC 4566) and returns its first audio stream.
// It refuses bodies over MaxSDPSize, bodies that do not parse, bodies
// without an RTP/AVP audio stream and streams without a usable IP connection
// address. It never panics on untrusted input.
func ParseSDP(b []byte) (*Description, error) {
	if len(b) > MaxSDPSize {
		return nil, fmt.Errorf("%w: %d bytes, limit %d", ErrSDPTooLarge, len(b), MaxSDPSize)
	}
	if len(b) == 0 {
		return nil, fmt.Errorf("%w: empty body", ErrMalformedSDP)
	}
	var sd sdp.SessionDescription
	if err := sd.Unmarshal(b); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformedSDP, err)
	}
	var md *sdp.MediaDescription
	for _, m := range sd.MediaDescriptions {
		if m != nil && m.MediaName.Media == "audio" {
			md = m
			break
		}
	}
	if md == nil {
		return nil, ErrNoAudio
	}
	d := &Description{
		SessionID:        sd.Origin.SessionID,
		SessionVersion:   sd.Origin.SessionVersion,
		TelephoneEventPT: NoPayloadType,
	}
	if err := parseMediaLine(d, md); err != nil {
		return nil, err
	}
	conn := md.ConnectionInformation
	if conn == nil {
		conn = sd.ConnectionInformation
	}
	addr, err := parseConnection(conn)
	if err != nil {
		return nil, err
	}
	d.Addr = addr
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
	if proto != "RTP/AVP" && proto != "RTP/AVPF" {
		return fmt.Errorf("%w: %q", ErrUnsupportedTransport, proto)
	}
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
// media path and is refused.
func parseConnection(c *sdp.ConnectionInformation) (netip.Addr, error) {
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
		}
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
