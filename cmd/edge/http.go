package main

import (
	"encoding/json"
	"net/http"
	httppprof "net/http/pprof"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/voiceedge/edge/routing"
	"github.com/voiceedge/edge/sip"
	"github.com/voiceedge/edge/sip/spool"
)

// readiness is the internal /readyz body. Degraded (still ready: calls
// are routed and admitted from memory) says why in Reasons:
// redis_unreachable (the map or the call state cannot reach Redis),
// spool_backlog (writes wait to be replayed), spool_disk_full (the spool
// keeps new writes in memory only), spool_dropped (writes were lost).
type readiness struct {
	Ready       bool           `json:"ready"`
	Degraded    bool           `json:"degraded"`
	Reasons     []string       `json:"reasons,omitempty"`
	ActiveCalls int            `json:"active_calls"`
	Routing     routing.Status `json:"routing"`
	Spool       spool.Stats    `json:"spool"`
}

func readinessOf(routes *routing.Map, srv *sip.Server) readiness {
	st, sp := routes.Status(), srv.Spool()
	r := readiness{Ready: st.Ready && !srv.Draining(), ActiveCalls: srv.ActiveCalls(), Routing: st, Spool: sp}
	for _, c := range []struct {
		on  bool
		why string
	}{
		{st.Degraded || sp.StoreDown, "redis_unreachable"},
		{sp.Entries > 0, "spool_backlog"},
		{sp.DiskFull, "spool_disk_full"},
		{sp.Dropped > 0, "spool_dropped"},
	} {
		if c.on {
			r.Reasons = append(r.Reasons, c.why)
		}
	}
	r.Degraded = len(r.Reasons) > 0
	return r
}

// publicHandler serves, beside the operator API and console, /healthz (the
// process is up) and /readyz (the routing map is loaded and the edge is not
// draining) as a bare {"ready": bool}: a load balancer needs no more, and
// the map's counts and the call count are for the internal listener only.
func publicHandler(routes *routing.Map, srv *sip.Server) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", healthz)
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		r := readinessOf(routes, srv)
		writeReadiness(w, r.Ready, struct {
			Ready bool `json:"ready"`
		}{r.Ready})
	})
	return mux
}

// internalHandler serves the internal listener (EDGE_METRICS_ADDR):
// /metrics, /healthz, /readyz with the map's detail (degraded when Redis is
// lost and the last map is served), and /debug/pprof/ when pprof is set
// (EDGE_PPROF=1).
func internalHandler(reg *prometheus.Registry, routes *routing.Map, srv *sip.Server, pprof bool) http.Handler {
	mux := http.NewServeMux()
	if pprof {
		mux.HandleFunc("GET /debug/pprof/", httppprof.Index)
		mux.HandleFunc("GET /debug/pprof/cmdline", httppprof.Cmdline)
		mux.HandleFunc("GET /debug/pprof/profile", httppprof.Profile)
		mux.HandleFunc("GET /debug/pprof/symbol", httppprof.Symbol)
		mux.HandleFunc("GET /debug/pprof/trace", httppprof.Trace)
	}
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}))
	mux.HandleFunc("GET /healthz", healthz)
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		r := readinessOf(routes, srv)
		writeReadiness(w, r.Ready, r)
	})
	return mux
}

func healthz(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write([]byte(`{"status":"ok"}` + "\n"))
}

func writeReadiness(w http.ResponseWriter, ready bool, body any) {
	w.Header().Set("Content-Type", "application/json")
	if !ready {
		w.WriteHeader(http.StatusServiceUnavailable)
	}
	_ = json.NewEncoder(w).Encode(body)
}
