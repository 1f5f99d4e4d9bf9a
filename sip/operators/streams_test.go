package operators

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/voiceedge/edge/tenancy/tenancytest"
)

// TestStreamsPerWorkspace: a workspace holding all its stream slots (say,
// with stalled consoles) leaves another workspace's console its stream.
func TestStreamsPerWorkspace(t *testing.T) {
	r := tenancytest.StartRedis(t)
	n := newTestNode(t, r, nodeOptions{id: "node-a", cfg: func(c *Config) {
		c.MaxStreams, c.MaxStreamsPerWorkspace, c.MaxStreamsPerKey = 10, 3, 2
	}})
	wsA := newTestWorkspace(t, n.store, "Alpha")
	wsB := newTestWorkspace(t, n.store, "Beta")
	open := func(key string) (int, func()) {
		ctx, cancel := context.WithCancel(context.Background())
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, n.baseURL+"/v1/events/stream", nil)
		req.Header.Set("Authorization", "Bearer "+key)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			cancel()
			t.Fatal(err)
		}
		return res.StatusCode, func() { cancel(); res.Body.Close() }
	}
	var closers []func()
	defer func() {
		for _, c := range closers {
			c()
		}
	}()
	for _, tc := range []struct {
		name, key string
		want      int
	}{
		{"A's member, first", wsA.keys["member"], 200},
		{"A's member, second", wsA.keys["member"], 200},
		{"A's member, past its key's share", wsA.keys["member"], 503},
		{"A's viewer", wsA.keys["viewer"], 200},
		{"A's owner, past the workspace's share", wsA.keys["owner"], 503},
		{"B's viewer while A is at its share", wsB.keys["viewer"], 200},
	} {
		code, closeFn := open(tc.key)
		closers = append(closers, closeFn)
		if code != tc.want {
			t.Fatalf("%s: %d, want %d", tc.name, code, tc.want)
		}
	}
	// A's streams end: its slots come back.
	for _, c := range closers[:2] {
		c()
	}
	waitFor(t, 3*time.Second, "A's slots back", func() bool {
		code, c := open(wsA.keys["owner"])
		c()
		return code == 200
	})
}
