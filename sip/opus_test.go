package sip

import (
	"reflect"
	"strings"
	"testing"

	"github.com/voiceedge/edge/media"
)

// TestOpusServiceCodecs: the edge offers the service Opus where the trunk
// offered it, in the trunk's order, with the trunk's payload type and
// fmtp; the G.711 law the trunk did not offer follows, then CN.
func TestOpusServiceCodecs(t *testing.T) {
	offer, err := media.ParseSDP([]byte(strings.Join([]string{"v=0", "o=- 1 1 IN IP4 10.0.0.1", "s=-",
		"c=IN IP4 10.0.0.1", "t=0 0", "m=audio 4000 RTP/AVP 0 109 9 101 13",
		"a=rtpmap:109 opus/48000/2", "a=fmtp:109 useinbandfec=1", "a=rtpmap:101 telephone-event/8000", ""}, "\r\n")))
	if err != nil {
		t.Fatal(err)
	}
	ans, err := media.Negotiate(offer, nil)
	if err != nil {
		t.Fatal(err)
	}
	opus := media.Codec{Name: "opus", ClockRate: 48000, PT: 109, Channels: 2, Fmtp: "useinbandfec=1"}
	got := serviceCodecs(offer, ans)
	want := []media.Codec{media.CodecPCMU, opus, media.CodecG722, media.CodecPCMA, media.CodecCN}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("service codecs %+v, want %+v", got, want)
	}
	if pt := eventPT(want); pt != media.DefaultTelephoneEventPT {
		t.Fatalf("telephone-event on %d, want %d", pt, media.DefaultTelephoneEventPT)
	}
	if pt := eventPT([]media.Codec{{Name: "opus", ClockRate: 48000, Channels: 2, PT: 101}, media.CodecPCMU}); pt != 102 {
		t.Fatalf("telephone-event on %d beside Opus on 101, want 102", pt)
	}
	if !passthrough(opus) || !sameCodec(opus, media.CodecOpus) || sameCodec(opus, media.CodecG722) {
		t.Fatal("Opus is a passthrough codec whatever its payload type")
	}
}

// TestCallOpusPassthrough: a carrier offering Opus first (baresip) calls a
// service that takes only Opus (baresip): the edge offers the service the
// trunk's codecs in the trunk's order, Opus with the trunk's payload type
// and fmtp, both legs settle on Opus, and the relay passes it through
// untouched; each side hears the other's tone. (The carrier also offers
// G.711: the edge answers a trunk's offer only when it has a G.711
// fallback, as for G.722.)
func TestCallOpusPassthrough(t *testing.T) {
	passthroughCall(t, []string{"opus"}, []string{"opus", "g711"}, "opus")
}
