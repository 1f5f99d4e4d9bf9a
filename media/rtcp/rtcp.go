package rtcp

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"time"

	pion "github.com/pion/rtcp"
)

// MaxPacketSize bounds the compound packets Parse accepts.
const MaxPacketSize = 1500

// ErrMalformed reports a datagram that is not a valid compound RTCP packet
// (RFC 3550 appendix A.2): truncated, lying about lengths, of another
// version, or not starting with SR or RR.
var ErrMalformed = errors.New("rtcp: malformed packet")

// Payload types of RFC 3550 section 12.1.
const (
	typeSR   = 200
	typeRR   = 201
	typeSDES = 202
	typeBYE  = 203
)

// IsRTCP reports whether a datagram on a multiplexed port is RTCP rather
// than RTP: its second byte, the RTCP packet type, is in 192-223 (RFC 5761
// section 4).
func IsRTCP(b []byte) bool { return len(b) >= 2 && b[1] >= 192 && b[1] <= 223 }

// ReportBlock is one reception report (RFC 3550 section 6.4.1).
type ReportBlock struct {
	SSRC         uint32
	FractionLost uint8  // fixed point, /256
	TotalLost    uint32 // cumulative, 24 bits
	LastSeq      uint32 // extended highest sequence number
	Jitter       uint32 // RTP clock units
	LSR, DLSR    uint32 // middle 32 bits of NTP; 1/65536 s
}

// Report is what the edge reads of a peer's compound packet.
type Report struct {
	// SSRC is the sender's SSRC (of its first SR or RR).
	SSRC uint32
	// Sender is set for an SR: NTP (middle 32 bits, for LSR), RTP time and
	// counts.
	Sender   bool
	NTP      uint64
	RTPTime  uint32
	Packets  uint32
	Octets   uint32
	Blocks   []ReportBlock
	Bye      bool
	HasCNAME bool
}

