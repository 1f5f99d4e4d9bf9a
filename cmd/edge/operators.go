package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/voiceedge/edge/media"
	"github.com/voiceedge/edge/sip"
	"github.com/voiceedge/edge/sip/operators"
	"github.com/voiceedge/edge/tenancy"
)

// operatorSettings configure operator legs (design section 8): WebRTC on
// one UDP port, and the operator API and console on the HTTP address.
type operatorSettings struct {
	// ICEPort is the one UDP port carrying ICE, DTLS and SRTP of every
	// operator leg (EDGE_ICE_PORT). Default 8443.
	ICEPort int `yaml:"ice_port"`
	// ICEAddr is the address ICE binds (EDGE_ICE_ADDR). Default: every
	// interface.
	ICEAddr string `yaml:"ice_addr"`
	// ICEPublicIPs are announced in ICE candidates instead of the local
	// addresses, for an edge behind a 1:1 NAT (EDGE_ICE_PUBLIC_IPS,
	// comma-separated). Default: EDGE_PUBLIC_IP when it is set, else the
	// local addresses.
	ICEPublicIPs []string `yaml:"ice_public_ips"`
	// HTTPAdvertiseAddr is the host:port other edge nodes reach this
	// node's HTTP server at, to forward operators' requests for calls of
	// this node (EDGE_HTTP_ADVERTISE_ADDR). Default: EDGE_HTTP_ADDR, with
	// the public IP in place of a wildcard host.
	HTTPAdvertiseAddr string `yaml:"http_advertise_addr"`
	// NodeSecret signs the operator requests nodes forward each other
	// (EDGE_NODE_SECRET, at least 32 characters, the same on every node).
	// Default: a secret the nodes keep in Redis.
	NodeSecret string `yaml:"node_secret"`
}

// operatorFlags are the flags and environment variables of operatorSettings.
var operatorFlags = []struct{ name, env, help string }{
	{"ice-port", "EDGE_ICE_PORT", "UDP port of WebRTC operator legs (ICE, DTLS, SRTP)"},
	{"ice-addr", "EDGE_ICE_ADDR", "address the ICE port binds (default: every interface)"},
	{"ice-public-ips", "EDGE_ICE_PUBLIC_IPS", "comma-separated addresses announced in ICE candidates (1:1 NAT)"},
	{"http-advertise", "EDGE_HTTP_ADVERTISE_ADDR", "host:port other edge nodes reach this node's HTTP at"},
	{"node-secret", "EDGE_NODE_SECRET", "secret (32+ characters, the same on every node) signing forwarded operator requests"},
}

// set applies one environment variable or flag of operatorSettings; it
// reports whether env is one of them.
func (o *operatorSettings) set(env, v string) (bool, error) {
	switch env {
	case "EDGE_ICE_PORT":
		p, err := strconv.Atoi(v)
		if err != nil {
			return true, err
		}
		o.ICEPort = p
	case "EDGE_ICE_ADDR":
		o.ICEAddr = v
	case "EDGE_ICE_PUBLIC_IPS":
		o.ICEPublicIPs = nil
		for _, ip := range strings.Split(v, ",") {
			if ip = strings.TrimSpace(ip); ip != "" {
				o.ICEPublicIPs = append(o.ICEPublicIPs, ip)
			}
		}
	case "EDGE_HTTP_ADVERTISE_ADDR":
		o.HTTPAdvertiseAddr = v
	case "EDGE_NODE_SECRET":
		if len(v) < 32 {
			return true, errors.New("must be at least 32 characters")
		}
		o.NodeSecret = v
	default:
		return false, nil
	}
	return true, nil
}

// webrtcConfig maps the configuration onto media.WebRTCConfig.
func (c *config) webrtcConfig() (media.WebRTCConfig, error) {
	w := media.DefaultWebRTCConfig()
	w.ICEPort = c.Operators.ICEPort
	if c.Operators.ICEAddr != "" {
		a, err := netip.ParseAddr(c.Operators.ICEAddr)
		if err != nil {
			return w, fmt.Errorf("%w: ice_addr: %v", errUsage, err)
		}
		w.ICEAddr = a
	}
	w.PublicIPs = c.Operators.ICEPublicIPs
	if len(w.PublicIPs) == 0 && c.PublicIP != "" {
		w.PublicIPs = []string{c.PublicIP}
	}
	if err := w.Validate(); err != nil {
		return w, fmt.Errorf("%w: %v", errUsage, err)
	}
	return w, nil
}

// advertiseAddr is the HTTP address other nodes forward to.
func (c *config) advertiseAddr() (string, error) {
	if c.Operators.HTTPAdvertiseAddr != "" {
		if _, _, err := net.SplitHostPort(c.Operators.HTTPAdvertiseAddr); err != nil {
			return "", fmt.Errorf("%w: http_advertise_addr: %v", errUsage, err)
		}
		return c.Operators.HTTPAdvertiseAddr, nil
	}
	host, port, err := net.SplitHostPort(c.HTTPAddr)
	if err != nil {
		return "", fmt.Errorf("%w: http_addr: %v", errUsage, err)
	}
	if a, err := netip.ParseAddr(host); host == "" || (err == nil && a.IsUnspecified()) {
		ip, _ := c.publicIP()
		host = ip.String()
	}
	return net.JoinHostPort(host, port), nil
}

// operatorStack is the operator engine and API of a running edge.
type operatorStack struct {
	engine  *media.OperatorEngine
	handler *operators.Handler
}

// newOperatorStack binds the ICE port and builds the operator API over the
// SIP server's calls.
func newOperatorStack(cfg config, nodeID string, store, streams *tenancy.Store, srv *sip.Server, reg *prometheus.Registry, log *slog.Logger) (*operatorStack, error) {
	wcfg, err := cfg.webrtcConfig()
	if err != nil {
		return nil, err
	}
	adv, err := cfg.advertiseAddr()
	if err != nil {
		return nil, err
	}
	eng, err := media.NewOperatorEngine(wcfg, reg, log.With("component", "webrtc"))
	if err != nil {
		return nil, err
	}
	ocfg := operators.DefaultConfig()
	ocfg.NodeID, ocfg.AdvertiseAddr = nodeID, adv
	if ocfg.ForwardSecret, err = forwardSecret(cfg, store); err != nil {
		_ = eng.Close()
		return nil, err
	}
	h, err := operators.New(ocfg, store, srv, eng, operators.WithLogger(log.With("component", "operators")), operators.WithRegistry(reg),
		operators.WithCallers(store), operators.WithStreamStore(streams))
	if err != nil {
		_ = eng.Close()
		return nil, err
	}
	return &operatorStack{engine: eng, handler: h}, nil
}

// forwardSecret is the secret nodes sign forwarded operator requests with:
// EDGE_NODE_SECRET when set, else the one the nodes keep in Redis.
func forwardSecret(cfg config, store *tenancy.Store) ([]byte, error) {
	if cfg.Operators.NodeSecret != "" {
		return []byte(cfg.Operators.NodeSecret), nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return store.NodeSecret(ctx)
}

// close takes the operators off their calls and releases the ICE port.
func (o *operatorStack) close() {
	_ = o.handler.Close()
	_ = o.engine.Close()
}

// withOperators serves the operator API (/v1/) and the console
// (/console/) next to the edge's own HTTP endpoints.
func withOperators(base http.Handler, h *operators.Handler) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/v1/", h)
	mux.Handle("/console/", h)
	mux.Handle("/console", h)
	mux.Handle("/", base)
	return mux
}
