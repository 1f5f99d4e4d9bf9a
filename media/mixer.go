package media

import (
	"log/slog"
	"sync"
	"time"
)

// unityGain is a gain of 1 in Q15 fixed point.
const unityGain = 1 << 15

// maxCatchUp is how many frames the mixer produces at once to catch up
// after it was scheduled late; frames further behind are skipped.
const maxCatchUp = 3

// Gain targets of an operator, indexed by who hears it.
const (
	toA   = 0 // the caller (leg A)
	toB   = 1 // the agent (leg B)
	toOps = 2 // the other operators
)

// mixParty is an operator as the mixer sees it: its jitter buffer, the
// frame popped this tick, and its gains toward the three audiences, which
// ramp linearly over one frame whenever they change so that joining,
// leaving, muting and mode switches do not click.
type mixParty struct {
	op      *Operator
	pcm     [frameSamples]int16
	has     bool
	cur     [3]int32 // gains in force at the start of the frame (Q15)
	target  [3]int32 // gains at its end
	contrib [frameSamples]int32
	payload [frameSamples]byte
}

// targets returns the gains an operator's mode and mute state ask for
// (design section 8): listen is heard by none, whisper by the agent (and the
// other operators), barge by everyone.
func targets(mode OperatorMode, muted, gone bool) [3]int32 {
	if muted || gone {
		return [3]int32{}
	}
	switch mode {
	case ModeWhisper:
		return [3]int32{toA: 0, toB: unityGain, toOps: unityGain}
	case ModeBarge:
		return [3]int32{toA: unityGain, toB: unityGain, toOps: unityGain}
	default:
		return [3]int32{}
	}
}

// mixer mixes a call with operators on it. Every 20 ms it pops one frame
// from each party's jitter buffer (caller, agent, operators) and sends each
// party the saturated sum of what it may hear:
//
//   - the caller (leg A): the agent and every barging operator;
//   - the agent (leg B): the caller and every whispering or barging
//     operator;
//   - an operator: the caller, the agent, and every other operator that is
//     heard on the call (whisper or barge); a listening operator is heard by
//     nobody, not even the other operators.
//
// The mixer sends a leg's stream only while an operator is audible to that
// leg (or fading out); otherwise the relay keeps forwarding that direction
// untouched and the mixer only listens. Leg streams keep their SSRC and
// numbering across the switches (outStream).
type mixer struct {
	s       *Session
	metrics *operatorMetrics
	log     *slog.Logger
	in      [2]*inputRing // what each leg says, pushed by the relay
	levels  [2]levelMeter // what each leg says, metered per frame (levels.go)

	mu      sync.Mutex
	parties []*mixParty
	owned   [2]bool // owned[d]: the mixer sends the stream to leg d
	stopped bool
	// holding: the caller hears the hold tone this frame (hold.go): hold
	// audio is on and no operator is heard by the caller.
	holding bool
	tone    holdTone

	// Scratch of one frame, reused.
	legPCM  [2][frameSamples]int16
	legHas  [2]bool
	legSrc  [2]frameSource
	legSum  [frameSamples]int32
	acc     [frameSamples]int32
	opsSum  [frameSamples]int32
	out     [frameSamples]int16
	pkt     [rtpHeaderLen + frameSamples]byte
	nowTick time.Duration
	frames  int
}

// countersEvery is how often, in frames, the jitter buffers' counters go
// into the metrics.
const countersEvery = 50

// newMixer returns a mixer for s; start it with run.
func newMixer(s *Session, met *operatorMetrics, log *slog.Logger) *mixer {
	return &mixer{s: s, metrics: met, log: log, in: [2]*inputRing{{}, {}}}
}

// fromLeg takes an audio packet the relay received on leg from, decoded
// into pcm. It returns true when the mixer sends the stream it goes to, so
// the relay must not.
func (m *mixer) fromLeg(from Leg, h *rtpHeader, pcm []int16, now time.Duration) bool {
	return m.in[from].push(frameSource{ssrc: h.ssrc, seq: h.seq, ts: h.timestamp}, pcm, now)
}