// Parse validates a compound RTCP packet (RFC 3550 appendix A.2: version 2,
// the first packet an SR or RR, padding only on the last, lengths adding up
// to the datagram) and returns its reports. It never panics on untrusted
// input.
func Parse(b []byte) (Report, error) {
	if len(b) < 8 || len(b) > MaxPacketSize {
		return Report{}, fmt.Errorf("%w: %d bytes", ErrMalformed, len(b))
	}
	if b[1] != typeSR && b[1] != typeRR {
		return Report{}, fmt.Errorf("%w: first packet type %d", ErrMalformed, b[1])
	}
	for off := 0; off < len(b); {
		if len(b)-off < 4 {
			return Report{}, fmt.Errorf("%w: truncated header", ErrMalformed)
		}
		if b[off]>>6 != 2 {
			return Report{}, fmt.Errorf("%w: version %d", ErrMalformed, b[off]>>6)
		}
		n := 4 * (int(binary.BigEndian.Uint16(b[off+2:])) + 1)
		if n > len(b)-off {
			return Report{}, fmt.Errorf("%w: length %d beyond the datagram", ErrMalformed, n)
		}
		if b[off]&0x20 != 0 && off+n != len(b) {
			return Report{}, fmt.Errorf("%w: padding before the last packet", ErrMalformed)
		}
		off += n
	}
	pkts, err := pion.Unmarshal(b)
	if err != nil {
		return Report{}, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	var r Report
	blocks := func(rr []pion.ReceptionReport) {
		for _, x := range rr {
			if len(r.Blocks) == 31 {
				return
			}
			r.Blocks = append(r.Blocks, ReportBlock{SSRC: x.SSRC, FractionLost: x.FractionLost, TotalLost: x.TotalLost,
				LastSeq: x.LastSequenceNumber, Jitter: x.Jitter, LSR: x.LastSenderReport, DLSR: x.Delay})
		}
	}
	for i, p := range pkts {
		switch p := p.(type) {
		case *pion.SenderReport:
			if i == 0 {
				r.SSRC, r.Sender, r.NTP, r.RTPTime, r.Packets, r.Octets = p.SSRC, true, p.NTPTime, p.RTPTime, p.PacketCount, p.OctetCount
			}
			blocks(p.Reports)
		case *pion.ReceiverReport:
			if i == 0 {
				r.SSRC = p.SSRC
			}
			blocks(p.Reports)
		case *pion.SourceDescription:
			for _, c := range p.Chunks {
				for _, it := range c.Items {
					if it.Type == pion.SDESCNAME {
						r.HasCNAME = true
					}
				}
			}
		case *pion.Goodbye:
			r.Bye = true
		}
	}
	return r, nil
}

// Sender is what the edge reports as the sender of the stream it sends to
// a leg.
type Sender struct {
	SSRC    uint32
	NTP     uint64 // now, NTP format
	RTPTime uint32
	Packets uint32
	Octets  uint32
}

// Build writes the edge's compound packet for a leg (RFC 3550 section
// 6.1): an SR when sent is set (the edge sent RTP to the leg since its last
// report), else an RR from ssrc, with the given report blocks, then an
// SDES with the edge's CNAME for the leg.
func Build(ssrc uint32, sent *Sender, blocks []ReportBlock, cname string) ([]byte, error) {
	rr := make([]pion.ReceptionReport, 0, len(blocks))
	for _, b := range blocks {
		rr = append(rr, pion.ReceptionReport{SSRC: b.SSRC, FractionLost: b.FractionLost, TotalLost: b.TotalLost & 0xFFFFFF,
			LastSequenceNumber: b.LastSeq, Jitter: b.Jitter, LastSenderReport: b.LSR, Delay: b.DLSR})
	}
	var first pion.Packet
	if sent != nil {
		first = &pion.SenderReport{SSRC: sent.SSRC, NTPTime: sent.NTP, RTPTime: sent.RTPTime,
			PacketCount: sent.Packets, OctetCount: sent.Octets, Reports: rr}
		ssrc = sent.SSRC
	} else {
		first = &pion.ReceiverReport{SSRC: ssrc, Reports: rr}
	}
	sdes := &pion.SourceDescription{Chunks: []pion.SourceDescriptionChunk{{
		Source: ssrc, Items: []pion.SourceDescriptionItem{{Type: pion.SDESCNAME, Text: cname}},
	}}}
	b, err := pion.Marshal([]pion.Packet{first, sdes})
	if err != nil {
		return nil, fmt.Errorf("rtcp: build: %w", err)
	}
	return b, nil
}

// ntpEpoch is 1900-01-01, the NTP epoch.
var ntpEpoch = time.Date(1900, 1, 1, 0, 0, 0, 0, time.UTC)

// NTP returns t in the 64-bit NTP format (RFC 3550 section 4).
func NTP(t time.Time) uint64 {
	d := t.Sub(ntpEpoch)
	sec := uint64(d / time.Second)
	frac := uint64(d%time.Second) << 32 / uint64(time.Second)
	return sec<<32 | frac
}

// Middle returns the middle 32 bits of an NTP time, the LSR of a report.
func Middle(ntp uint64) uint32 { return uint32(ntp >> 16) }

// RTT computes the round-trip time from a report block received at arrival
// (RFC 3550 section 6.4.1: A - LSR - DLSR); ok is false when the block
// refers to no SR of ours or the result is not sane.
func RTT(b ReportBlock, arrival time.Time) (time.Duration, bool) {
	if b.LSR == 0 {
		return 0, false
	}
	a := Middle(NTP(arrival))
	rtt := int64(a) - int64(b.LSR) - int64(b.DLSR)
	if rtt < 0 || rtt > 10*65536 { // beyond 10 s is a bogus report
		return 0, false
	}
	return time.Duration(rtt * int64(time.Second) / 65536), true
}

// Quality is an E-model estimate of a leg's call quality.
type Quality struct {
	R   float64 `json:"r_factor"`
	MOS float64 `json:"mos"`
}

// EModel estimates R and MOS from the round-trip time, the jitter and the
// packet loss (a fraction 0-1), for G.711 with packet-loss concealment (see
// the package comment).
func EModel(rtt, jitter time.Duration, loss float64) Quality {
	d := float64(rtt.Milliseconds())/2 + 2*float64(jitter.Microseconds())/1000
	id := 0.024 * d
	if d > 177.3 {
		id += 0.11 * (d - 177.3)
	}
	ppl := 100 * min(max(loss, 0), 1)
	const ie, bpl = 0, 25.1
	ieEff := ie + (95-ie)*ppl/(ppl+bpl)
	r := 93.2 - id - ieEff
	var mos float64
	switch {
	case r <= 0:
		mos = 1
	case r >= 100:
		mos = 4.5
	default:
		mos = 1 + 0.035*r + 7e-6*r*(r-60)*(100-r)
	}
	return Quality{R: math.Round(max(r, 0)*10) / 10, MOS: math.Round(mos*100) / 100}
}
