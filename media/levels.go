package media

import (
	"math"
	"sync/atomic"
)

// MinLevel is the floor of audio levels, in dBFS: silence, and a party the
// mixer has no audio of, read as MinLevel.
const MinLevel = -90.0

// fullScale2 is the mean square of a full-scale square wave (32768²), the
// 0 dBFS reference.
const fullScale2 = 32768.0 * 32768.0

// levelMeter is the audio level of one party of a mixed call: the mean
// square of its latest 20 ms frame, held with a fast attack and a release
// of about 29 dB/s (each frame keeps 7/8 of the previous value when it is
// quieter), so that a reader sampling every 100 ms or so sees speech
// rather than one random frame. The mixer goroutine writes it once per
// frame with no allocation; any goroutine reads it.
type levelMeter struct {
	ms atomic.Uint32 // mean square of the samples, 0..32768²
}

// update meters one frame; has is false when the party had no audio for
// this frame (it decays towards silence).
func (l *levelMeter) update(pcm []int16, has bool) {
	var ms uint32
	if has && len(pcm) > 0 {
		var sum uint64
		for _, s := range pcm {
			v := int64(s)
			sum += uint64(v * v)
		}
		ms = uint32(sum / uint64(len(pcm)))
	}
	cur := l.ms.Load()
	if held := cur - cur>>3; held > ms {
		ms = held
	}
	l.ms.Store(ms)
}

// dBFS returns the level in dBFS (RMS relative to full scale; a full-scale
// sine reads -3 dBFS), at least MinLevel.
func (l *levelMeter) dBFS() float64 {
	return msToDBFS(l.ms.Load())
}

// msToDBFS converts a mean square of 16-bit samples to dBFS.
func msToDBFS(ms uint32) float64 {
	if ms == 0 {
		return MinLevel
	}
	db := 10 * math.Log10(float64(ms)/fullScale2)
	return math.Round(max(db, MinLevel)*10) / 10
}

// OperatorLevel is the level of what the edge receives from one operator.
type OperatorLevel struct {
	ID        string  `json:"operator_id"`
	AccountID string  `json:"account_id"`
	DBFS      float64 `json:"dbfs"`
	Mode      string  `json:"mode"`
	Muted     bool    `json:"muted"`
}

// CallLevels are the audio levels, in dBFS, of every party of a call with
// operators on it, as the mixer receives them (before mixing): the caller
// (leg A), the agent (leg B) and each operator.
type CallLevels struct {
	Caller    float64         `json:"caller_dbfs"`
	Agent     float64         `json:"agent_dbfs"`
	Operators []OperatorLevel `json:"operators"`
}

// Levels returns the audio levels of the call's parties. They are metered
// by the mixer, which runs only while operators are on the call: without
// one, ok is false.
func (s *Session) Levels() (lv CallLevels, ok bool) {
	m := s.mix.Load()
	if m == nil {
		return CallLevels{Caller: MinLevel, Agent: MinLevel, Operators: []OperatorLevel{}}, false
	}
	lv.Caller, lv.Agent = m.levels[LegA].dBFS(), m.levels[LegB].dBFS()
	ops := s.Operators()
	lv.Operators = make([]OperatorLevel, 0, len(ops))
	for _, op := range ops {
		lv.Operators = append(lv.Operators, OperatorLevel{
			ID: op.id, AccountID: op.accountID, DBFS: op.level.dBFS(), Mode: string(op.Mode()), Muted: op.Muted(),
		})
	}
	return lv, true
}
