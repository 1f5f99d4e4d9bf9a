package media

import (
	"errors"
	"net/netip"
	"strings"
	"testing"

	"github.com/voiceedge/edge/media/srtp"
)

func repeat(s string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = s
	}
	return out
}

const testCryptoKey = "WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz"

func TestParseSDPStreams(t *testing.T) {
	tests := []struct {
		name     string
		in       []byte
		audio    int
		lines    int
		proto    string
		addr     string
		host     string
		crypto   int
		mux      bool
		rtcpPort int
		rtcpAddr string
		secure   bool
		others   int
	}{
		{name: "session c= and b= after t=", in: sdpLines("v=0", "o=- 1 1 IN IP4 10.0.0.1", "s=-", "t=0 0", "c=IN IP4 192.0.2.10", "b=AS:64", "m=audio 4000 RTP/AVP 0"),
			lines: 1, proto: ProtoAVP, addr: "192.0.2.10", rtcpAddr: "192.0.2.10:4001"},
		{name: "media lines out of order", in: sdpLines("v=0", "o=- 1 1 IN IP4 10.0.0.1", "s=-", "t=0 0", "m=audio 4000 RTP/AVP 0", "a=sendrecv", "c=IN IP4 192.0.2.11"),
			lines: 1, proto: ProtoAVP, addr: "192.0.2.11", rtcpAddr: "192.0.2.11:4001"},
		{name: "fqdn is unreachable, not refused", in: sdpLines("v=0", "o=- 1 1 IN IP4 gw.example.net", "s=-", "c=IN IP4 media.example.com", "t=0 0", "m=audio 4000 RTP/AVP 0"),
			lines: 1, proto: ProtoAVP, host: "media.example.com", rtcpAddr: "invalid AddrPort"},
		{name: "video first", in: sdpLines("v=0", "o=- 1 1 IN IP4 10.0.0.1", "s=-", "c=IN IP4 192.0.2.1", "t=0 0", "m=video 5000 RTP/AVP 96", "a=rtpmap:96 H264/90000", "m=audio 4000 RTP/AVPF 0", "a=rtcp-mux"),
			audio: 1, lines: 2, proto: ProtoAVPF, addr: "192.0.2.1", mux: true, rtcpAddr: "192.0.2.1:4000"},
		{name: "sdes", in: sdpLines("v=0", "o=- 1 1 IN IP4 10.0.0.1", "s=-", "c=IN IP4 192.0.2.1", "t=0 0", "m=audio 4000 RTP/SAVP 0", "a=rtcp:4005",
			"a=crypto:1 AES_256_CM_HMAC_SHA1_80 inline:"+testCryptoKey+testCryptoKey, "a=crypto:2 AES_CM_128_HMAC_SHA1_32 inline:"+testCryptoKey),
			lines: 1, proto: ProtoSAVP, addr: "192.0.2.1", crypto: 1, rtcpPort: 4005, rtcpAddr: "192.0.2.1:4005", secure: true},
		{name: "savp and avp twins", in: sdpLines("v=0", "o=- 1 1 IN IP4 10.0.0.1", "s=-", "c=IN IP4 192.0.2.1", "t=0 0",
			"m=audio 4000 RTP/SAVP 0", "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:"+testCryptoKey, "m=audio 4002 RTP/AVP 0"),
			lines: 2, proto: ProtoSAVP, addr: "192.0.2.1", crypto: 1, rtcpAddr: "192.0.2.1:4001", secure: true, others: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := ParseSDP(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if d.Audio != tt.audio || len(d.Lines) != tt.lines || d.Proto != tt.proto || d.Host != tt.host ||
				len(d.Crypto) != tt.crypto || d.RTCPMux != tt.mux || d.RTCPPort != tt.rtcpPort || d.Secure() != tt.secure ||
				len(d.others) != tt.others || d.RTCPAddr().String() != tt.rtcpAddr {
				t.Fatalf("got %+v (rtcp %s)", d, d.RTCPAddr())
			}
			if tt.addr != "" && d.Addr != netip.MustParseAddr(tt.addr) {
				t.Errorf("addr %s", d.Addr)
			}
		})
	}
}

