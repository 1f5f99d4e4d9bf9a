package main

import (
	"context"
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// The paced RTP generator of the relay measurement: one socket per call
// (the caller's leg), sending PCMU (160-byte payloads) every 20 ms to the
// relay's address for that call, and counting what comes back (the
// service echoes every packet; the relay forwards it back). The edge and
// rtpengine get the same packets at the same pace.

// rtpLeg is one call's caller side.
type rtpLeg struct {
	conn *net.UDPConn
	dst  netip.AddrPort // the relay's address for this call's caller side
	ssrc uint32
	recv atomic.Int64
}

// newRTPLeg opens a caller socket on ip.
func newRTPLeg(ip netip.Addr, ssrc uint32) (*rtpLeg, error) {
	c, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(ip, 0)))
	if err != nil {
		return nil, fmt.Errorf("rtp leg on %s: %w", ip, err)
	}
	return &rtpLeg{conn: c, ssrc: ssrc}, nil
}

func (l *rtpLeg) port() int { return l.conn.LocalAddr().(*net.UDPAddr).Port }

func closeLegs(legs []*rtpLeg) {
	for _, l := range legs {
		l.conn.Close()
	}
}

// rtpPacketLen is a PCMU packet of 20 ms: 12 bytes of header, 160 of
// payload.
const rtpPacketLen = 12 + 160

// streamRTP sends from every leg at 50 packets/s for d and returns the
// packets sent and received back (echoes arriving up to 300 ms after the
// last send count).
func streamRTP(ctx context.Context, legs []*rtpLeg, d time.Duration) (sent, received int64) {
	var wg sync.WaitGroup
	for _, l := range legs {
		l.recv.Store(0)
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, 1500)
			for {
				_ = l.conn.SetReadDeadline(time.Now().Add(2 * time.Second))
				n, err := l.conn.Read(buf)
				if err != nil {
					return
				}
				if isEcho(buf[:n]) {
					l.recv.Add(1)
				}
			}
		}()
	}
	pkt := make([]byte, rtpPacketLen)
	for i := 12; i < len(pkt); i++ {
		pkt[i] = 0xff // PCMU silence
	}
	pkt[0] = 0x80 // V=2, PT=0
	tick := time.NewTicker(20 * time.Millisecond)
	end := time.Now().Add(d)
	for seq := uint16(0); time.Now().Before(end) && ctx.Err() == nil; seq++ {
		binary.BigEndian.PutUint16(pkt[2:], seq)
		binary.BigEndian.PutUint32(pkt[4:], uint32(seq)*160)
		for _, l := range legs {
			binary.BigEndian.PutUint32(pkt[8:], l.ssrc)
			if _, err := l.conn.WriteToUDPAddrPort(pkt, l.dst); err == nil {
				sent++
			}
		}
		select {
		case <-tick.C:
		case <-ctx.Done():
		}
	}
	tick.Stop()
	time.Sleep(300 * time.Millisecond)
	for _, l := range legs {
		_ = l.conn.SetReadDeadline(time.Now()) // ends the readers
	}
	wg.Wait()
	for _, l := range legs {
		received += l.recv.Load()
	}
	return sent, received
}

// isEcho reports whether b is one of the generator's packets come back:
// an RTP packet (version 2) of PCMU, of the generator's size. A relay's
// RTCP for a call goes to the caller's port + 1 (RFC 3550, no a=rtcp in
// the offer), which among a thousand ephemeral caller sockets can be
// another call's, and counted it made the loss come out negative.
func isEcho(b []byte) bool {
	return len(b) == rtpPacketLen && b[0]>>6 == 2 && b[1]&0x7f == 0
}

// pcmuSDP is a PCMU offer or answer with media on ip:port.
func pcmuSDP(ip netip.Addr, port int) string {
	return fmt.Sprintf("v=0\r\no=- 1 1 IN IP4 %s\r\ns=-\r\nc=IN IP4 %s\r\nt=0 0\r\nm=audio %d RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=ptime:20\r\na=sendrecv\r\n", ip, ip, port)
}

// sdpAudioAddr is the address of an SDP's first audio stream (its c= line,
// the media's or else the session's, and the m=audio port).
func sdpAudioAddr(sdp string) (netip.AddrPort, error) {
	var ip netip.Addr
	port, inAudio := -1, false
	for _, l := range strings.Split(sdp, "\n") {
		l = strings.TrimSpace(l)
		switch {
		case strings.HasPrefix(l, "m="):
			if port > 0 {
				inAudio = false
				break
			}
			if f := strings.Fields(l); len(f) > 1 && f[0] == "m=audio" {
				port, _ = strconv.Atoi(f[1])
				inAudio = true
			}
		case strings.HasPrefix(l, "c=IN IP4 ") && (port < 0 || inAudio):
			// The session's c= line, or the audio stream's own.
			if f := strings.Fields(l[len("c=IN IP4 "):]); len(f) > 0 {
				if a, err := netip.ParseAddr(f[0]); err == nil {
					ip = a
				}
			}
		}
	}
	if !ip.IsValid() || port <= 0 || port > 65535 {
		return netip.AddrPort{}, fmt.Errorf("no audio address in the SDP %q", sdp)
	}
	return netip.AddrPortFrom(ip, uint16(port)), nil
}
