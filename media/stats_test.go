package media

import (
	"testing"
	"time"
)

func TestRxStreamLoss(t *testing.T) {
	type pkt struct {
		seq  uint16
		ssrc uint32
	}
	seqs := func(ssrc uint32, from, to int, skip ...int) []pkt {
		var out []pkt
	next:
		for s := from; s <= to; s++ {
			for _, k := range skip {
				if s == k {
					continue next
				}
			}
			out = append(out, pkt{uint16(s), ssrc})
		}
		return out
	}
	tests := []struct {
		name               string
		pkts               []pkt
		expected, lost     uint64
		negativeLostClamps bool
	}{
		{name: "no loss", pkts: seqs(1, 100, 149), expected: 50},
		{name: "one lost", pkts: seqs(1, 1, 10, 5), expected: 10, lost: 1},
		{name: "burst lost", pkts: seqs(1, 1, 100, 10, 11, 12, 50), expected: 100, lost: 4},
		{name: "wrap around", pkts: seqs(1, 65530, 65545, 65536), expected: 16, lost: 1},
		{name: "reordered", pkts: []pkt{{1, 1}, {3, 1}, {2, 1}, {4, 1}}, expected: 4},
		{name: "duplicates count as received", pkts: []pkt{{1, 1}, {2, 1}, {2, 1}, {3, 1}}, expected: 3, negativeLostClamps: true},
		{name: "new SSRC starts a new sequence", pkts: append(seqs(1, 1, 10, 3), seqs(2, 5000, 5009, 5005)...), expected: 20, lost: 2},
		{name: "restart after a jump", pkts: append(seqs(1, 1, 10), seqs(1, 30000, 30009, 30005)...), expected: 10 + 9, lost: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var r rxStream
			var c legCounters
			for _, p := range tt.pkts {
				h := rtpHeader{seq: p.seq, ssrc: p.ssrc}
				r.update(&h, 0, false)
			}
			r.publish(&c)
			st := c.snapshot(time.Now())
			if st.PacketsExpected != tt.expected || st.PacketsLost != tt.lost {
				t.Fatalf("expected %d lost %d; want %d, %d", st.PacketsExpected, st.PacketsLost, tt.expected, tt.lost)
			}
			if tt.negativeLostClamps && c.lost.Load() >= 0 {
				t.Fatalf("raw lost = %d, want negative", c.lost.Load())
			}
		})
	}
}

func TestRxStreamJitter(t *testing.T) {
	tests := []struct {
		name     string
		arrivals []uint32 // in RTP clock units; timestamps advance 160 per packet
		minMs    float64
		maxMs    float64
	}{
		{name: "steady", arrivals: []uint32{0, 160, 320, 480, 640, 800}, maxMs: 0},
		// Every other packet 10 ms (80 units) late: D = 80 each time,
		// jitter converges towards 10 ms from below.
		{name: "alternating 10 ms", arrivals: alternating(200, 80), minMs: 9, maxMs: 10},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var r rxStream
			var c legCounters
			for i, a := range tt.arrivals {
				h := rtpHeader{seq: uint16(i), ssrc: 1, timestamp: uint32(i) * 160}
				r.update(&h, a, true)
			}
			r.publish(&c)
			got := c.snapshot(time.Now()).JitterMs
			if got < tt.minMs || got > tt.maxMs {
				t.Fatalf("jitter %.2f ms, want in [%v, %v]", got, tt.minMs, tt.maxMs)
			}
		})
	}
}

func alternating(n int, late uint32) []uint32 {
	out := make([]uint32, n)
	for i := range out {
		out[i] = uint32(i) * 160
		if i%2 == 1 {
			out[i] += late
		}
	}
	return out
}

// Events (RFC 4733) keep the timestamp of the event start: they must not
// feed the jitter estimate.
func TestRxStreamJitterIgnoresEvents(t *testing.T) {
	var r rxStream
	for i := range 50 {
		h := rtpHeader{seq: uint16(i), ssrc: 1, timestamp: 1000}
		r.update(&h, uint32(i)*160, false)
	}
	if r.jitter != 0 {
		t.Fatalf("jitter %d from events", r.jitter)
	}
}

func TestRTPClock(t *testing.T) {
	if got := rtpClock(20 * time.Millisecond); got != 160 {
		t.Fatalf("20ms = %d units", got)
	}
}
