package media

import (
	"fmt"
	"slices"
)

// Operators returns the operators on the call, in the order they joined.
func (s *Session) Operators() []*Operator {
	s.mixMu.Lock()
	defer s.mixMu.Unlock()
	return slices.Clone(s.ops)
}

// addOperator puts op on the call, starting the mixer if it is the first.
// It returns ErrClosed once the session is closed.
func (s *Session) addOperator(op *Operator, met *operatorMetrics) error {
	return s.withMixer("join operator to call", func() (*operatorMetrics, error) { return met, nil }, func() {
		s.mixer.add(op)
		s.ops = append(s.ops, op)
	})
}

// withMixer runs f (if any) under s.mu and s.mixMu with the session's
// mixer running, started with the metrics met gives when it is not. It
// returns ErrClosed, wrapped with what and the call id, once the session
// is closed.
func (s *Session) withMixer(what string, met func() (*operatorMetrics, error), f func()) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return fmt.Errorf("%s %s: %w", what, s.callID, ErrClosed)
	}
	s.mixMu.Lock()
	defer s.mixMu.Unlock()
	if s.mixer == nil {
		m, err := met()
		if err != nil {
			return fmt.Errorf("%s %s: %w", what, s.callID, err)
		}
		s.startMixer(m)
	}
	if f != nil {
		f()
	}
	return nil
}

// removeOperator takes op off the call. The mixer fades it out over the
// next frame and stops by itself after the last operator.
func (s *Session) removeOperator(op *Operator) {
	s.mixMu.Lock()
	defer s.mixMu.Unlock()
	s.ops = slices.DeleteFunc(s.ops, func(o *Operator) bool { return o == op })
}

// detachMixer stops m if it is still idle, under the lock that starts
// mixers, so that a join racing with the stop gets a new mixer. It reports
// whether m stopped.
func (s *Session) detachMixer(m *mixer) bool {
	s.mixMu.Lock()
	defer s.mixMu.Unlock()
	m.mu.Lock()
	idle := len(m.parties) == 0 && !m.owned[LegA] && !m.owned[LegB] && !s.holdAudio.Load()
	m.mu.Unlock()
	if !idle {
		return false
	}
	m.stop()
	if s.mixer == m {
		s.mixer = nil
		s.mix.Store(nil)
	}
	return true
}

// closeOperators closes the operators of a closed session.
func (s *Session) closeOperators() {
	s.mixMu.Lock()
	ops := slices.Clone(s.ops)
	if s.mixer != nil {
		s.mixer = nil
		s.mix.Store(nil)
	}
	s.mixMu.Unlock()
	for _, op := range ops {
		op.Close()
	}
}
