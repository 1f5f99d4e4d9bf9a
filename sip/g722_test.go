package sip

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// TestCallG722Passthrough: a carrier offering G.722 first (baresip) calls a
// service that takes G.722 (baresip): the edge offers the service the
// trunk's codecs in the trunk's order, both legs settle on G.722, and the
// relay passes it through untouched; each side hears the other's tone in
// wideband.
func TestCallG722Passthrough(t *testing.T) {
	codecs := []string{"g722", "g711"}
	passthroughCall(t, codecs, codecs, "G722")
}

// passthroughCall calls a baresip service taking agentCodecs from a baresip
// carrier offering carrierCodecs, through the edge: both must decode
// decoder (baresip's name of the codec) and hear the other's tone.
func passthroughCall(t *testing.T, agentCodecs, carrierCodecs []string, decoder string) {
	t.Helper()
	e := newTestEdge(t)
	agent := startBaresip(t, baresipOptions{User: "agent", ToneHz: 1500, Duration: 12 * time.Second, Codecs: agentCodecs})
	target := fmt.Sprintf("sip:agent@127.0.0.1:%d;transport=udp", agent.sipPort)
	ws := e.addWorkspace(t, wsSpec{name: "Clinic", number: "+15551230001", cidr: "127.0.0.1/32", target: target})
	time.Sleep(500 * time.Millisecond)
	carrier := startBaresip(t, baresipOptions{User: "carrier", Dial: "sip:+15551230001@" + e.udpAddr, Duration: 10 * time.Second, Codecs: carrierCodecs})
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
		if !strings.Contains(side.logs, "Set audio decoder: "+decoder) {
			t.Errorf("%s did not decode %s:\n%s", side.name, decoder, side.logs)
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
