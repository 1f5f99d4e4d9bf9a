package httpapi

import "testing"

func TestStreamSlots(t *testing.T) {
	s := NewStreamSlots(5, 3, 2)
	var held []func()
	take := func(ws, key string) bool {
		rel, ok := s.Acquire(ws, key)
		if ok {
			held = append(held, rel)
		}
		return ok
	}
	steps := []struct {
		ws, key string
		want    bool
	}{
		{"a", "k1", true}, {"a", "k1", true},
		{"a", "k1", false}, // per key
		{"a", "k2", true},
		{"a", "k3", false}, // per workspace
		{"b", "k4", true}, {"b", "k4", true},
		{"c", "k5", false}, // in all
	}
	for i, st := range steps {
		if got := take(st.ws, st.key); got != st.want {
			t.Fatalf("step %d (%s %s): %v, want %v", i, st.ws, st.key, got, st.want)
		}
	}
	held[0]()
	held[0]() // idempotent
	if !take("c", "k5") {
		t.Fatal("a released slot is not free")
	}
	if take("a", "k3") {
		t.Fatal("released twice: workspace a got a slot back it does not have")
	}
}
