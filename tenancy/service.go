package tenancy

import (
	"encoding/json"
	"net/netip"
	"strconv"
	"strings"
)

// Service is a workspace's voice agent: where its calls are bridged to.
type Service struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	// Target is the agent's SIP URI, e.g. sip:agent@10.0.0.5:5070;transport=udp.
	Target string `json:"target"`
	// ContextGraph and AgentConfig are handed to the agent as they are.
	ContextGraph json.RawMessage `json:"context_graph,omitempty"`
	AgentConfig  json.RawMessage `json:"agent_config,omitempty"`
}

// Validate checks every field of s.
func (s *Service) Validate() error {
	if err := validID("id", s.ID); err != nil {
		return err
	}
	if err := validName("name", s.Name); err != nil {
		return err
	}
	if _, err := ParseTarget(s.Target); err != nil {
		return err
	}
	if err := validJSONObject("context_graph", s.ContextGraph, 256<<10); err != nil {
		return err
	}
	return validJSONObject("agent_config", s.AgentConfig, 64<<10)
}

// Target is a parsed service SIP URI (RFC 3261 section 19.1), restricted to
// what the edge dials: sip: scheme, a user, a host that is an IP address or
// a DNS name, an optional port and an optional transport parameter.
type Target struct {
	User      string
	Host      string
	Port      int    // 0 means the default, 5060
	Transport string // udp, tcp or tls; empty means udp
	// SRTP asks for SDES-SRTP (RFC 4568) on the service leg: a sips: target
	// (which also means TLS) or the URI parameter media=srtp.
	SRTP bool
}

// ParseTarget parses a service target URI.
func ParseTarget(uri string) (Target, error) {
	bad := func(why string) (Target, error) { return Target{}, invalid("target", "%s", why) }
	if len(uri) > 512 {
		return bad("longer than 512 characters")
	}
	var t Target
	rest, ok := strings.CutPrefix(uri, "sip:")
	if !ok {
		if rest, ok = strings.CutPrefix(uri, "sips:"); !ok {
			return bad("must be a sip: URI such as sip:agent@10.0.0.5:5070;transport=udp")
		}
		t.SRTP, t.Transport = true, "tls"
	}
	rest, params, _ := strings.Cut(rest, ";")
	if user, host, ok := strings.Cut(rest, "@"); ok {
		if user == "" || strings.ContainsAny(user, " <>\"") {
			return bad("user part is malformed")
		}
		t.User, rest = user, host
	}
	host, port := rest, ""
	if strings.HasPrefix(rest, "[") {
		end := strings.Index(rest, "]")
		if end < 0 {
			return bad("unterminated IPv6 address")
		}
		host, port = rest[1:end], strings.TrimPrefix(rest[end+1:], ":")
		if _, err := netip.ParseAddr(host); err != nil {
			return bad("malformed IPv6 address")
		}
	} else if h, p, ok := strings.Cut(rest, ":"); ok {
		host, port = h, p
	}
	if !validHost(host) {
		return bad("host must be an IP address or a DNS name")
	}
	t.Host = host
	if port != "" || strings.HasSuffix(rest, ":") {
		p, err := strconv.Atoi(port)
		if err != nil || p < 1 || p > 65535 {
			return bad("port must be 1-65535")
		}
		t.Port = p
	}
	for _, kv := range strings.Split(params, ";") {
		k, v, _ := strings.Cut(kv, "=")
		switch strings.ToLower(k) {
		case "":
		case "transport":
			v = strings.ToLower(v)
			if v != "udp" && v != "tcp" && v != "tls" {
				return bad("transport must be udp, tcp or tls")
			}
			t.Transport = v
		case "media":
			if v = strings.ToLower(v); v != "srtp" && v != "rtp" {
				return bad("media must be srtp or rtp")
			}
			t.SRTP = v == "srtp"
		}
	}
	return t, nil
}

func validHost(h string) bool {
	if h == "" || len(h) > 253 {
		return false
	}
	if _, err := netip.ParseAddr(h); err == nil {
		return true
	}
	for _, label := range strings.Split(h, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
				return false
			}
		}
	}
	return true
}
