package media

import (
	"bytes"
	"errors"
	"net/netip"
	"reflect"
	"strings"
	"testing"
)

// sdpLines joins lines with CRLF, as SIP carries SDP.
func sdpLines(lines ...string) []byte { return []byte(strings.Join(lines, "\r\n") + "\r\n") }

// trunkOffer is a typical carrier offer: G.729 first, then G.711 and
// telephone-event on a dynamic payload type.
var trunkOffer = sdpLines(
	"v=0",
	"o=carrier 1733 1734 IN IP4 198.51.100.7",
	"s=SIP Call",
	"c=IN IP4 198.51.100.7",
	"t=0 0",
	"m=audio 31000 RTP/AVP 18 8 0 101",
	"a=rtpmap:18 G729/8000",
	"a=fmtp:18 annexb=no",
	"a=rtpmap:8 PCMA/8000",
	"a=rtpmap:0 PCMU/8000",
	"a=rtpmap:101 telephone-event/8000",
	"a=fmtp:101 0-15",
	"a=ptime:20",
	"a=sendrecv",
)

func TestParseSDP(t *testing.T) {
	tests := []struct {
		name string
		in   []byte
		want Description
	}{
		{
			name: "carrier offer",
			in:   trunkOffer,
			want: Description{
				SessionID: 1733, SessionVersion: 1734,
				Addr: netip.MustParseAddr("198.51.100.7"), Port: 31000,
				Formats: []Format{
					{PT: 18, Name: "G729", ClockRate: 8000, Fmtp: "annexb=no"},
					{PT: 8, Name: "PCMA", ClockRate: 8000},
					{PT: 0, Name: "PCMU", ClockRate: 8000},
					{PT: 101, Name: "telephone-event", ClockRate: 8000, Fmtp: "0-15"},
				},
				TelephoneEventPT: 101, Direction: SendRecv, Ptime: 20,
			},
		},
		{
			name: "static payload types without rtpmap, LF line ends",
			in:   []byte("v=0\no=- 1 2 IN IP4 10.0.0.1\ns=-\nc=IN IP4 10.0.0.1\nt=0 0\nm=audio 4000 RTP/AVP 0 8 13\n"),
			want: Description{
				SessionID: 1, SessionVersion: 2,
				Addr: netip.MustParseAddr("10.0.0.1"), Port: 4000,
				Formats: []Format{
					{PT: 0, Name: "PCMU", ClockRate: 8000},
					{PT: 8, Name: "PCMA", ClockRate: 8000},
					{PT: 13, Name: "CN", ClockRate: 8000},
				},
				TelephoneEventPT: NoPayloadType,
			},
		},
		{
			name: "media-level connection and direction win",
			in: sdpLines("v=0", "o=- 5 5 IN IP4 10.0.0.1", "s=-", "c=IN IP4 10.0.0.1", "t=0 0", "a=recvonly",
				"m=audio 4000 RTP/AVP 0", "c=IN IP4 10.0.0.9", "a=sendonly"),
			want: Description{
				SessionID: 5, SessionVersion: 5,
				Addr: netip.MustParseAddr("10.0.0.9"), Port: 4000,
				Formats:          []Format{{PT: 0, Name: "PCMU", ClockRate: 8000}},
				TelephoneEventPT: NoPayloadType, Direction: SendOnly,
			},
		},
		{
			name: "session-level direction applies",
			in:   sdpLines("v=0", "o=- 5 5 IN IP4 10.0.0.1", "s=-", "c=IN IP4 10.0.0.1", "t=0 0", "a=inactive", "m=audio 4000 RTP/AVP 8"),
			want: Description{
				SessionID: 5, SessionVersion: 5,
				Addr: netip.MustParseAddr("10.0.0.1"), Port: 4000,
				Formats:          []Format{{PT: 8, Name: "PCMA", ClockRate: 8000}},
				TelephoneEventPT: NoPayloadType, Direction: Inactive,
			},
		},
		{
			name: "legacy hold, IPv6, video ignored",
			in: sdpLines("v=0", "o=- 5 6 IN IP6 2001:db8::1", "s=-", "t=0 0",
				"m=video 5000 RTP/AVP 96", "c=IN IP6 2001:db8::1", "a=rtpmap:96 H264/90000",
				"m=audio 4002 RTP/AVP 0 96", "c=IN IP6 ::", "a=rtpmap:96 telephone-event/8000", "a=ptime:30"),
			want: Description{
				SessionID: 5, SessionVersion: 6,
				Addr: netip.MustParseAddr("::"), Port: 4002,
				Formats: []Format{
					{PT: 0, Name: "PCMU", ClockRate: 8000},
					{PT: 96, Name: "telephone-event", ClockRate: 8000},
				},
				TelephoneEventPT: 96, Ptime: 30,
			},
		},
		{
			name: "telephone-event on a static payload type is ignored",
			in: sdpLines("v=0", "o=- 1 1 IN IP4 10.0.0.1", "s=-", "c=IN IP4 10.0.0.1", "t=0 0",
				"m=audio 4000 RTP/AVP 8 3", "a=rtpmap:3 telephone-event/8000"),
			want: Description{
				SessionID: 1, SessionVersion: 1,
				Addr: netip.MustParseAddr("10.0.0.1"), Port: 4000,
				Formats: []Format{
					{PT: 8, Name: "PCMA", ClockRate: 8000},
					{PT: 3, Name: "telephone-event", ClockRate: 8000},
				},
				TelephoneEventPT: NoPayloadType,
			},
		},
		{
			name: "telephone-event at 16 kHz is not ours",
			in: sdpLines("v=0", "o=- 1 1 IN IP4 10.0.0.1", "s=-", "c=IN IP4 10.0.0.1", "t=0 0",
				"m=audio 4000 RTP/AVP 0 100", "a=rtpmap:100 telephone-event/16000"),
			want: Description{
				SessionID: 1, SessionVersion: 1,
				Addr: netip.MustParseAddr("10.0.0.1"), Port: 4000,
				Formats: []Format{
					{PT: 0, Name: "PCMU", ClockRate: 8000},
					{PT: 100, Name: "telephone-event", ClockRate: 16000},
				},
				TelephoneEventPT: NoPayloadType,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseSDP(tt.in)
			if err != nil {
				t.Fatalf("ParseSDP: %v", err)
			}
			got.Lines, got.Audio, got.Proto = nil, 0, "" // TestParseSDPStreams checks them
			if !reflect.DeepEqual(*got, tt.want) {
				t.Fatalf("got  %+v\nwant %+v", *got, tt.want)
			}
		})
	}
}

