package sip

import (
	"fmt"
	"sync"
)

// Each workspace's share of this node's media ports (issue 10): every call
// takes its legs' ports from one pool that all tenants share, so without a
// share one workspace's never-answered calls (or a flood of them within
// its call limit) could exhaust the node for everyone. A workspace holding
// Config.MaxCallsPerWorkspace media sessions on this node gets 486 for its
// next call (callee-scoped: the carrier must not back off the whole edge),
// while the others' calls go on.

// mediaShares counts what each workspace holds of one of this node's
// resources, under a cap: its media sessions (Server.shares), its setups
// in progress (setupGate, overload.go).
type mediaShares struct {
	max int // 0: no share

	mu   sync.Mutex
	byWS map[string]int
}

func newMediaShares(max int) *mediaShares {
	return &mediaShares{max: max, byWS: map[string]int{}}
}

// acquire takes one of ws's places, reporting false when it has none left.
func (m *mediaShares) acquire(ws string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.max > 0 && m.byWS[ws] >= m.max {
		return false
	}
	m.byWS[ws]++
	return true
}

// count is how many sessions ws holds on this node.
func (m *mediaShares) count(ws string) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.byWS[ws]
}

func (m *mediaShares) release(ws string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.byWS[ws]--; m.byWS[ws] <= 0 {
		delete(m.byWS, ws)
	}
}

// sharedSession is a media session holding one of its workspace's places,
// given back when it closes.
type sharedSession struct {
	MediaSession
	once    sync.Once
	release func()
}

func (s *sharedSession) Close() error {
	err := s.MediaSession.Close()
	s.once.Do(s.release)
	return err
}

// unwrapSession returns the session a sharedSession holds.
func unwrapSession(s MediaSession) MediaSession {
	if sh, ok := s.(*sharedSession); ok {
		return sh.MediaSession
	}
	return s
}

// openSession opens the media session of call id of workspace ws within
// the workspace's share of this node.
func (s *Server) openSession(ws, id string) (MediaSession, error) {
	if !s.shares.acquire(ws) {
		return nil, fmt.Errorf("%w: %d media sessions on this node", errMediaShare, s.shares.max)
	}
	sess, err := s.media.NewSession(id)
	if err != nil {
		s.shares.release(ws)
		return nil, err
	}
	return &sharedSession{MediaSession: sess, release: func() { s.shares.release(ws) }}, nil
}
