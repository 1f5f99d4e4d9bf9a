package media

import (
	"errors"
	"strings"
	"testing"
)

// browserOffer is the audio part of a Chrome offer.
const browserOffer = "v=0\r\no=- 4611731400430051336 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n" +
	"a=group:BUNDLE 0\r\na=msid-semantic: WMS\r\n" +
	"m=audio 9 UDP/TLS/RTP/SAVPF 111 63 9 0 8 13 110 126\r\nc=IN IP4 0.0.0.0\r\n" +
	"a=rtcp:9 IN IP4 0.0.0.0\r\na=ice-ufrag:abcd\r\na=ice-pwd:0123456789abcdefghijklmn\r\n" +
	"a=fingerprint:sha-256 00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF\r\n" +
	"a=setup:actpass\r\na=mid:0\r\na=sendrecv\r\na=rtcp-mux\r\n" +
	"a=rtpmap:111 opus/48000/2\r\na=rtpmap:63 red/48000/2\r\na=rtpmap:9 G722/8000\r\n" +
	"a=rtpmap:0 PCMU/8000\r\na=rtpmap:8 PCMA/8000\r\na=rtpmap:13 CN/8000\r\n" +
	"a=rtpmap:110 telephone-event/48000\r\na=rtpmap:126 telephone-event/8000\r\n"

func TestCheckOffer(t *testing.T) {
	tests := []struct {
		name  string
		offer string
		want  error
	}{
		{name: "browser", offer: browserOffer},
		{name: "static pcmu without rtpmap", offer: strings.Replace(browserOffer, "a=rtpmap:0 PCMU/8000\r\n", "", 1)},
		{name: "pcmu renumbered", offer: strings.NewReplacer("SAVPF 111 63 9 0 8", "SAVPF 111 63 9 98 8", "a=rtpmap:0 PCMU", "a=rtpmap:98 PCMU").Replace(browserOffer)},
		{name: "opus only", offer: strings.Replace(browserOffer, "SAVPF 111 63 9 0 8 13 110 126", "SAVPF 111", 1), want: ErrNoPCMU},
		{name: "audio disabled", offer: strings.Replace(browserOffer, "m=audio 9", "m=audio 0", 1), want: ErrNoPCMU},
		{name: "pcmu at 16 kHz", offer: strings.NewReplacer("SAVPF 111 63 9 0 8", "SAVPF 111 63 9 98", "a=rtpmap:0 PCMU/8000", "a=rtpmap:98 PCMU/16000").Replace(browserOffer), want: ErrNoPCMU},
		{name: "truncated", offer: "v=0\r\no=- 1", want: ErrBadOffer},
		{name: "blank", offer: " \r\n", want: ErrBadOffer},
		{name: "oversize", offer: browserOffer + strings.Repeat("a=x:y\r\n", MaxOfferSize/7), want: ErrSDPTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := checkOffer(tt.offer)
			if !errors.Is(err, tt.want) || (tt.want == nil) != (err == nil) {
				t.Fatalf("checkOffer = %v, want %v", err, tt.want)
			}
		})
	}
}

func FuzzCheckOffer(f *testing.F) {
	f.Add(browserOffer)
	f.Add("v=0\r\nm=audio 1 RTP/AVP 0\r\n")
	f.Add("v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 96\r\na=rtpmap:96\r\n")
	f.Fuzz(func(t *testing.T, offer string) {
		err := checkOffer(offer)
		if err != nil && !errors.Is(err, ErrBadOffer) && !errors.Is(err, ErrNoPCMU) {
			t.Fatalf("unclassified error %v", err)
		}
		if err == nil && len(offer) > MaxOfferSize {
			t.Fatal("accepted an oversize offer")
		}
	})
}
