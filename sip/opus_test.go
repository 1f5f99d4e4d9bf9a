package sip

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

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
	e := newTestEdge(t)
	agent := startBaresip(t, baresipOptions{User: "agent", ToneHz: 1500, Duration: 12 * time.Second, Codecs: []string{"opus"}})
	target := fmt.Sprintf("sip:agent@127.0.0.1:%d;transport=udp", agent.sipPort)
	ws := e.addWorkspace(t, wsSpec{name: "Clinic", number: "+15551230001", cidr: "127.0.0.1/32", target: target})
	time.Sleep(500 * time.Millisecond)
	carrier := startBaresip(t, baresipOptions{User: "carrier", Dial: "sip:+15551230001@" + e.udpAddr, Duration: 10 * time.Second,
		Codecs: []string{"opus", "g711"}})
	time.Sleep(4 * time.Second)
	carrier.command(t, "hangup", "")
	clogs := carrier.wait(t, 20*time.Second)
	alogs := agent.wait(t, 20*time.Second)
	for _, side := range []struct {
		name string
		p    *baresipProc
		freq float64
		logs string
	}{{"carrier", carrier, 1500, clogs}, {"agent", agent, 1000, alogs}} {
		if !strings.Contains(side.logs, "Set audio decoder: opus") {
			t.Errorf("%s did not decode Opus:\n%s", side.name, side.logs)
		}
		samples, rate := side.p.heard(t)
		hits, windows := toneWindows(samples, rate, side.freq, 1000)
		if windows < 20 || hits < windows/3 {
			t.Errorf("the %s heard %.0f Hz in %d of %d windows (rate %d)\n%s", side.name, side.freq, hits, windows, rate, side.logs)
		}
	}
	e.waitEnded(t, ws, 1)
	e.checkNoLeaks(t, ws)
}
