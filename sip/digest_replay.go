package sip

import (
	"net/netip"
	"strconv"
	"sync"
	"time"
)

// replayGuard remembers the digest credentials each trunk has used, so that
// a captured INVITE can't be replayed while its nonce lives (RFC 7616
// section 5.12), without letting one tenant's traffic lock out another's.
//
// A use is keyed by (nonce, cnonce, nc): the parts a client must change for
// each new request (RFC 7616 section 3.4), compared exactly, so no spelling
// of the response (upper case, say) makes a replay look new. Uses are kept
// per trunk and, within a trunk, counted per source address; each has its
// own bound. A trunk or source at its bound fails only its own logins until
// its nonces expire: the table of every other trunk is untouched (issue 10:
// one global table full of one tenant's logins used to refuse everyone).
type replayGuard struct {
	maxPerTrunk  int
	maxPerSource int
	now          func() time.Time

	mu        sync.Mutex
	trunks    map[string]*trunkUses
	lastSweep time.Time
}

// trunkUses is one trunk's remembered uses, oldest first in order.
type trunkUses struct {
	seen     map[replayKey]struct{}
	order    []replayUse // FIFO; pruned from the front as nonces expire
	head     int
	bySource map[netip.Addr]int
}

type replayKey struct {
	nonce, cnonce string
	nc            int
}

type replayUse struct {
	key    replayKey
	src    netip.Addr
	expiry time.Time
}

// Default bounds: a carrier trunk doing 500 calls/s with 5-minute nonces
// reuses one nonce per many calls (nc counts up), so it needs far fewer
// entries than calls; these leave room for a busy trunk while bounding the
// memory any trunk can claim to a few MiB.
const (
	defaultReplayPerTrunk  = 50_000
	defaultReplayPerSource = 20_000
)

func newReplayGuard(perTrunk, perSource int, now func() time.Time) *replayGuard {
	return &replayGuard{maxPerTrunk: perTrunk, maxPerSource: perSource, now: now, trunks: make(map[string]*trunkUses)}
}

// firstUse records the use of (nonce, cnonce, nc) by src through trunk,
// valid until expiry, and reports whether it is new and within the bounds.
func (g *replayGuard) firstUse(trunk string, src netip.Addr, nonce, cnonce string, nc int, expiry time.Time) bool {
	now := g.now()
	k := replayKey{nonce: nonce, cnonce: cnonce, nc: nc}
	g.mu.Lock()
	defer g.mu.Unlock()
	if now.Sub(g.lastSweep) >= sweepEvery {
		g.sweepLocked(now)
	}
	tu := g.trunks[trunk]
	if tu == nil {
		tu = &trunkUses{seen: make(map[replayKey]struct{}), bySource: make(map[netip.Addr]int)}
		g.trunks[trunk] = tu
	}
	tu.prune(now)
	if _, seen := tu.seen[k]; seen {
		return false
	}
	if len(tu.seen) >= g.maxPerTrunk || tu.bySource[src] >= g.maxPerSource {
		return false
	}
	tu.seen[k] = struct{}{}
	tu.order = append(tu.order, replayUse{key: k, src: src, expiry: expiry})
	tu.bySource[src]++
	return true
}

// prune forgets the uses at the front whose nonce has expired: an expired
// nonce is refused as stale before any replay check, so its uses need not
// be kept. Uses are appended roughly in expiry order (one nonce lifetime for
// all), so the front holds the oldest.
func (tu *trunkUses) prune(now time.Time) {
	for tu.head < len(tu.order) && !now.Before(tu.order[tu.head].expiry) {
		u := tu.order[tu.head]
		delete(tu.seen, u.key)
		if tu.bySource[u.src]--; tu.bySource[u.src] <= 0 {
			delete(tu.bySource, u.src)
		}
		tu.order[tu.head] = replayUse{}
		tu.head++
	}
	// Compact once the consumed front is the larger half.
	if tu.head > 0 && tu.head*2 >= len(tu.order) {
		tu.order = append(tu.order[:0], tu.order[tu.head:]...)
		tu.head = 0
	}
}

// sweepEvery is how often firstUse also drops the tables of other trunks
// with nothing left to remember.
const sweepEvery = time.Minute

// sweepLocked drops the tables of trunks with nothing left to remember
// (trunks deleted, or idle past their nonces' lifetime).
func (g *replayGuard) sweepLocked(now time.Time) {
	g.lastSweep = now
	for k, tu := range g.trunks {
		tu.prune(now)
		if len(tu.seen) == 0 {
			delete(g.trunks, k)
		}
	}
}

// size is the number of uses remembered, for tests and metrics.
func (g *replayGuard) size() (trunks, uses int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, tu := range g.trunks {
		uses += len(tu.seen)
	}
	return len(g.trunks), uses
}

// replayTrunkKey identifies a trunk across workspaces (trunk ids are unique
// only within one) and across map reloads.
func replayTrunkKey(workspace, trunk string) string {
	return strconv.Itoa(len(workspace)) + ":" + workspace + "/" + trunk
}
