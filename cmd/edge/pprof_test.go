package main

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

func TestPProfOnlyWhenAsked(t *testing.T) {
	tests := []struct {
		name   string
		env    string
		status int
		err    bool
	}{
		{name: "off by default", env: "", status: http.StatusNotFound},
		{name: "EDGE_PPROF=1", env: "1", status: http.StatusOK},
		{name: "EDGE_PPROF=false", env: "false", status: http.StatusNotFound},
		{name: "EDGE_PPROF=maybe", env: "maybe", err: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			lookup := func(k string) (string, bool) {
				if k == "EDGE_PPROF" && tc.env != "" {
					return tc.env, true
				}
				return "", false
			}
			c, err := loadConfig(nil, lookup, io.Discard)
			if tc.err {
				if !errors.Is(err, errUsage) {
					t.Fatalf("err = %v, want a usage error", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			h := internalHandler(prometheus.NewRegistry(), nil, nil, c.PProf)
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/debug/pprof/", nil))
			if rec.Code != tc.status {
				t.Fatalf("GET /debug/pprof/ = %d, want %d", rec.Code, tc.status)
			}
		})
	}
}

// TestPublicAddressServesNoInternals: /metrics (whose routing counters tell
// which numbers exist) and pprof live on the internal listener only.
func TestPublicAddressServesNoInternals(t *testing.T) {
	pub := publicHandler(nil, nil)
	internal := internalHandler(prometheus.NewRegistry(), nil, nil, true)
	for _, tc := range []struct {
		path           string
		public, intern int
	}{
		{"/metrics", http.StatusNotFound, http.StatusOK},
		{"/debug/pprof/", http.StatusNotFound, http.StatusOK},
		{"/healthz", http.StatusOK, http.StatusOK},
	} {
		for _, h := range []struct {
			name string
			h    http.Handler
			want int
		}{{"public", pub, tc.public}, {"internal", internal, tc.intern}} {
			rec := httptest.NewRecorder()
			h.h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, tc.path, nil))
			if rec.Code != h.want {
				t.Errorf("%s GET %s = %d, want %d", h.name, tc.path, rec.Code, h.want)
			}
		}
	}
}
