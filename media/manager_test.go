package media

import (
	"errors"
	"net/netip"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// counterValue reads one series of a metric from a registry.
func counterValue(t testing.TB, reg *prometheus.Registry, name, label, value string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, metric := range mf.GetMetric() {
			if label == "" || hasLabel(metric, label, value) {
				return metricValue(metric)
			}
		}
	}
	return 0
}

func hasLabel(m *dto.Metric, name, value string) bool {
	for _, lp := range m.GetLabel() {
		if lp.GetName() == name && lp.GetValue() == value {
			return true
		}
	}
	return false
}

func metricValue(m *dto.Metric) float64 {
	switch {
	case m.Counter != nil:
		return m.GetCounter().GetValue()
	case m.Gauge != nil:
		return m.GetGauge().GetValue()
	}
	return 0
}

func TestManagerLifecycleAndMetrics(t *testing.T) {
	t.Parallel()
	m, reg := newTestManager(t, DefaultConfig())
	s, err := m.NewSession("call-1")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.NewSession("call-1"); !errors.Is(err, ErrDuplicateSession) {
		t.Fatalf("duplicate: %v", err)
	}
	if got, ok := m.Session("call-1"); !ok || got != s {
		t.Fatal("Session lookup failed")
	}
	if a, b := s.LocalAddr(LegA), s.LocalAddr(LegB); a.Port()%2 != 0 || b.Port()%2 != 0 || a == b {
		t.Fatalf("leg ports %s %s", a, b)
	}
	if v := counterValue(t, reg, "edge_media_sessions_active", "", ""); v != 1 {
		t.Fatalf("sessions_active = %v", v)
	}
	if v := counterValue(t, reg, "edge_media_ports_in_use", "", ""); v != 2 {
		t.Fatalf("ports_in_use = %v", v)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if m.Active() != 0 || m.pool.InUse() != 0 {
		t.Fatalf("after Close: active %d, ports %d", m.Active(), m.pool.InUse())
	}
	if v := counterValue(t, reg, "edge_media_ports_in_use", "", ""); v != 0 {
		t.Fatalf("ports_in_use = %v", v)
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := m.NewSession("call-2"); !errors.Is(err, ErrClosed) {
		t.Fatalf("after Close: %v", err)
	}
}

func TestManagerPortExhaustion(t *testing.T) {
	t.Parallel()
	pool, err := NewPortPool(netip.MustParseAddr("127.0.0.1"), 29300, 29302) // two ports: one session
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	m, err := NewManager(DefaultConfig(), pool, reg)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	s, err := m.NewSession("one")
	if err != nil {
		t.Skipf("ports 29300-29302 busy: %v", err)
	}
	if _, err := m.NewSession("two"); !errors.Is(err, ErrNoPorts) {
		t.Fatalf("err = %v, want ErrNoPorts", err)
	}
	if pool.InUse() != 2 {
		t.Fatalf("a failed session kept a port: InUse = %d", pool.InUse())
	}
	if v := counterValue(t, reg, "edge_media_port_exhausted_total", "", ""); v != 1 {
		t.Fatalf("port_exhausted_total = %v", v)
	}
	s.Close()
	if _, err := m.NewSession("two"); err != nil {
		t.Fatalf("after release: %v", err)
	}
}

func TestNewManagerValidates(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		pool *PortPool
	}{
		{name: "negative timeout", cfg: Config{MediaTimeout: -1}, pool: newTestPool(t)},
		{name: "no pool", cfg: DefaultConfig()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := NewManager(tt.cfg, tt.pool, nil); !errors.Is(err, ErrInvalidConfig) {
				t.Fatalf("err = %v", err)
			}
		})
	}
}

func TestNewManagerRegistersOnce(t *testing.T) {
	reg := prometheus.NewRegistry()
	if _, err := NewManager(DefaultConfig(), newTestPool(t), reg); err != nil {
		t.Fatal(err)
	}
	if _, err := NewManager(DefaultConfig(), newTestPool(t), reg); err == nil {
		t.Fatal("second registration into the same registry succeeded")
	}
}