// owns reports whether the mixer sends the stream of what leg from says.
func (m *mixer) owns(from Leg) bool {
	q := m.in[from]
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.owned
}

// add puts an operator on the mix; its gains fade in from zero.
func (m *mixer) add(op *Operator) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.parties = append(m.parties, &mixParty{op: op})
}

// run mixes every frame period until the session closes or the mixer has
// nothing left to do (no operator, no stream owned).
func (m *mixer) run() {
	defer m.s.wg.Done()
	start := time.Since(m.s.epoch)
	ticker := time.NewTicker(frameDuration)
	defer ticker.Stop()
	var done int64
	for {
		select {
		case <-m.s.closing:
			m.stop()
			return
		case <-ticker.C:
		}
		now := time.Since(m.s.epoch)
		due := int64((now-start)/frameDuration) - done
		if due > maxCatchUp {
			m.metrics.lateFrames.Add(float64(due - maxCatchUp))
			done += due - maxCatchUp
			due = maxCatchUp
		}
		if due > 1 {
			m.metrics.lateFrames.Add(float64(due - 1))
		}
		for ; due > 0; due-- {
			done++
			if !m.frame(now) && m.s.detachMixer(m) {
				return
			}
		}
	}
}

// stop marks the mixer stopped and hands the legs back to the relay.
func (m *mixer) stop() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.stopped = true
	for d := range m.owned {
		m.owned[d] = false
		m.in[Leg(d).other()].setOwned(false)
	}
}

// frame mixes and sends one frame. It returns false when the mixer is idle:
// no operator left and no stream owned.
func (m *mixer) frame(now time.Duration) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.stopped {
		return false
	}
	m.nowTick = now
	m.update()
	m.pop(now)
	m.mixLegs()
	m.mixOperators()
	m.settle()
	m.metrics.frames.Inc()
	if m.frames++; m.frames%countersEvery == 0 {
		for _, q := range m.in {
			m.collect(q)
		}
		for _, p := range m.parties {
			m.collect(&p.op.in)
		}
	}
	return len(m.parties) > 0 || m.owned[LegA] || m.owned[LegB] || m.holding
}

// update sets every party's gain targets from its operator's state and
// decides which leg streams the mixer owns this frame.
func (m *mixer) update() {
	var need [2]bool
	heardByCaller := false
	for _, p := range m.parties {
		p.target = targets(p.op.Mode(), p.op.muted.Load(), p.op.isGone())
		for d := range need {
			if p.cur[d] > 0 || p.target[d] > 0 {
				need[d] = true
			}
		}
		heardByCaller = heardByCaller || p.target[toA] > 0
	}
	m.holding = m.s.holdAudio.Load() && !heardByCaller
	need[LegA] = need[LegA] || m.holding
	for d := range need {
		if need[d] != m.owned[d] {
			m.owned[d] = need[d]
			m.in[Leg(d).other()].setOwned(need[d])
		}
	}
}

// pop takes this frame's audio from every party and meters it.
func (m *mixer) pop(now time.Duration) {
	for l := range m.in {
		m.legSrc[l], m.legHas[l] = m.in[l].pop(m.legPCM[l][:], now)
		m.levels[l].update(m.legPCM[l][:], m.legHas[l])
	}
	for _, p := range m.parties {
		_, p.has = p.op.in.pop(p.pcm[:], now)
		p.op.level.update(p.pcm[:], p.has)
	}
	for l := range m.legSum {
		var a, b int32
		if m.legHas[LegA] {
			a = int32(m.legPCM[LegA][l])
		}
		if m.legHas[LegB] {
			b = int32(m.legPCM[LegB][l])
		}
		m.legSum[l] = a + b
	}
}

