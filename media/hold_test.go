package media

import (
	"testing"
	"time"
)

func TestHoldTonePattern(t *testing.T) {
	var h holdTone
	frame := make([]int32, frameSamples)
	pcm := make([]int16, frameSamples)
	var on, off int
	for i := 0; i < holdTonePeriod; i++ {
		h.next(frame)
		saturate(pcm, frame)
		if toneLevel(pcm, HoldToneHz) > holdToneAmplitude/2 {
			on++
		} else {
			off++
		}
	}
	if on != holdToneOnFrames || off != holdTonePeriod-holdToneOnFrames {
		t.Fatalf("one period: %d frames of tone, %d silent; want %d and %d", on, off, holdToneOnFrames, holdTonePeriod-holdToneOnFrames)
	}
}

// TestHoldAudio: with hold audio on, the caller hears the hold tone in
// place of the agent, the agent still hears the caller; a listening
// operator changes nothing, a barging one replaces the tone with its
// voice, and hold audio off hands the call back to the relay.
func TestHoldAudio(t *testing.T) {
	c := newTestCall(t, PayloadPCMA, PayloadPCMU)
	e, _ := newTestEngine(t)
	hears(t, "caller before hold", c.caller.listen(400*time.Millisecond), map[float64]bool{toneAgent: true, HoldToneHz: false})

	if err := c.s.PlayHold(true); err != nil {
		t.Fatal(err)
	}
	if !c.s.HoldPlaying() {
		t.Fatal("HoldPlaying false after PlayHold(true)")
	}
	t.Run("the caller hears the hold tone, not the agent", func(t *testing.T) {
		got := c.caller.listen(1200 * time.Millisecond)
		hears(t, "caller", got, map[float64]bool{toneAgent: false})
		if lvl := toneLevel(got, HoldToneHz); lvl < holdToneAmplitude/4 {
			t.Fatalf("hold tone level %.0f", lvl)
		}
	})
	t.Run("the agent still hears the caller", func(t *testing.T) {
		hears(t, "agent", c.agent.listen(400*time.Millisecond), map[float64]bool{toneCaller: true, HoldToneHz: false})
	})
	op, b := joinBrowser(t, e, c, ModeListen, toneOperator)
	t.Run("a listening operator hears the caller and leaves the hold tone on", func(t *testing.T) {
		got := c.caller.listen(1200 * time.Millisecond)
		if lvl := toneLevel(got, HoldToneHz); lvl < holdToneAmplitude/4 {
			t.Fatalf("hold tone level %.0f with a listening operator", lvl)
		}
		hears(t, "operator", b.listen(400*time.Millisecond), map[float64]bool{toneCaller: true})
	})
	if err := op.SetMode(ModeBarge); err != nil {
		t.Fatal(err)
	}
	t.Run("a barging operator stops the hold tone", func(t *testing.T) {
		time.Sleep(100 * time.Millisecond)
		hears(t, "caller", c.caller.listen(1200*time.Millisecond), map[float64]bool{toneOperator: true, HoldToneHz: false})
	})
	if err := c.s.PlayHold(false); err != nil {
		t.Fatal(err)
	}
	op.Close()
	t.Run("hold off and no operator: the relay again", func(t *testing.T) {
		time.Sleep(200 * time.Millisecond)
		hears(t, "caller", c.caller.listen(600*time.Millisecond), map[float64]bool{toneAgent: true, HoldToneHz: false, toneOperator: false})
	})
}

// TestDropRemote: a dropped leg is sent nothing more, and the other leg's
// audio to it is not relayed.
func TestDropRemote(t *testing.T) {
	c := newTestCall(t, PayloadPCMU, PayloadPCMU)
	hears(t, "agent", c.agent.listen(300*time.Millisecond), map[float64]bool{toneCaller: true})
	c.s.DropRemote(LegB)
	time.Sleep(100 * time.Millisecond)
	if got := c.agent.listen(300 * time.Millisecond); len(got) != 0 {
		t.Fatalf("the dropped leg still gets %d samples", len(got))
	}
}

func TestPlayHoldClosed(t *testing.T) {
	m, _ := newTestManager(t, Config{})
	s, err := m.NewSession(t.Name()) // not running: Close races no Run
	if err != nil {
		t.Fatal(err)
	}
	_ = s.Close()
	if err := s.PlayHold(true); err == nil {
		t.Fatal("PlayHold on a closed session: no error")
	}
	if err := s.PlayHold(false); err != nil {
		t.Fatalf("PlayHold(false) on a closed session: %v", err)
	}
}
