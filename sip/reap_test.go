package sip

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/voiceedge/edge/tenancy"
)

// TestReapMetricsCountAndLogEveryDroppedRecord: calls ended node_lost are
// counted; a slot freed without its record is counted by reason and
// logged with the call and workspace, never silently.
func TestReapMetricsCountAndLogEveryDroppedRecord(t *testing.T) {
	var logs bytes.Buffer
	reg := prometheus.NewRegistry()
	m, err := NewReapMetrics(reg, slog.New(slog.NewJSONHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range []tenancy.Reaped{
		{WorkspaceID: "ws1", CallID: "c1", NodeID: "n1", Outcome: tenancy.ReapEnded},
		{WorkspaceID: "ws1", CallID: "c2", NodeID: "n1", Outcome: tenancy.ReapEnded},
		{WorkspaceID: "ws1", CallID: "c3", NodeID: "n1", Outcome: tenancy.ReapAlreadyEnded},
		{WorkspaceID: "ws2", CallID: "c4", Outcome: tenancy.ReapMissing},
		{WorkspaceID: "ws3", CallID: "c5", Outcome: tenancy.ReapWorkspaceDeleted},
	} {
		m.Observe(r)
	}
	if n := testutil.ToFloat64(m.reaped); n != 2 {
		t.Errorf("reaped %v, want 2", n)
	}
	for reason, want := range map[string]float64{tenancy.ReapMissing: 1, tenancy.ReapWorkspaceDeleted: 1, tenancy.ReapUndecodable: 0} {
		if n := testutil.ToFloat64(m.dropped.WithLabelValues(reason)); n != want {
			t.Errorf("dropped %s: %v, want %v", reason, n, want)
		}
	}
	for _, want := range []string{`"call_id":"c4","workspace_id":"ws2"`, `"call_id":"c5","workspace_id":"ws3"`, `"reason":"missing"`} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("log lacks %s:\n%s", want, logs.String())
		}
	}
	if _, err := NewReapMetrics(reg, slog.Default()); err == nil {
		t.Error("registered the reaper's metrics twice into one registry")
	}
}
