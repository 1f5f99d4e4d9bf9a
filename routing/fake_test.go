package routing_test

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/voiceedge/edge/routing"
	"github.com/voiceedge/edge/tenancy"
)

// memSource is a fixed set of snapshots with an empty change stream: unit
// logic, fuzzing and benchmarks that need a loaded map but not Redis.
type memSource struct {
	snaps map[string]*tenancy.Snapshot
}

var _ routing.Source = (*memSource)(nil)

func (s *memSource) ListWorkspaceIDs(context.Context) ([]string, error) {
	return slices.Sorted(maps.Keys(s.snaps)), nil
}

func (s *memSource) LoadSnapshot(_ context.Context, ws string) (*tenancy.Snapshot, error) {
	snap, ok := s.snaps[ws]
	if !ok {
		return nil, tenancy.ErrNotFound
	}
	return snap, nil
}

func (s *memSource) ChangesHead(context.Context) (string, int64, error) { return "0-0", 0, nil }

func (s *memSource) ReadChanges(ctx context.Context, _ string, wait time.Duration) ([]tenancy.Change, error) {
	if wait <= 0 {
		return nil, nil
	}
	timer := time.NewTimer(wait)
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-timer.C:
		return nil, nil
	}
}

func (s *memSource) WorkspaceVersions(_ context.Context, ids []string) (map[string]int64, error) {
	out := map[string]int64{}
	for _, id := range ids {
		if snap, ok := s.snaps[id]; ok {
			out[id] = snap.Version
		}
	}
	return out, nil
}

// syntheticSource returns workspaces × perWorkspace numbers: workspace i
// owns +1555<i:03d><n:04d> and trunks 10.<i>.0.0/16 and 2001:db8:<i>::/48.
func syntheticSource(workspaces, perWorkspace int) *memSource {
	src := &memSource{snaps: map[string]*tenancy.Snapshot{}}
	for i := range workspaces {
		id := fmt.Sprintf("ws_bench%04d", i)
		snap := &tenancy.Snapshot{
			Workspace: tenancy.Workspace{ID: id, Name: id, Environment: tenancy.EnvProduction, Status: tenancy.StatusActive},
			Version:   1,
			Services:  map[string]tenancy.Service{"agent": {ID: "agent", Name: "Agent", Target: "sip:agent@10.200.0.1:5070"}},
			Numbers:   map[string]tenancy.PhoneNumber{},
			Trunks: map[string]tenancy.Trunk{
				"v4": {ID: "v4", Name: "v4", AllowedCIDRs: []string{fmt.Sprintf("10.%d.0.0/16", i%256)}},
				"v6": {ID: "v6", Name: "v6", AllowedCIDRs: []string{fmt.Sprintf("2001:db8:%x::/48", i)}},
			},
			VoiceSettings: tenancy.VoiceSettings{TTSVoice: "alloy"},
		}
		for n := range perWorkspace {
			num := fmt.Sprintf("+1555%03d%04d", i, n)
			snap.Numbers[num] = tenancy.PhoneNumber{Number: num, ServiceID: "agent"}
		}
		src.snaps[id] = snap
	}
	return src
}

// newLoadedMap returns a map loaded from src; its Run stops at cleanup.
func newLoadedMap(tb testing.TB, src routing.Source) *routing.Map {
	tb.Helper()
	m := routing.New(src, prometheus.NewRegistry(), nil, routing.WithPollWait(20*time.Millisecond))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()
	tb.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			tb.Errorf("Run: %v", err)
		}
	})
	deadline := time.Now().Add(waitLimit)
	for !m.Ready() {
		if time.Now().After(deadline) {
			tb.Fatal("map not ready")
		}
		time.Sleep(time.Millisecond)
	}
	return m
}
