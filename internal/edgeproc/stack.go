package edgeproc

import (
	"fmt"
	"maps"
	"testing"
	"time"
)

// PlatformToken is the platform admin's bearer token of the edge-admin
// StartAdmin runs.
const PlatformToken = "platform-token-for-edgeproc-tests"

// Admin is a running edge-admin.
type Admin struct {
	*Proc
	URL string // http://host:port
}

// StartAdmin runs edge-admin serve against redisAddr (any EDGE_REDIS_ADDR
// form) with extra environment, and waits until it is ready.
func StartAdmin(t testing.TB, bins Binaries, redisAddr string, extra map[string]string) *Admin {
	t.Helper()
	addr := FreeTCP(t, "127.0.0.1")
	env := map[string]string{"EDGE_ADMIN_ADDR": addr, "EDGE_REDIS_ADDR": redisAddr, "EDGE_ADMIN_BOOTSTRAP_TOKEN": PlatformToken}
	maps.Copy(env, extra)
	a := &Admin{Proc: Start(t, "edge-admin", bins.Admin, []string{"serve"}, env), URL: "http://" + addr}
	WaitHTTP(t, a.URL+"/readyz", 30*time.Second)
	return a
}

// Workspace is one created through the admin API.
type Workspace struct {
	ID          string `json:"id"`
	OwnerAPIKey string `json:"owner_api_key"`
}

// CreateWorkspace creates workspace name (development) and returns it.
func (a *Admin) CreateWorkspace(t testing.TB, name string) Workspace {
	t.Helper()
	var ws Workspace
	Call(t, "POST", a.URL+"/v1/workspaces", PlatformToken, map[string]any{
		"name": name, "environment": "development",
		"owner": map[string]string{"name": "Olive Owner", "email": "olive@example.org"},
	}, 201, &ws)
	return ws
}

// Post sends a workspace-scoped write with the owner's key: path is
// under /v1/workspaces/<id>.
func (a *Admin) Post(t testing.TB, ws Workspace, path string, body any, want int) int {
	t.Helper()
	return Call(t, "POST", a.URL+"/v1/workspaces/"+ws.ID+path, ws.OwnerAPIKey, body, want, nil)
}

// EdgeConfig says how to run one edge.
type EdgeConfig struct {
	NodeID    string
	Host      string // its loopback address, e.g. 127.0.0.11
	RedisAddr string
	RTPPorts  int               // how many RTP ports (even count); default 40
	Env       map[string]string // more environment, over the defaults
}

// Edge is a running edge node.
type Edge struct {
	*Proc
	Config  EdgeConfig
	SIP     string // host:port, UDP and TCP
	HTTP    string // public listener host:port
	Metrics string // internal listener host:port
	env     map[string]string
	bin     string
}

// StartEdge runs an edge as c says and waits until it is ready.
func StartEdge(t testing.TB, bins Binaries, c EdgeConfig) *Edge {
	t.Helper()
	if c.Host == "" {
		c.Host = "127.0.0.1"
	}
	if c.RTPPorts <= 0 {
		c.RTPPorts = 40
	}
	e := &Edge{Config: c, SIP: FreeUDP(t, c.Host), HTTP: FreeTCP(t, c.Host), Metrics: FreeTCP(t, c.Host), bin: bins.Edge}
	rtp := EvenPort(t, c.Host)
	e.env = map[string]string{
		"EDGE_REDIS_ADDR": c.RedisAddr, "EDGE_SIP_ADDR": e.SIP, "EDGE_HTTP_ADDR": e.HTTP,
		"EDGE_METRICS_ADDR": e.Metrics, "EDGE_RTP_PORTS": fmt.Sprintf("%d-%d", rtp, rtp+c.RTPPorts-1),
		"EDGE_ICE_PORT": PortOf(FreeUDP(t, c.Host)), "EDGE_NODE_ID": c.NodeID, "EDGE_PUBLIC_IP": c.Host,
		// No CPU shedding (sip/overload_cpu.go) unless a test asks: the
		// edges share a CI machine's cores with other packages' tests.
		"EDGE_OVERLOAD_LATENCY": "0",
	}
	maps.Copy(e.env, c.Env)
	e.start(t)
	return e
}

func (e *Edge) start(t testing.TB) {
	t.Helper()
	e.Proc = Start(t, "edge "+e.Config.NodeID, e.bin, nil, e.env)
	WaitHTTP(t, "http://"+e.Metrics+"/healthz", 30*time.Second)
}

// Restart starts the edge again with the same node id, addresses and
// environment, once its process has exited (after a kill or a drain).
func (e *Edge) Restart(t testing.TB) {
	t.Helper()
	if !e.Exited() {
		t.Fatalf("edge %s restarted while running", e.Config.NodeID)
	}
	e.start(t)
}
