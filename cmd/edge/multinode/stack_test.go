// Package multinode tests several edge processes behind one Redis, as
// they run in production: calls spread over the nodes, a workspace's
// limits held exactly across them, any node serving the operator API for
// a call another node holds, and drains and rolling restarts that lose no
// call (issue 12 items 3 and 6). It holds tests only.
package multinode

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/voiceedge/edge/internal/edgeproc"
	"github.com/voiceedge/edge/tenancy"
	"github.com/voiceedge/edge/tenancy/tenancytest"
)

// The addresses of the test: three edges, the SIPp services, the
// carriers (raw UDP, SIPp, Kamailio) on 127.0.0.1.
var edgeHosts = []string{"127.0.0.31", "127.0.0.32", "127.0.0.33"}

const (
	serviceHost = "127.0.0.40"
	number      = "+13125550100"
	otherNumber = "+13125550200"
)

// stack is a Redis, an edge-admin and three edges with one workspace whose
// number routes to a SIPp service answering every call.
type stack struct {
	redis *tenancytest.Redis
	store *tenancy.Store
	admin *edgeproc.Admin
	edges []*edgeproc.Edge
	ws    edgeproc.Workspace
	other edgeproc.Workspace // a second workspace, for isolation checks
}

type stackOptions struct {
	maxCalls, maxCPS int
	env              map[string]string // more edge environment
	service          string            // SIPp scenario of the service (default uas_load.xml)
}

func newStack(t *testing.T, o stackOptions) *stack {
	t.Helper()
	bins := edgeproc.Build(t)
	r := tenancytest.StartRedis(t)
	s := &stack{redis: r, store: r.Store(t), admin: edgeproc.StartAdmin(t, bins, r.Addr, nil)}
	if o.service == "" {
		o.service = "../../../loadtest/sipp/uas_load.xml"
	}
	_, target := startService(t, "service", o.service)

	s.ws = s.admin.CreateWorkspace(t, "Northside")
	s.other = s.admin.CreateWorkspace(t, "Southside")
	edgeproc.Call(t, "PATCH", s.admin.URL+"/v1/workspaces/"+s.ws.ID, edgeproc.PlatformToken,
		map[string]any{"limits": map[string]int{"max_concurrent_calls": o.maxCalls, "max_cps": o.maxCPS}}, 200, nil)
	s.admin.Post(t, s.ws, "/services", map[string]any{"id": "front-desk", "name": "Front desk", "target": target}, 201)
	s.admin.Post(t, s.ws, "/trunks", map[string]any{"id": "carrier", "name": "Carrier", "allowed_cidrs": []string{"127.0.0.1/32"}}, 201)
	s.admin.Post(t, s.ws, "/phone-numbers", map[string]any{"number": number, "service_id": "front-desk"}, 201)
	edgeproc.Call(t, "PUT", s.admin.URL+"/v1/workspaces/"+s.ws.ID+"/operator-config", s.ws.OwnerAPIKey,
		map[string]any{"operators": []string{}, "modes": []string{"listen", "whisper", "barge"}}, 200, nil)
	s.admin.Post(t, s.other, "/services", map[string]any{"id": "desk", "name": "Desk", "target": target}, 201)
	s.admin.Post(t, s.other, "/phone-numbers", map[string]any{"number": otherNumber, "service_id": "desk"}, 201)

	env := map[string]string{
		"EDGE_TRUSTED_CIDRS": "127.0.0.0/8", "EDGE_WORKSPACE_MEDIA_SHARE": "100", "EDGE_LOG_LEVEL": "info",
		"EDGE_NODE_SECRET": "multinode-test-node-secret-0123456789abcdef",
	}
	for k, v := range o.env {
		env[k] = v
	}
	for i, host := range edgeHosts {
		e := edgeproc.StartEdge(t, bins, edgeproc.EdgeConfig{NodeID: fmt.Sprintf("edge-%d", i+1), Host: host, RedisAddr: r.Addr, RTPPorts: 200, Env: env})
		s.edges = append(s.edges, e)
	}
	for _, e := range s.edges {
		edgeproc.WaitNumbers(t, e.Metrics, 2, 20*time.Second)
	}
	return s
}

// startService runs a SIPp service on serviceHost (every call answered,
// RTP echoed) and returns it and its target URI.
func startService(t *testing.T, name, scenario string, args ...string) (*edgeproc.SIPp, string) {
	t.Helper()
	port := edgeproc.PortOf(edgeproc.FreeUDP(t, serviceHost))
	mport := edgeproc.SIPpMediaPort(t, serviceHost, port)
	p := edgeproc.StartSIPp(t, name, scenario, append([]string{"-i", serviceHost, "-p", port, "-mp", mport, "-rtp_echo", "-timeout", "300s"}, args...)...)
	return p, fmt.Sprintf("sip:agent@%s:%s;transport=udp", serviceHost, port)
}

// callList is a page of GET /v1/calls.
type callList struct {
	Items []tenancy.CallRecord `json:"items"`
}

// activeCalls lists the workspace's active calls through edge e's operator API.
func (s *stack) activeCalls(t *testing.T, e *edgeproc.Edge, key string) []tenancy.CallRecord {
	t.Helper()
	var page callList
	edgeproc.Call(t, "GET", "http://"+e.HTTP+"/v1/calls", key, nil, 200, &page)
	return page.Items
}

// activeCount is the workspace's active count in Redis: the slots taken.
func (s *stack) activeCount(t *testing.T) int64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	n, err := s.store.ActiveCalls(ctx, s.ws.ID)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// waitActive waits up to d for the workspace's active count to be n.
func (s *stack) waitActive(t *testing.T, n int64, d time.Duration) {
	t.Helper()
	edgeproc.WaitFor(t, d, fmt.Sprintf("%d active calls", n), func() bool { return s.activeCount(t) == n })
}

// call reads one call record through the admin API.
func (s *stack) call(t *testing.T, id string) tenancy.CallRecord {
	t.Helper()
	var rec tenancy.CallRecord
	edgeproc.Call(t, "GET", s.admin.URL+"/v1/workspaces/"+s.ws.ID+"/calls/"+id, s.ws.OwnerAPIKey, nil, 200, &rec)
	return rec
}

// publicReady is the status of an edge's public /readyz (0: no answer).
func publicReady(e *edgeproc.Edge) int {
	resp, err := (&http.Client{Timeout: time.Second}).Get("http://" + e.HTTP + "/readyz")
	if err != nil {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}
