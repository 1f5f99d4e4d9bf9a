package routing

import (
	"net/netip"

	"github.com/voiceedge/edge/tenancy"
)

// Route is where a dialled number goes: the workspace that owns it, the
// service its calls are bridged to, the trunks they may arrive through and
// the voice settings handed to the service. Routes are shared and
// immutable: callers must not modify them or anything they point to.
type Route struct {
	// Number is the E.164 number.
	Number string
	// Label is the number's label, if any.
	Label string
	// Version is the workspace version the route was built from.
	Version int64
	// Workspace is the owning workspace.
	Workspace *WorkspaceView
	// Service is the voice agent the number routes to.
	Service *Service
	// Trunks are the owning workspace's trunks, sorted by id (the same
	// slice as Workspace.Trunks).
	Trunks []*Trunk
	// VoiceSettings are the workspace's voice settings.
	VoiceSettings tenancy.VoiceSettings
	// VoiceSettingsB64 is the base64url (no padding) of the voice settings
	// JSON, the value of the X-Voice-Settings header (design section 7).
	VoiceSettingsB64 string
}

// TrunkFor returns the trunk of the route's workspace whose CIDRs contain
// addr, the most specific prefix winning (ties: the lower trunk id). Trunks
// of other workspaces never match: a number of workspace B reached through
// a trunk of workspace A is answered like an unknown number (design section
// 7, step 4). It does not allocate.
func (r *Route) TrunkFor(addr netip.Addr) (*Trunk, bool) {
	return r.Workspace.TrunkFor(addr)
}

// WorkspaceView is one workspace as the edge sees it at one version. It is
// shared and immutable.
type WorkspaceView struct {
	ID          string
	Name        string
	Environment tenancy.Environment
	Status      tenancy.Status
	Limits      tenancy.Limits
	Settings    tenancy.Settings
	// Version is the workspace version of the snapshot.
	Version int64
	// Trunks are sorted by id.
	Trunks []*Trunk
	// Services are keyed by id; a service whose target does not parse is
	// left out (and so are the numbers routed to it).
	Services map[string]*Service
	// VoiceSettings are handed to the service with every call.
	VoiceSettings tenancy.VoiceSettings
	// VoiceSettingsB64 is the base64url (no padding) of their JSON.
	VoiceSettingsB64 string
	// OperatorConfig says who may join the workspace's calls and how.
	OperatorConfig tenancy.OperatorConfig
	// Numbers is how many numbers route to the workspace's services.
	Numbers int
	// OutboundTrunks are the workspace's termination trunks sorted by id,
	// without passwords (the edge reads those per dial from the store).
	OutboundTrunks []*tenancy.OutboundTrunk
}

// OutboundTrunk returns the workspace's outbound trunk id.
func (w *WorkspaceView) OutboundTrunk(id string) (*tenancy.OutboundTrunk, bool) {
	for _, t := range w.OutboundTrunks {
		if t.ID == id {
			return t, true
		}
	}
	return nil, false
}

// Active reports whether the workspace takes calls.
func (w *WorkspaceView) Active() bool { return w.Status == tenancy.StatusActive }

// TrunkFor returns the workspace's trunk whose CIDRs contain addr, the most
// specific prefix winning (ties: the lower trunk id). It does not allocate.
func (w *WorkspaceView) TrunkFor(addr netip.Addr) (*Trunk, bool) {
	if !addr.IsValid() {
		return nil, false
	}
	addr = addr.Unmap().WithZone("")
	var best *Trunk
	bestBits := -1
	for _, t := range w.Trunks {
		if bits := t.match(addr); bits > bestBits {
			best, bestBits = t, bits
		}
	}
	return best, best != nil
}

// Service is a workspace's voice agent.
type Service struct {
	ID   string
	Name string
	// TargetURI is the service's SIP URI as configured.
	TargetURI string
	// Target is TargetURI parsed: what the edge dials. A service's context
	// graph and agent config never reach the edge: agents read them from
	// the control plane (GET /v1/call-context).
	Target tenancy.Target
}

// Trunk is a carrier's trunk into a workspace, as admission needs it.
type Trunk struct {
	ID   string
	Name string
	// Prefixes are the parsed, masked allowed CIDRs (IPv4-mapped IPv6
	// prefixes as IPv4).
	Prefixes []netip.Prefix
	// Username and the HA1s are the digest credentials (RFC 8760, RFC
	// 3261 section 22; HA1 = H(username:realm:password), RFC 7616 section
	// 3.4.2): the edge never sees the password. All empty when the trunk is
	// admitted by address alone. Realm is the realm the HA1s were computed
	// for: they verify only a challenge of that realm.
	Username  string
	Realm     string
	HA1MD5    string
	HA1SHA256 string
	// WorkspaceID is the workspace the trunk belongs to.
	WorkspaceID string
	// Carrier settings (design section 10): the country code national
	// numbers of this trunk normalise with (""), its per-source budget of
	// out-of-dialog requests per second (tenancy default 500) and whether
	// the carrier carries out REFER itself.
	CountryCode       string
	RequestsPerSecond int
	AcceptsRefer      bool
	// MediaEncryption and RTPLatching are the trunk's media settings as
	// configured ("" for the defaults: allow, strict); the SIP layer maps
	// them onto the media package's.
	MediaEncryption string
	RTPLatching     string
}

// HasCredentials reports whether calls through the trunk must answer a
// digest challenge (design section 7, step 3).
func (t *Trunk) HasCredentials() bool { return t.Username != "" }

// Contains reports whether addr is in one of the trunk's CIDRs.
func (t *Trunk) Contains(addr netip.Addr) bool {
	if !addr.IsValid() {
		return false
	}
	return t.match(addr.Unmap().WithZone("")) >= 0
}

// match returns the length of the longest prefix of t containing the
// unmapped, zone-less addr, or -1.
func (t *Trunk) match(addr netip.Addr) int {
	best := -1
	for _, p := range t.Prefixes {
		if p.Bits() > best && p.Contains(addr) {
			best = p.Bits()
		}
	}
	return best
}