func TestParseSDPErrors(t *testing.T) {
	tests := []struct {
		name string
		in   []byte
		want error
	}{
		{name: "empty", in: nil, want: ErrMalformedSDP},
		{name: "garbage", in: []byte("\x00\xff not sdp at all"), want: ErrMalformedSDP},
		{name: "too large", in: bytes.Repeat([]byte("a"), MaxSDPSize+1), want: ErrSDPTooLarge},
		{name: "no audio", in: sdpLines("v=0", "o=- 1 1 IN IP4 10.0.0.1", "s=-", "c=IN IP4 10.0.0.1", "t=0 0", "m=video 4000 RTP/AVP 96"), want: ErrNoAudio},
		{name: "srtp", in: sdpLines("v=0", "o=- 1 1 IN IP4 10.0.0.1", "s=-", "c=IN IP4 10.0.0.1", "t=0 0", "m=audio 4000 RTP/SAVP 0"), want: ErrBadCrypto},
		{name: "srtp bad key", in: sdpLines("v=0", "o=- 1 1 IN IP4 10.0.0.1", "s=-", "c=IN IP4 10.0.0.1", "t=0 0", "m=audio 4000 RTP/SAVP 0", "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:AAAA"), want: ErrBadCrypto},
		{name: "dtls profile", in: sdpLines("v=0", "o=- 1 1 IN IP4 10.0.0.1", "s=-", "c=IN IP4 10.0.0.1", "t=0 0", "m=audio 4000 UDP/TLS/RTP/SAVPF 0"), want: ErrUnsupportedTransport},
		{name: "no connection", in: sdpLines("v=0", "o=- 1 1 IN IP4 10.0.0.1", "s=-", "t=0 0", "m=audio 4000 RTP/AVP 0"), want: ErrBadConnection},
		{name: "host name with digits at the end", in: sdpLines("v=0", "o=- 1 1 IN IP4 10.0.0.1", "s=-", "c=IN IP4 10.0.0.300", "t=0 0", "m=audio 4000 RTP/AVP 0"), want: ErrBadConnection},
		{name: "too many m-lines", in: sdpLines(append([]string{"v=0", "o=- 1 1 IN IP4 10.0.0.1", "s=-", "c=IN IP4 10.0.0.1", "t=0 0"}, repeat("m=audio 4000 RTP/AVP 0", MaxMediaLines+1)...)...), want: ErrSDPTooComplex},
		{name: "too many attributes", in: sdpLines(append([]string{"v=0", "o=- 1 1 IN IP4 10.0.0.1", "s=-", "c=IN IP4 10.0.0.1", "t=0 0", "m=audio 4000 RTP/AVP 0"}, repeat("a=x", MaxAttributes+1)...)...), want: ErrSDPTooComplex},
		{name: "multicast", in: sdpLines("v=0", "o=- 1 1 IN IP4 10.0.0.1", "s=-", "c=IN IP4 224.2.1.1/127", "t=0 0", "m=audio 4000 RTP/AVP 0"), want: ErrBadConnection},
		{name: "family mismatch", in: sdpLines("v=0", "o=- 1 1 IN IP4 10.0.0.1", "s=-", "c=IN IP4 2001:db8::1", "t=0 0", "m=audio 4000 RTP/AVP 0"), want: ErrBadConnection},
		{name: "bad payload type", in: sdpLines("v=0", "o=- 1 1 IN IP4 10.0.0.1", "s=-", "c=IN IP4 10.0.0.1", "t=0 0", "m=audio 4000 RTP/AVP 200"), want: ErrMalformedSDP},
		{name: "bad rtpmap", in: sdpLines("v=0", "o=- 1 1 IN IP4 10.0.0.1", "s=-", "c=IN IP4 10.0.0.1", "t=0 0", "m=audio 4000 RTP/AVP 0", "a=rtpmap:0 PCMU"), want: ErrMalformedSDP},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := ParseSDP(tt.in)
			if !errors.Is(err, tt.want) {
				t.Fatalf("ParseSDP = %+v, %v; want %v", d, err, tt.want)
			}
		})
	}
}