func TestSelectAudio(t *testing.T) {
	savp := sdpLines("v=0", "o=- 1 1 IN IP4 10.0.0.1", "s=-", "c=IN IP4 192.0.2.1", "t=0 0",
		"m=audio 4000 RTP/SAVP 0", "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:"+testCryptoKey)
	both := sdpLines("v=0", "o=- 1 1 IN IP4 10.0.0.1", "s=-", "c=IN IP4 192.0.2.1", "t=0 0",
		"m=audio 4000 RTP/SAVP 0", "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:"+testCryptoKey, "m=audio 4002 RTP/AVP 0")
	plain := sdpLines("v=0", "o=- 1 1 IN IP4 10.0.0.1", "s=-", "c=IN IP4 192.0.2.1", "t=0 0", "m=audio 4000 RTP/AVP 0")
	tests := []struct {
		name   string
		in     []byte
		enc    Encryption
		want   error
		secure bool
		port   int
	}{
		{name: "allow savp", in: savp, enc: EncryptionAllow, secure: true, port: 4000},
		{name: "allow plain", in: plain, enc: EncryptionAllow, port: 4000},
		{name: "require plain", in: plain, enc: EncryptionRequire, want: ErrEncryptionRequired},
		{name: "require savp", in: savp, enc: EncryptionRequire, secure: true, port: 4000},
		{name: "disable savp", in: savp, enc: EncryptionDisable, want: ErrEncryptionRefused},
		{name: "disable savp with avp twin", in: both, enc: EncryptionDisable, port: 4002},
		{name: "allow twins takes savp", in: both, enc: EncryptionAllow, secure: true, port: 4000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := ParseSDP(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			got, err := SelectAudio(d, tt.enc)
			if !errors.Is(err, tt.want) {
				t.Fatalf("err %v, want %v", err, tt.want)
			}
			if err != nil {
				return
			}
			if got.Secure() != tt.secure || got.Port != tt.port || got.PeerCrypto().IsZero() == tt.secure {
				t.Errorf("got %+v", got)
			}
		})
	}
	for _, s := range []string{"disable", "allow", "require", ""} {
		if _, err := ParseEncryption(s); err != nil {
			t.Errorf("%q: %v", s, err)
		}
	}
	if _, err := ParseEncryption("maybe"); err == nil {
		t.Error("maybe accepted")
	}
}

func TestBuildSDPMirrorsOffer(t *testing.T) {
	offer, err := ParseSDP(sdpLines("v=0", "o=- 1 1 IN IP4 10.0.0.1", "s=-", "c=IN IP4 192.0.2.1", "t=0 0",
		"m=video 5000 RTP/AVP 96 97", "a=rtpmap:96 H264/90000", "m=audio 4000 RTP/SAVPF 8 0", "a=rtcp-mux",
		"a=crypto:7 AES_CM_128_HMAC_SHA1_32 inline:"+testCryptoKey, "m=application 6000 UDP/BFCP *"))
	if err != nil {
		t.Fatal(err)
	}
	ans, err := Negotiate(offer, nil)
	if err != nil {
		t.Fatal(err)
	}
	local, err := srtp.Generate(ans.Crypto.Suite, ans.Crypto.Tag)
	if err != nil {
		t.Fatal(err)
	}
	prof := ans.Profile
	prof.Crypto = local
	body, err := BuildSDP(SDPParams{Addr: netip.MustParseAddr("203.0.113.1"), Port: 30000, Codecs: []Codec{ans.Codec},
		TelephoneEventPT: NoPayloadType, Profile: prof})
	if err != nil {
		t.Fatal(err)
	}
	s := string(body)
	for _, want := range []string{"m=video 0 RTP/AVP 96\r\n", "m=audio 30000 RTP/SAVPF 8\r\n", "m=application 0 UDP/BFCP *\r\n",
		"a=rtcp-mux", "a=crypto:7 AES_CM_128_HMAC_SHA1_32 inline:"} {
		if !strings.Contains(s, want) {
			t.Errorf("answer lacks %q:\n%s", want, s)
		}
	}
	if strings.Index(s, "m=video") > strings.Index(s, "m=audio") {
		t.Errorf("m-lines reordered:\n%s", s)
	}
	back, err := ParseSDP(body)
	if err != nil || back.Audio != 1 || !back.PeerCrypto().Equal(local) {
		t.Fatalf("answer does not parse back: %v %+v", err, back)
	}
}

func TestExtractSDP(t *testing.T) {
	sdpBody := string(sdpLines("v=0", "o=- 1 1 IN IP4 10.0.0.1", "s=-", "c=IN IP4 192.0.2.1", "t=0 0", "m=audio 4000 RTP/AVP 0"))
	mp := "--unique\r\nContent-Type: application/sdp\r\n\r\n" + sdpBody + "\r\n--unique\r\nContent-Type: application/isup;version=itu-t92+\r\nContent-Disposition: signal;handling=optional\r\n\r\n\x01\x00\x49\x00\r\n--unique--\r\n"
	isupFirst := "--b\r\nContent-Type: application/isup\r\n\r\n\x01\x02\r\n--b\r\nContent-Type: application/sdp\r\n\r\n" + sdpBody + "\r\n--b--\r\n"
	tests := []struct {
		name, ct, body string
		want           error
	}{
		{name: "plain", ct: "application/sdp", body: sdpBody},
		{name: "sip-i", ct: "multipart/mixed;boundary=unique", body: mp},
		{name: "isup first", ct: `multipart/mixed; boundary="b"`, body: isupFirst},
		{name: "no sdp part", ct: "multipart/mixed;boundary=x", body: "--x\r\nContent-Type: text/plain\r\n\r\nhi\r\n--x--\r\n", want: ErrNoAudio},
		{name: "no boundary", ct: "multipart/mixed", body: mp, want: ErrMalformedSDP},
		{name: "other type", ct: "text/plain", body: "x", want: ErrNoAudio},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := ExtractSDP(tt.ct, []byte(tt.body))
			if !errors.Is(err, tt.want) {
				t.Fatalf("err %v, want %v", err, tt.want)
			}
			if err == nil {
				if _, err := ParseSDP(b); err != nil {
					t.Errorf("extracted sdp: %v", err)
				}
			}
		})
	}
}
