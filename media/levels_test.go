package media

import (
	"math"
	"testing"
	"time"
)

func TestLevelMeter(t *testing.T) {
	sine := func(amp float64) []int16 {
		pcm := make([]int16, frameSamples)
		for i := range pcm {
			pcm[i] = int16(amp * math.Sin(2*math.Pi*1000*float64(i)/clockRate))
		}
		return pcm
	}
	cases := []struct {
		name   string
		frames [][]int16
		want   float64 // dBFS, within 0.3 dB
	}{
		{name: "never heard", want: MinLevel},
		{name: "silence", frames: [][]int16{make([]int16, frameSamples)}, want: MinLevel},
		{name: "full-scale sine", frames: [][]int16{sine(32767)}, want: -3.0},
		{name: "test tone", frames: [][]int16{sine(toneAmp)}, want: 20 * math.Log10(toneAmp/math.Sqrt2/32768)},
		// A quiet frame after a loud one is held: 7/8 of the mean square
		// (-0.58 dB) per frame.
		{name: "release", frames: [][]int16{sine(32767), nil, nil}, want: -3.0 + 2*10*math.Log10(7.0/8)},
		{name: "attack", frames: [][]int16{sine(100), sine(32767)}, want: -3.0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var l levelMeter
			for _, f := range tc.frames {
				l.update(f, f != nil)
			}
			if got := l.dBFS(); math.Abs(got-tc.want) > 0.3 {
				t.Fatalf("%.2f dBFS, want %.2f", got, tc.want)
			}
		})
	}
}

// TestSessionLevels: with an operator on a call, the mixer meters the
// caller, the agent and the operator as they speak; without one there are
// no levels.
func TestSessionLevels(t *testing.T) {
	e, _ := newTestEngine(t)
	c := newTestCall(t, PayloadPCMA, PayloadPCMU)
	if _, ok := c.s.Levels(); ok {
		t.Fatal("levels without an operator")
	}
	op, _ := joinBrowser(t, e, c, ModeWhisper, toneOperator)
	want := 20 * math.Log10(toneAmp/math.Sqrt2/32768) // about -17.8 dBFS
	var lv CallLevels
	deadline := time.Now().Add(5 * time.Second)
	for {
		var ok bool
		lv, ok = c.s.Levels()
		if ok && len(lv.Operators) == 1 && lv.Caller > want-3 && lv.Agent > want-3 && lv.Operators[0].DBFS > want-3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("levels %+v, want each party near %.1f dBFS", lv, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if o := lv.Operators[0]; o.ID != op.ID() || o.Mode != string(ModeWhisper) || lv.Caller > want+1 || lv.Agent > want+1 {
		t.Fatalf("levels %+v", lv)
	}
	c.caller.mu.Lock()
	c.caller.paused = true
	c.caller.mu.Unlock()
	waitLevel := func(what string, cond func(CallLevels) bool) {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for {
			lv, _ := c.s.Levels()
			if cond(lv) {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: levels %+v", what, lv)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	waitLevel("the caller falls silent, the agent still speaks", func(lv CallLevels) bool {
		return lv.Caller < -60 && lv.Agent > want-3
	})
	_ = op.Close()
	waitLevel("no levels once the mixer stopped", func(CallLevels) bool {
		_, ok := c.s.Levels()
		return !ok
	})
}
