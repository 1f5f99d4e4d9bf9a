// Package httpapi holds what the edge's two HTTP APIs (the control plane's
// admin API and the edge's operator API) share.
package httpapi

import "sync"

// StreamSlots bounds the long-lived streams (server-sent events) an HTTP
// API holds open: in all, per workspace and per key, so that one workspace's or one
// key's streams, stalled or not, never take every slot and leave another
// workspace's console without its live updates (issue 10).
type StreamSlots struct {
	total, perWorkspace, perKey int

	mu    sync.Mutex
	open  int
	byWS  map[string]int
	byKey map[string]int
}

// NewStreamSlots returns slots for total streams, perWorkspace of one
// workspace and perKey of one API key.
func NewStreamSlots(total, perWorkspace, perKey int) *StreamSlots {
	return &StreamSlots{total: total, perWorkspace: perWorkspace, perKey: perKey, byWS: map[string]int{}, byKey: map[string]int{}}
}

// Acquire takes a slot for a stream of key in workspace ws; release gives
// it back. ok is false when any of the three bounds is reached.
func (s *StreamSlots) Acquire(ws, key string) (release func(), ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.open >= s.total || s.byWS[ws] >= s.perWorkspace || s.byKey[key] >= s.perKey {
		return nil, false
	}
	s.open++
	s.byWS[ws]++
	s.byKey[key]++
	var once sync.Once
	return func() {
		once.Do(func() {
			s.mu.Lock()
			defer s.mu.Unlock()
			s.open--
			if s.byWS[ws]--; s.byWS[ws] <= 0 {
				delete(s.byWS, ws)
			}
			if s.byKey[key]--; s.byKey[key] <= 0 {
				delete(s.byKey, key)
			}
		})
	}, true
}

// Open is the number of streams holding a slot now.
func (s *StreamSlots) Open() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.open
}