func TestDescriptionHold(t *testing.T) {
	tests := []struct {
		name      string
		addr      string
		dir       Direction
		effective Direction
		hold      bool
	}{
		{name: "active", addr: "10.0.0.1", dir: SendRecv, effective: SendRecv},
		{name: "sendonly", addr: "10.0.0.1", dir: SendOnly, effective: SendOnly, hold: true},
		{name: "inactive", addr: "10.0.0.1", dir: Inactive, effective: Inactive, hold: true},
		{name: "recvonly", addr: "10.0.0.1", dir: RecvOnly, effective: RecvOnly},
		{name: "zero address", addr: "0.0.0.0", dir: SendRecv, effective: SendOnly, hold: true},
		{name: "zero address recvonly", addr: "0.0.0.0", dir: RecvOnly, effective: Inactive, hold: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := &Description{Addr: netip.MustParseAddr(tt.addr), Direction: tt.dir}
			if got := d.EffectiveDirection(); got != tt.effective {
				t.Errorf("EffectiveDirection = %s, want %s", got, tt.effective)
			}
			if got := d.OnHold(); got != tt.hold {
				t.Errorf("OnHold = %v, want %v", got, tt.hold)
			}
		})
	}
}

func TestBuildSDP(t *testing.T) {
	tests := []struct {
		name   string
		params SDPParams
		want   []string // lines that must appear
	}{
		{
			name: "offer",
			params: SDPParams{
				Addr: netip.MustParseAddr("203.0.113.5"), Port: 10000, SessionID: 42, SessionVersion: 1,
				Codecs: DefaultCodecs(), TelephoneEventPT: DefaultTelephoneEventPT,
			},
			want: []string{"v=0", "o=- 42 1 IN IP4 203.0.113.5", "s=edge", "c=IN IP4 203.0.113.5", "t=0 0",
				"m=audio 10000 RTP/AVP 0 8 101", "a=rtpmap:0 PCMU/8000", "a=rtpmap:8 PCMA/8000",
				"a=rtpmap:101 telephone-event/8000", "a=fmtp:101 0-16", "a=ptime:20", "a=sendrecv"},
		},
		{
			name: "hold answer without events, IPv6",
			params: SDPParams{
				Addr: netip.MustParseAddr("2001:db8::5"), Port: 10002, SessionID: 42, SessionVersion: 2,
				Codecs: []Codec{CodecPCMA}, TelephoneEventPT: NoPayloadType, Direction: RecvOnly, Ptime: 30,
			},
			want: []string{"o=- 42 2 IN IP6 2001:db8::5", "c=IN IP6 2001:db8::5", "m=audio 10002 RTP/AVP 8",
				"a=rtpmap:8 PCMA/8000", "a=ptime:30", "a=recvonly"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := BuildSDP(tt.params)
			if err != nil {
				t.Fatalf("BuildSDP: %v", err)
			}
			lines := strings.Split(strings.TrimSuffix(string(b), "\r\n"), "\r\n")
			for _, w := range tt.want {
				if !contains(lines, w) {
					t.Errorf("missing %q in\n%s", w, b)
				}
			}
			if contains(lines, "a=fmtp:101 0-16") != (tt.params.TelephoneEventPT == 101) {
				t.Errorf("telephone-event presence wrong in\n%s", b)
			}
			// What we write, we read back.
			d, err := ParseSDP(b)
			if err != nil {
				t.Fatalf("ParseSDP(BuildSDP): %v", err)
			}
			if d.Port != tt.params.Port || d.Addr != tt.params.Addr || d.Direction != tt.params.Direction ||
				d.TelephoneEventPT != tt.params.TelephoneEventPT || len(d.Formats) == 0 || d.Formats[0].PT != tt.params.Codecs[0].PT {
				t.Fatalf("round trip = %+v", d)
			}
		})
	}
}