// contribution writes into dst the party's audio under the gain ramping
// from cur to target over the frame, and reports whether it is not silent.
func (p *mixParty) contribution(dst *[frameSamples]int32, aud int) bool {
	from, to := p.cur[aud], p.target[aud]
	if !p.has || (from == 0 && to == 0) {
		return false
	}
	if from == to {
		for i, s := range p.pcm {
			dst[i] = int32(s) * from >> 15
		}
		return true
	}
	step := (to - from) / frameSamples
	g := from
	for i, s := range p.pcm {
		g += step
		if i == frameSamples-1 {
			g = to
		}
		dst[i] = int32(s) * g >> 15
	}
	return true
}

// mixLegs sends each owned leg stream its mix.
func (m *mixer) mixLegs() {
	for d := range m.owned {
		if !m.owned[d] {
			continue
		}
		from := Leg(d).other()
		src := m.legSrc[from]
		holding := m.holding && Leg(d) == LegA
		if m.legHas[from] && src.relayed && !holding {
			continue // the relay sent this frame before the mixer took over
		}
		if holding {
			// The caller waits: the hold tone instead of the agent.
			m.tone.next(m.acc[:])
			src = frameSource{}
		} else if m.legHas[from] {
			for i, s := range m.legPCM[from] {
				m.acc[i] = int32(s)
			}
		} else {
			clear(m.acc[:])
			src = frameSource{}
		}
		for _, p := range m.parties {
			if p.contribution(&p.contrib, d) {
				for i, c := range p.contrib {
					m.acc[i] += c
				}
			}
		}
		saturate(m.out[:], m.acc[:])
		m.sendLeg(Leg(d), src)
	}
}

// mixOperators sends each operator the caller, the agent and the other
// audible operators.
func (m *mixer) mixOperators() {
	if len(m.parties) == 0 {
		return
	}
	clear(m.opsSum[:])
	for _, p := range m.parties {
		if p.contribution(&p.contrib, toOps) {
			for i, c := range p.contrib {
				m.opsSum[i] += c
			}
		} else {
			clear(p.contrib[:])
		}
	}
	for _, p := range m.parties {
		if p.op.isGone() {
			continue
		}
		for i := range m.acc {
			m.acc[i] = m.legSum[i] + m.opsSum[i] - p.contrib[i]
		}
		saturate(m.out[:], m.acc[:])
		EncodePCMU(p.payload[:], m.out[:])
		p.op.sendFrame(p.payload[:])
	}
}

// settle ends the frame's ramps and drops the operators that are gone and
// silent.
func (m *mixer) settle() {
	kept := m.parties[:0]
	for _, p := range m.parties {
		p.cur = p.target
		if p.op.isGone() && p.cur == [3]int32{} {
			m.collect(&p.op.in)
			continue
		}
		kept = append(kept, p)
	}
	clear(m.parties[len(kept):])
	m.parties = kept
}

// sendLeg sends the mixed frame in m.out to leg d, in its peer's law, with
// the header its outStream gives.
func (m *mixer) sendLeg(d Leg, src frameSource) {
	lg := m.s.legs[d]
	p := lg.peer.Load()
	if p == nil || lg.sock == nil {
		return
	}
	dst, ok := p.destination()
	if !ok {
		return
	}
	ssrc, seq, ts := lg.out.mixed(src, m.nowTick)
	lg.noteTx(ssrc, ts, time.Since(m.s.epoch))
	pkt := m.pkt[:]
	putRTPHeader(pkt, p.codecPT, seq, ts, ssrc)
	encode(pkt[rtpHeaderLen:], m.out[:], p.law)
	if _, err := lg.write(pkt, dst); err != nil {
		lg.stats.dropOther.Add(1)
		return
	}
	lg.stats.txPackets.Add(1)
	lg.stats.txBytes.Add(uint64(len(pkt)))
}

// collect moves a jitter buffer's counters into the metrics.
func (m *mixer) collect(q *inputRing) {
	u, o := q.counters()
	m.metrics.underruns.Add(float64(u))
	m.metrics.overflows.Add(float64(o))
}

// saturate clamps 32-bit sums to 16-bit samples.
func saturate(dst []int16, src []int32) {
	for i, v := range src[:len(dst)] {
		dst[i] = int16(min(max(v, -32768), 32767))
	}
}
