package sip

import (
	"context"
	"net/netip"
	"time"

	"github.com/voiceedge/edge/media"
	"github.com/voiceedge/edge/media/srtp"
	"github.com/voiceedge/edge/routing"
	"github.com/voiceedge/edge/tenancy"
)

// Router is what the SIP layer needs of the tenant map (*routing.Map): it
// answers from memory, with no network round trip.
type Router interface {
	// KnownSource reports whether addr is in a trunk CIDR of any workspace.
	KnownSource(addr netip.Addr) bool
	// TrunksFrom returns the trunks of any workspace containing addr.
	TrunksFrom(addr netip.Addr) []*routing.Trunk
	// Lookup finds the route of a dialled number (a Request-URI user, in
	// any form routing.Normalize accepts).
	Lookup(dialed string) (*routing.Route, bool)
	// LookupFrom finds the route of a number dialled from addr and the
	// trunk of the owning workspace it arrives through, the number
	// normalised with that trunk's default country code.
	LookupFrom(addr netip.Addr, dialed string) (*routing.Route, *routing.Trunk, bool)
}

var _ Router = (*routing.Map)(nil)

// CallStore is the call state the edge writes: *tenancy.Store.
type CallStore interface {
	// AdmitCallEvent admits a call and writes its call.started under a
	// once key, in one round trip.
	AdmitCallEvent(ctx context.Context, rec tenancy.CallRecord, limits tenancy.Limits, lease time.Duration, once string, e tenancy.Event) error
	// UpdateCallEvent and EndCallEvent write a record (EndCallEvent: the
	// final one, freeing the slot) and its event under a once key, in one
	// round trip.
	UpdateCallEvent(ctx context.Context, rec tenancy.CallRecord, once string, e tenancy.Event) (string, error)
	EndCallEvent(ctx context.Context, rec tenancy.CallRecord, once string, e tenancy.Event) (string, error)
	// UpdateCall, EndCall and AppendEvent(Once) apply the entries of an
	// older edge's spool (one write each).
	UpdateCall(ctx context.Context, rec tenancy.CallRecord) error
	EndCall(ctx context.Context, rec tenancy.CallRecord) error
	RenewLeases(ctx context.Context, calls map[string][]string, lease time.Duration) error
	AppendEvent(ctx context.Context, ws string, e tenancy.Event) (string, error)
	AppendEventOnce(ctx context.Context, ws, once string, e tenancy.Event) (string, error)
	ReadControl(ctx context.Context, node, after string, wait time.Duration) ([]tenancy.Control, error)
	// RestoreCall writes the slot and record of a call admitted from
	// memory while Redis was away (a spooled admission, replayed).
	RestoreCall(ctx context.Context, rec tenancy.CallRecord, lease time.Duration) error
	// ReassertCalls renews the leases of the calls the node carries and
	// recreates what Redis lost of them, once Redis is back.
	ReassertCalls(ctx context.Context, calls map[string][]tenancy.CallRecord, lease time.Duration) error
	// Ping asks Redis whether it answers (the spool's probe).
	Ping(ctx context.Context) error
	// Heartbeat marks the node alive for ttl and returns how many nodes
	// are: the divisor of the workspaces' limits while Redis is away.
	Heartbeat(ctx context.Context, node string, ttl time.Duration) (int, error)
}

var _ CallStore = (*tenancy.Store)(nil)

// CallTokens issues the tokens the edge gives services with their calls
// (X-Edge-Call-Token) and shortens them to their grace when calls end:
// *tenancy.Store. A CallStore that implements it is used for it, unless
// WithCallTokens says otherwise.
type CallTokens interface {
	IssueCallToken(ctx context.Context, ws, callID, serviceID string, ttl time.Duration) (string, error)
	EndCallToken(ctx context.Context, token string) error
}

var _ CallTokens = (*tenancy.Store)(nil)

// tokenCallStore is a CallStore that issues a call's token with its
// admission and ends it with its end, in their scripts (*tenancy.Store):
// the token costs no round trip of its own. The edge uses it when its
// CallTokens are that store.
type tokenCallStore interface {
	AdmitCallEventToken(ctx context.Context, rec tenancy.CallRecord, limits tenancy.Limits, lease time.Duration, once string, e tenancy.Event, ttl time.Duration) (string, error)
	EndCallEventToken(ctx context.Context, rec tenancy.CallRecord, once string, e tenancy.Event, tokenHash string) (string, error)
}

var _ tokenCallStore = (*tenancy.Store)(nil)

// Media creates the media sessions of calls (media.Manager, through
// MediaManager).
type Media interface {
	NewSession(callID string) (MediaSession, error)
}

// MediaSession is the relay of one call (*media.Session).
type MediaSession interface {
	LocalAddr(l media.Leg) netip.AddrPort
	SetRemoteCodec(l media.Leg, addr netip.AddrPort, c media.Codec, dtmfPT uint8) error
	SetHold(on bool)
	OfferCrypto(l media.Leg, suite srtp.Suite) (srtp.Crypto, error)
	SetCrypto(l media.Leg, remote srtp.Crypto) (srtp.Crypto, error)
	SetLegOptions(l media.Leg, o media.LegOptions) error
	SendDTMF(l media.Leg, event uint8, d time.Duration) error
	OnDTMF(h media.DTMFHook)
	OnTimeout(fn func())
	Stats() media.SessionStats
	Start(ctx context.Context) error // relays until ctx ends or Close
	Close() error
}

var _ MediaSession = (*media.Session)(nil)

// MediaManager adapts a *media.Manager to Media.
func MediaManager(m *media.Manager) Media { return managerAdapter{m} }

type managerAdapter struct{ m *media.Manager }

func (a managerAdapter) NewSession(callID string) (MediaSession, error) {
	s, err := a.m.NewSession(callID)
	if err != nil {
		return nil, err
	}
	return s, nil
}
