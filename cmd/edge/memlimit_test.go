package main

import (
	"errors"
	"runtime/debug"
	"testing"
)

// TestMemoryLimitFromTheContainer: 90% of the cgroup's memory.max becomes
// the runtime's soft limit; "max", garbage, no cgroup or an explicit
// GOMEMLIMIT leave the runtime as it is.
func TestMemoryLimitFromTheContainer(t *testing.T) {
	before := debug.SetMemoryLimit(-1)
	t.Cleanup(func() { debug.SetMemoryLimit(before) })
	none := func(string) (string, bool) { return "", false }
	file := func(v string) func(string) ([]byte, error) {
		return func(string) ([]byte, error) { return []byte(v), nil }
	}
	if got := setMemoryLimit(none, file("2147483648\n")); got != 1932735276 || debug.SetMemoryLimit(-1) != 1932735276 {
		t.Fatalf("2 GiB container: limit %d", got)
	}
	debug.SetMemoryLimit(before)
	for name, c := range map[string]struct {
		lookup func(string) (string, bool)
		read   func(string) ([]byte, error)
	}{
		"no limit":   {none, file("max\n")},
		"garbage":    {none, file("lots")},
		"no cgroup":  {none, func(string) ([]byte, error) { return nil, errors.New("no such file") }},
		"GOMEMLIMIT": {func(string) (string, bool) { return "1GiB", true }, file("2147483648")},
	} {
		if got := setMemoryLimit(c.lookup, c.read); got != 0 || debug.SetMemoryLimit(-1) != before {
			t.Errorf("%s: limit %d set", name, got)
		}
	}
}

// TestGCPercentUnlessGOGC: the edge's GOGC applies unless the environment
// names one.
func TestGCPercentUnlessGOGC(t *testing.T) {
	before := debug.SetGCPercent(100)
	t.Cleanup(func() { debug.SetGCPercent(before) })
	if got := setGCPercent(func(string) (string, bool) { return "", false }); got != gcPercent || debug.SetGCPercent(100) != gcPercent {
		t.Fatalf("no GOGC: percent %d", got)
	}
	if got := setGCPercent(func(string) (string, bool) { return "50", true }); got != 0 || debug.SetGCPercent(100) != 100 {
		t.Fatalf("GOGC=50: percent %d set", got)
	}
}
