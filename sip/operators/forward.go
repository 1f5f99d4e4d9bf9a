package operators

import (
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"

	"github.com/voiceedge/edge/tenancy"
)

// ForwardedHeader marks a request one edge node forwarded to another (its
// value is the forwarding node's id). A node never forwards such a request
// again, so a stale registry cannot make a loop.
const ForwardedHeader = "X-Edge-Forwarded-By"

// forwardToNode sends a request about a call of another node to that node,
// whose HTTP address is in the node registry, and relays its response as
// it is (status, SDP answer, Location). The request was authenticated and
// found to be of the key's workspace here; the holding node checks it all
// again, from a forward token that names the key (never the key itself). A call whose node is not registered any more (it died) is 409,
// not active; a node that does not answer is 502.
func (h *Handler) forwardToNode(w http.ResponseWriter, r *request) error {
	node := r.call.NodeID
	if r.Header.Get(ForwardedHeader) != "" || r.call.State == tenancy.CallEnded {
		h.metrics.forwarded.WithLabelValues("no_node").Inc()
		return ErrCallNotActive
	}
	addr, err := h.store.NodeHTTPAddr(r.Context(), node)
	if errors.Is(err, tenancy.ErrNotFound) {
		h.metrics.forwarded.WithLabelValues("no_node").Inc()
		return ErrCallNotActive
	}
	if err != nil {
		return err
	}
	if _, _, err := net.SplitHostPort(addr); err != nil {
		h.metrics.forwarded.WithLabelValues("error").Inc()
		return ErrNodeUnreachable
	}
	if h.signer == nil {
		h.metrics.forwarded.WithLabelValues("error").Inc()
		return ErrNodeUnreachable
	}
	token, err := h.signer.sign(r.p, r.Request, h.cfg.NodeID)
	if err != nil {
		return err
	}
	var failed error
	proxy := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(&url.URL{Scheme: "http", Host: addr})
			pr.Out.Host = addr
			// The bearer key stays here; the token proves what this node
			// checked (forward_token.go).
			pr.Out.Header.Del("Authorization")
			pr.Out.Header.Set(ForwardTokenHeader, token)
			pr.Out.Header.Set(ForwardedHeader, h.cfg.NodeID)
		},
		Transport:     h.forward,
		FlushInterval: -1,
		ErrorLog:      slog.NewLogLogger(h.log.Handler(), slog.LevelWarn),
		ErrorHandler: func(_ http.ResponseWriter, _ *http.Request, err error) {
			failed = err
		},
	}
	proxy.ServeHTTP(w, r.Request)
	if failed != nil {
		h.metrics.forwarded.WithLabelValues("error").Inc()
		h.log.Warn("forward to node", "node_id", node, "addr", addr, "call_id", r.call.ID, "error", failed)
		return ErrNodeUnreachable
	}
	h.metrics.forwarded.WithLabelValues("ok").Inc()
	return nil
}
