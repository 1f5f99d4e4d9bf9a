package sip

import (
	"net/netip"
	"strings"
	"sync"

	"github.com/emiago/sipgo/sip"

	"github.com/voiceedge/edge/media"
)

// dialogCache is the edge's own index of its calls: by edge call id, and
// by the SIP dialog id (Call-ID and both tags, RFC 3261 section 12) of
// each leg, so that in-dialog requests from either side find their call.
// It also counts the service addresses of live calls, whose requests the
// source filter must let in although they are in no trunk. Every end of a
// call removes all three.
type dialogCache struct {
	mu      sync.RWMutex
	calls   map[string]*call
	legs    map[string]legRef
	peers   map[netip.Addr]int
	callIDs map[string]int // Call-IDs of the legs, for the source filter
}

// legRef is one leg of a call.
type legRef struct {
	c   *call
	leg media.Leg
	// uas: the edge is the UAS of this leg's dialog although it is leg B
	// (the service's INVITE with Replaces, replaces.go).
	uas bool
}

func newDialogCache() *dialogCache {
	return &dialogCache{calls: map[string]*call{}, legs: map[string]legRef{}, peers: map[netip.Addr]int{}, callIDs: map[string]int{}}
}

func (d *dialogCache) addCall(c *call) {
	d.mu.Lock()
	d.calls[c.id] = c
	d.mu.Unlock()
}

// addLeg indexes a leg under its dialog id.
func (d *dialogCache) addLeg(id string, c *call, leg media.Leg) {
	d.add(id, legRef{c: c, leg: leg})
}

func (d *dialogCache) add(id string, ref legRef) {
	d.mu.Lock()
	if _, dup := d.legs[id]; !dup {
		d.callIDs[dialogCallID(id)]++
	}
	d.legs[id] = ref
	d.mu.Unlock()
}

// dialogCallID is the Call-ID part of a sipgo dialog id.
func dialogCallID(id string) string {
	callID, _, _ := strings.Cut(id, sip.TxSeperator)
	return callID
}

// knowsCallID reports whether some live leg has Call-ID id: the cheap test
// the source filter makes before it parses a request it would drop.
func (d *dialogCache) knowsCallID(id string) bool {
	if id == "" {
		return false
	}
	d.mu.RLock()
	defer d.mu.RUnlock()
	return d.callIDs[id] > 0
}

// addPeer counts a service address of a live call.
func (d *dialogCache) addPeer(ip netip.Addr) {
	if !ip.IsValid() {
		return
	}
	d.mu.Lock()
	d.peers[ip.Unmap()]++
	d.mu.Unlock()
}

// remove forgets a call, its legs and its peer.
func (d *dialogCache) remove(c *call, legIDs []string, peer netip.Addr) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.calls[c.id] == c {
		delete(d.calls, c.id)
	}
	for _, id := range legIDs {
		if ref, ok := d.legs[id]; ok && ref.c == c {
			delete(d.legs, id)
			if cid := dialogCallID(id); d.callIDs[cid] <= 1 {
				delete(d.callIDs, cid)
			} else {
				d.callIDs[cid]--
			}
		}
	}
	if peer.IsValid() {
		peer = peer.Unmap()
		if d.peers[peer] <= 1 {
			delete(d.peers, peer)
		} else {
			d.peers[peer]--
		}
	}
}

func (d *dialogCache) isPeer(ip netip.Addr) bool {
	d.mu.RLock()
	defer d.mu.RUnlock()
	return d.peers[ip.Unmap()] > 0
}

// match finds the leg an in-dialog request belongs to. The edge is the UAS
// of leg A (the trunk's dialog) and the UAC of leg B (the service's),
// except for a placed call's leg A (UAC) and a leg B the service set up
// with Replaces (UAS).
func (d *dialogCache) match(req *sip.Request) (legRef, bool) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	if id, err := sip.DialogIDFromRequestUAS(req); err == nil {
		if ref, ok := d.legs[id]; ok && (ref.leg == media.LegA || ref.uas) {
			return ref, true
		}
	}
	if id, err := sip.DialogIDFromRequestUAC(req); err == nil {
		if ref, ok := d.legs[id]; ok && ((ref.leg == media.LegB && !ref.uas) || ref.c.out != nil) { // out: leg A of a placed call
			return ref, true
		}
	}
	return legRef{}, false
}

// leg returns the leg indexed under a dialog id.
func (d *dialogCache) leg(id string) (legRef, bool) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	ref, ok := d.legs[id]
	return ref, ok
}

// call returns a live call by edge call id.
func (d *dialogCache) call(id string) (*call, bool) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	c, ok := d.calls[id]
	return c, ok
}

// all returns the live calls.
func (d *dialogCache) all() []*call {
	d.mu.RLock()
	defer d.mu.RUnlock()
	out := make([]*call, 0, len(d.calls))
	for _, c := range d.calls {
		out = append(out, c)
	}
	return out
}

// sizes returns the number of calls, legs and peers (leak checks).
func (d *dialogCache) sizes() (calls, legs, peers int) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	return len(d.calls), len(d.legs), len(d.peers)
}

// addServerLeg indexes leg B of c under id when the edge is the UAS of
// its dialog (replaces.go).
func (c *call) addServerLeg(id string) {
	c.mu.Lock()
	c.legIDs = append(c.legIDs, id)
	c.mu.Unlock()
	c.s.dialogs.add(id, legRef{c: c, leg: media.LegB, uas: true})
}
