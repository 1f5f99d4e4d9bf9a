package sip

import (
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"
	"runtime"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
)

// floodSSRC marks the flood's packets (trunkSSRC the quiet calls').
const floodSSRC = 0xbad0bad0

// TestRTPFloodOfOneWorkspaceSparesAnother: a peer of one workspace floods
// its own call's media port, and the media ports of another workspace's
// calls from the very address those calls signalled (a carrier address
// that carries both). The calls share the edge's media pollers: as many
// quiet calls as pollers start first, one poller each (media.Manager),
// and the noisy call then shares the first one's. The quiet calls keep
// their audio through the edge and their services' echo, nothing of the
// flood reaches them or their services, and the flood at their ports is
// dropped as from the wrong source.
func TestRTPFloodOfOneWorkspaceSparesAnother(t *testing.T) {
	e := newTestEdge(t)
	quietN := min(runtime.GOMAXPROCS(0), 4)
	svcQ, targetQ := startService(t, "uas_answer.xml", "-m", fmt.Sprint(quietN))
	svcN, targetN := startService(t, "uas_answer.xml")
	wsQ := e.addWorkspace(t, wsSpec{name: "Quiet", number: "+15551230001", cidr: "127.0.0.1/32", target: targetQ})
	wsN := e.addWorkspace(t, wsSpec{name: "Noisy", number: "+15551230002", cidr: "127.0.0.3/32", target: targetN})
	trunkQ := newRawTrunk(t, "127.0.0.1", e.udpAddr)
	trunkN := newRawTrunk(t, "127.0.0.3", e.udpAddr)

	type call struct {
		trunk *rawTrunk
		inv   *rawInvite
		ok    *sip.Response
		sock  *net.UDPConn
		edge  netip.AddrPort // the edge's media port of the call
	}
	dial := func(tr *rawTrunk, ip, number string) *call {
		t.Helper()
		c := &call{trunk: tr, sock: udpSocket(t, ip), inv: tr.newInvite(number)}
		c.inv.sdp = offerAt(ip, c.sock.LocalAddr().(*net.UDPAddr).Port)
		var raw []byte
		c.ok, raw = tr.call(t, c.inv, 10*time.Second)
		if c.ok == nil || c.ok.StatusCode != 200 {
			t.Fatalf("call to %s: %v\n%s", number, c.ok, raw)
		}
		c.edge = edgeMedia(t, c.ok)
		return c
	}
	var quiet []*call
	for range quietN {
		c := dial(trunkQ, "127.0.0.1", "+15551230001")
		quiet = append(quiet, c)
		// The leg latches onto its trunk's socket before the flood.
		if got, foreign := exchange(t, []*net.UDPConn{c.sock}, []netip.AddrPort{c.edge}, 5, 0); got[0] == 0 || foreign != 0 {
			t.Fatalf("quiet call before the flood: %d echoed, %d foreign", got[0], foreign)
		}
	}
	noisy := dial(trunkN, "127.0.0.3", "+15551230002")

	// The flood: its own call's port from its signalled socket, the quiet
	// calls' ports from 127.0.0.1, ~10,000 packets a second at each, 1.5 s.
	attacker := udpSocket(t, "127.0.0.1")
	stop := make(chan struct{})
	flooded := make(chan int)
	go func() {
		pkt := rtpPacket(floodSSRC, 1)
		sent := 0
		deadline := time.Now().Add(1500 * time.Millisecond)
		for time.Now().Before(deadline) {
			select {
			case <-stop:
				deadline = time.Time{}
				continue
			default:
			}
			for range 50 {
				if _, err := noisy.sock.WriteToUDPAddrPort(pkt, noisy.edge); err == nil {
					sent++
				}
				for _, c := range quiet {
					if _, err := attacker.WriteToUDPAddrPort(pkt, c.edge); err == nil {
						sent++
					}
				}
			}
			time.Sleep(5 * time.Millisecond)
		}
		flooded <- sent
	}()
	var socks []*net.UDPConn
	var ports []netip.AddrPort
	for _, c := range quiet {
		socks, ports = append(socks, c.sock), append(ports, c.edge)
	}
	const talk = 50 // 1 s of audio, during the flood
	got, foreign := exchange(t, socks, ports, talk, 5)
	close(stop)
	sent := <-flooded
	t.Logf("flood: %d packets; quiet calls echoed %v of %d each", sent, got, talk)
	for i, n := range got {
		if n < talk*9/10 {
			t.Errorf("quiet call %d: %d of %d packets came back during the flood", i, n, talk)
		}
	}
	if foreign != 0 {
		t.Errorf("%d packets of the flood reached the quiet calls' trunk", foreign)
	}
	if drops := e.counter(t, "edge_media_rtp_dropped_total", map[string]string{"reason": "wrong_source"}); drops < float64(sent/(quietN+1)/2) {
		t.Errorf("wrong_source drops = %v, want most of the flood at the quiet calls' ports (%d sent in all)", drops, sent)
	}

	for _, c := range append(quiet, noisy) {
		c.trunk.hangup(t, c.inv, c.ok)
	}
	for _, p := range []*sippProc{svcQ, svcN} {
		if code, logs := p.wait(t, 20*time.Second); code != 0 {
			t.Fatalf("service sipp exit %d\n%s", code, logs)
		}
	}
	e.waitEnded(t, wsQ, quietN)
	e.waitEnded(t, wsN, 1)
	e.checkNoLeaks(t, wsQ, wsN)
}

// exchange sends n packets from each socket to its port, 20 ms apart,
// starting at sequence number seq0+1, and counts per socket the packets
// of trunkSSRC that come back until 300 ms after the last; foreign counts
// the packets of any other source.
func exchange(t *testing.T, socks []*net.UDPConn, to []netip.AddrPort, n int, seq0 uint16) (got []int, foreign int) {
	t.Helper()
	got = make([]int, len(socks))
	buf := make([]byte, 2048)
	drain := func(wait time.Duration) {
		for i, s := range socks {
			_ = s.SetReadDeadline(time.Now().Add(wait))
			for {
				m, _, err := s.ReadFromUDPAddrPort(buf)
				if err != nil {
					break
				}
				switch {
				case m < 12 || buf[1]&0x7f != 0:
				case binary.BigEndian.Uint32(buf[8:]) == trunkSSRC:
					got[i]++
				default:
					foreign++
				}
			}
		}
	}
	for k := range n {
		for i, s := range socks {
			if _, err := s.WriteToUDPAddrPort(rtpPacket(trunkSSRC, seq0+uint16(k)+1), to[i]); err != nil {
				t.Fatal(err)
			}
		}
		drain(20 * time.Millisecond / time.Duration(len(socks)))
	}
	drain(300 * time.Millisecond)
	return got, foreign
}