func contains(lines []string, s string) bool {
	for _, l := range lines {
		if l == s {
			return true
		}
	}
	return false
}

func TestBuildSDPRejectsBadParams(t *testing.T) {
	ok := SDPParams{Addr: netip.MustParseAddr("10.0.0.1"), Port: 10000, Codecs: DefaultCodecs(), TelephoneEventPT: NoPayloadType}
	tests := []struct {
		name   string
		modify func(*SDPParams)
	}{
		{name: "no address", modify: func(p *SDPParams) { p.Addr = netip.Addr{} }},
		{name: "port", modify: func(p *SDPParams) { p.Port = 70000 }},
		{name: "no codecs", modify: func(p *SDPParams) { p.Codecs = nil }},
		{name: "direction", modify: func(p *SDPParams) { p.Direction = 9 }},
		{name: "ptime", modify: func(p *SDPParams) { p.Ptime = -1 }},
		{name: "event PT", modify: func(p *SDPParams) { p.TelephoneEventPT = 200 }},
		{name: "event PT static", modify: func(p *SDPParams) { p.TelephoneEventPT = 8 }},
		{name: "event PT left zero", modify: func(p *SDPParams) { p.TelephoneEventPT = 0 }},
		{name: "event PT clash", modify: func(p *SDPParams) {
			p.TelephoneEventPT = 101
			p.Codecs = []Codec{{Name: "PCMU", ClockRate: 8000, PT: 101}}
		}},
		{name: "nameless codec", modify: func(p *SDPParams) { p.Codecs = []Codec{{PT: 0, ClockRate: 8000}} }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := ok
			tt.modify(&p)
			if _, err := BuildSDP(p); !errors.Is(err, ErrInvalidSDPParams) {
				t.Fatalf("err = %v, want ErrInvalidSDPParams", err)
			}
		})
	}
}
