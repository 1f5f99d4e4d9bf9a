package media

import (
	"log/slog"
	"testing"
	"time"
)

func TestTargets(t *testing.T) {
	tests := []struct {
		name        string
		mode        OperatorMode
		muted, gone bool
		want        [3]int32
	}{
		{name: "listen", mode: ModeListen, want: [3]int32{0, 0, 0}},
		{name: "whisper", mode: ModeWhisper, want: [3]int32{toA: 0, toB: unityGain, toOps: unityGain}},
		{name: "barge", mode: ModeBarge, want: [3]int32{unityGain, unityGain, unityGain}},
		{name: "muted barge", mode: ModeBarge, muted: true},
		{name: "gone whisper", mode: ModeWhisper, gone: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := targets(tt.mode, tt.muted, tt.gone); got != tt.want {
				t.Fatalf("targets = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestSaturate(t *testing.T) {
	src := []int32{0, 20000 + 20000, -20000 - 20000, 32767, -32768, 123}
	want := []int16{0, 32767, -32768, 32767, -32768, 123}
	got := make([]int16, len(src))
	saturate(got, src)
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("saturate(%d) = %d, want %d", src[i], got[i], want[i])
		}
	}
}

// hdr is an RTP header triple.
type hdr struct {
	ssrc uint32
	seq  uint16
	ts   uint32
}

func TestOutStream(t *testing.T) {
	const src = 0x5555
	at := func(frame int) time.Duration { return time.Duration(frame) * frameDuration }
	relay := func(o *outStream, seq uint16, frame int) (hdr, bool) {
		ssrc, s, ts, ok := o.relay(src, seq, uint32(seq)*frameSamples, at(frame))
		return hdr{ssrc, s, ts}, ok
	}
	aligned := func(seq uint16) frameSource {
		return frameSource{aligned: true, ssrc: src, seq: seq, ts: uint32(seq) * frameSamples}
	}
	t.Run("passthrough untouched", func(t *testing.T) {
		var o outStream
		for _, seq := range []uint16{10, 11, 13, 12, 14} { // loss and reordering pass as they are
			if h, ok := relay(&o, seq, int(seq)); !ok || h != (hdr{src, seq, uint32(seq) * frameSamples}) {
				t.Fatalf("seq %d: %+v %v", seq, h, ok)
			}
		}
		ssrc, seq, ts, _ := o.relay(0x7777, 500, 1, at(15)) // a new source stream passes too
		if ssrc != 0x7777 || seq != 500 || ts != 1 {
			t.Fatalf("new stream: %#x %d %d", ssrc, seq, ts)
		}
	})
	t.Run("mixer keeps the source numbering", func(t *testing.T) {
		var o outStream
		relay(&o, 10, 10)
		for seq := uint16(11); seq < 15; seq++ {
			ssrc, s, ts := o.mixed(aligned(seq), at(int(seq)))
			if ssrc != src || s != seq || ts != uint32(seq)*frameSamples {
				t.Fatalf("mixed %d: %#x %d %d", seq, ssrc, s, ts)
			}
		}
		// The source falls silent: the mixer goes on by one frame.
		ssrc, s, ts := o.mixed(frameSource{}, at(15))
		if ssrc != src || s != 15 || ts != 15*frameSamples {
			t.Fatalf("fill: %#x %d %d", ssrc, s, ts)
		}
		// Back to relay with the next packet: identity again.
		if h, ok := relay(&o, 16, 16); !ok || h != (hdr{src, 16, 16 * frameSamples}) {
			t.Fatalf("relay after mix: %+v %v", h, ok)
		}
	})
	t.Run("late packets after the mixer are dropped", func(t *testing.T) {
		var o outStream
		relay(&o, 10, 10)
		o.mixed(aligned(11), at(11))
		o.mixed(frameSource{}, at(12)) // slot 12 filled
		o.mixed(frameSource{}, at(13)) // slot 13 filled
		for _, seq := range []uint16{12, 13} {
			if _, ok := relay(&o, seq, 14); ok {
				t.Fatalf("late seq %d relayed", seq)
			}
		}
		if h, ok := relay(&o, 14, 14); !ok || h.seq != 14 || h.ssrc != src {
			t.Fatalf("seq 14: %+v %v", h, ok)
		}
	})
	t.Run("source behind the mixer is mapped forward", func(t *testing.T) {
		var o outStream
		relay(&o, 10, 10)
		for f := 11; f < 31; f++ {
			o.mixed(frameSource{}, at(f)) // 20 frames while the source was silent
		}
		// The source resumes numbering where it stopped (DTX).
		h, ok := relay(&o, 11, 31)
		if !ok || h.ssrc != src || h.seq != 31 || h.ts != 31*frameSamples {
			t.Fatalf("resumed: %+v %v", h, ok)
		}
		if h, _ := relay(&o, 12, 32); h.seq != 32 || h.ts != 32*frameSamples {
			t.Fatalf("next: %+v", h)
		}
	})
	t.Run("mixer first, relay adopts its stream", func(t *testing.T) {
		var o outStream
		ssrc, seq, ts := o.mixed(frameSource{}, at(0))
		ssrc2, seq2, ts2 := o.mixed(frameSource{}, at(1))
		if ssrc2 != ssrc || seq2 != seq+1 || ts2 != ts+frameSamples {
			t.Fatalf("mixer stream: %#x/%d/%d then %#x/%d/%d", ssrc, seq, ts, ssrc2, seq2, ts2)
		}
		h, ok := relay(&o, 1000, 2)
		if !ok || h.ssrc != ssrc || h.seq != seq+2 || h.ts != ts+2*frameSamples {
			t.Fatalf("relay after mixer-only stream: %+v %v", h, ok)
		}
	})
	t.Run("late mixer frames keep the stream monotonic", func(t *testing.T) {
		var o outStream
		relay(&o, 10, 10)
		o.mixed(frameSource{}, at(11)) // the source frame 11 was late: slot filled
		_, s, ts := o.mixed(aligned(11), at(12))
		if s != 12 || ts != 12*frameSamples {
			t.Fatalf("late frame mapped to %d/%d", s, ts)
		}
		_, s, _ = o.mixed(aligned(13), at(13)) // the jitter buffer dropped 12: back in step
		if s != 13 {
			t.Fatalf("after catching up: seq %d", s)
		}
	})
	t.Run("events between mixed frames", func(t *testing.T) {
		var o outStream
		relay(&o, 10, 10)
		o.mixed(aligned(11), at(11))
		o.mixed(frameSource{}, at(12))
		// The source sends an event with numbers the mixer already used.
		ssrc, s1, ts1 := o.event(src, 12, 5000, at(12))
		_, s2, ts2 := o.event(src, 13, 5000, at(13))
		if ssrc != src || s1 != 13 || s2 != 14 || ts1 != ts2 {
			t.Fatalf("events: %#x %d/%d %d/%d", ssrc, s1, ts1, s2, ts2)
		}
	})
}

// pushFrames pushes n packets of size samples each, valued by sequence.
func pushFrames(q *inputRing, first uint16, n, size int, now time.Duration) {
	pcm := make([]int16, size)
	for i := range n {
		seq := first + uint16(i)
		for j := range pcm {
			pcm[j] = int16(seq)
		}
		q.push(frameSource{ssrc: 1, seq: seq, ts: uint32(seq) * uint32(size)}, pcm, now)
	}
}

func TestInputRing(t *testing.T) {
	dst := make([]int16, frameSamples)
	t.Run("aligned frames", func(t *testing.T) {
		var q inputRing
		pushFrames(&q, 7, 2, frameSamples, 0)
		for _, want := range []uint16{7, 8} {
			src, ok := q.pop(dst, 0)
			if !ok || !src.aligned || src.seq != want || dst[0] != int16(want) || dst[159] != int16(want) {
				t.Fatalf("pop: %+v %v, samples %d..%d", src, ok, dst[0], dst[159])
			}
		}
		if _, ok := q.pop(dst, 0); ok {
			t.Fatal("popped from an empty ring")
		}
		if u, _ := q.counters(); u != 1 {
			t.Fatalf("underruns %d, want 1 (the source is active)", u)
		}
		if _, ok := q.pop(dst, time.Second); ok {
			t.Fatal("popped from an empty ring")
		}
		if u, _ := q.counters(); u != 0 {
			t.Fatalf("underruns %d for a silent source", u)
		}
	})
	t.Run("30 ms packets are reframed", func(t *testing.T) {
		var q inputRing
		played := 0
		// 60 ms cycles: two 30 ms packets arrive, three frames are due.
		for cycle := range 20 {
			now := time.Duration(cycle) * 60 * time.Millisecond
			pushFrames(&q, uint16(2*cycle), 1, 240, now)
			if _, ok := q.pop(dst, now); ok {
				played++
			}
			if _, ok := q.pop(dst, now+20*time.Millisecond); ok {
				played++
			}
			pushFrames(&q, uint16(2*cycle+1), 1, 240, now+30*time.Millisecond)
			if src, ok := q.pop(dst, now+40*time.Millisecond); ok {
				played++
				if src.aligned {
					t.Fatal("a 30 ms packet cannot align with a frame")
				}
			}
		}
		if played < 57 {
			t.Fatalf("played %d of 60 frames", played)
		}
	})
	t.Run("overflow keeps the delay bounded", func(t *testing.T) {
		var q inputRing
		pushFrames(&q, 0, 10, frameSamples, 0)
		if q.w-q.r > maxBuffered {
			t.Fatalf("buffered %d samples", q.w-q.r)
		}
		if _, o := q.counters(); o != 10-maxBuffered/frameSamples {
			t.Fatalf("overflows %d", o)
		}
		src, _ := q.pop(dst, 0)
		if src.seq != 6 {
			t.Fatalf("oldest kept is %d, want 6", src.seq)
		}
	})
	t.Run("late frame delays, then the spare frame is cut", func(t *testing.T) {
		var q inputRing
		pushFrames(&q, 0, 1, frameSamples, 0)
		q.pop(dst, 0)
		q.pop(dst, 0)                         // frame 1 is late: underrun
		pushFrames(&q, 1, 2, frameSamples, 0) // it arrives with frame 2
		seq := uint16(3)
		for range shrinkAfter + 1 {
			src, ok := q.pop(dst, 0)
			if !ok {
				t.Fatal("underrun")
			}
			_ = src
			pushFrames(&q, seq, 1, frameSamples, 0)
			seq++
		}
		if q.w-q.r != frameSamples {
			t.Fatalf("buffered %d samples after %d frames one ahead, want one frame", q.w-q.r, shrinkAfter)
		}
	})
	t.Run("owned marks packets", func(t *testing.T) {
		var q inputRing
		if q.push(frameSource{seq: 1}, dst, 0) {
			t.Fatal("owned without setOwned")
		}
		q.setOwned(true)
		if !q.push(frameSource{seq: 2}, dst, 0) {
			t.Fatal("not owned")
		}
		if src, _ := q.pop(dst, 0); !src.relayed {
			t.Fatal("packet pushed before ownership not marked relayed")
		}
		if src, _ := q.pop(dst, 0); src.relayed {
			t.Fatal("packet pushed under ownership marked relayed")
		}
	})
}

// newTestMixer returns a mixer on a session without sockets, with n
// operators in mode; frames go nowhere.
func newTestMixer(t testing.TB, n int, mode OperatorMode) (*mixer, []*Operator) {
	t.Helper()
	met, err := newOperatorMetrics(nil, func() float64 { return 0 })
	if err != nil {
		t.Fatal(err)
	}
	s := &Session{callID: "mix", epoch: time.Now(), log: slog.New(slog.DiscardHandler)}
	s.legs = [2]*leg{{id: LegA}, {id: LegB}}
	m := newMixer(s, met, s.log)
	var ops []*Operator
	for range n {
		op := &Operator{sess: s, log: s.log}
		op.mode.Store(&mode)
		m.add(op)
		ops = append(ops, op)
	}
	return m, ops
}

func TestMixerRamps(t *testing.T) {
	m, ops := newTestMixer(t, 1, ModeBarge)
	loud := make([]int16, frameSamples)
	for i := range loud {
		loud[i] = 20000
	}
	src := frameSource{ssrc: 1}
	step := func() *mixParty {
		ops[0].in.push(src, loud, 0)
		m.frame(0)
		return m.parties[0]
	}
	// Joining fades in over one frame: from about 0 to full, no jump.
	p := step()
	if p.contrib[0] > 20000/frameSamples*2 || p.contrib[frameSamples-1] != 20000 {
		t.Fatalf("fade-in from %d to %d", p.contrib[0], p.contrib[frameSamples-1])
	}
	for i := 1; i < frameSamples; i++ {
		if d := p.contrib[i] - p.contrib[i-1]; d < 0 || d > 2*20000/frameSamples {
			t.Fatalf("fade-in jumps by %d at sample %d", d, i)
		}
	}
	if !m.owned[LegA] || !m.owned[LegB] {
		t.Fatal("a barging operator does not own both leg streams")
	}
	// Steady: full gain.
	if p := step(); p.contrib[0] != 20000 {
		t.Fatalf("steady contribution %d", p.contrib[0])
	}
	// Listen: fades out, then the leg streams go back to the relay.
	if err := ops[0].SetMode(ModeListen); err != nil {
		t.Fatal(err)
	}
	p = step()
	if p.contrib[0] < 19000 || p.contrib[frameSamples-1] != 0 {
		t.Fatalf("fade-out from %d to %d", p.contrib[0], p.contrib[frameSamples-1])
	}
	step()
	if m.owned[LegA] || m.owned[LegB] {
		t.Fatal("a listening operator still owns the leg streams")
	}
	// Leaving: the party goes after its fade; the mixer reports idle.
	ops[0].gone.Store(true)
	if m.frame(0) || len(m.parties) != 0 {
		t.Fatalf("mixer still busy with %d parties", len(m.parties))
	}
}

func TestMixerOperatorHearsOthers(t *testing.T) {
	m, ops := newTestMixer(t, 3, ModeListen)
	if err := ops[1].SetMode(ModeWhisper); err != nil {
		t.Fatal(err)
	}
	// Every party says a constant: caller 1000, agent 2000, operators 100,
	// 200, 400.
	say := func(q *inputRing, v int16) {
		pcm := make([]int16, frameSamples)
		for i := range pcm {
			pcm[i] = v
		}
		q.push(frameSource{ssrc: 1}, pcm, 0)
	}
	for range 2 { // the second frame is past the fade-in
		say(m.in[LegA], 1000)
		say(m.in[LegB], 2000)
		for i, op := range ops {
			say(&op.in, int16(100<<i))
		}
		m.frame(0)
	}
	// Listening operators 0 and 2 hear the legs and the whisperer; the
	// whisperer hears the legs only.
	for i, want := range []int16{3200, 3000, 3200} {
		got := ULawToLinear(m.parties[i].payload[80])
		if d := int(got) - int(want); d < -128 || d > 128 {
			t.Errorf("operator %d hears %d, want about %d", i, got, want)
		}
	}
	if m.owned[LegA] || !m.owned[LegB] {
		t.Fatalf("whisper owns %v, want the agent's stream only", m.owned)
	}
}
