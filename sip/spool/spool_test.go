package spool

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

var errDown = errors.New("store down")

// fakeStore records what it applied; down says which workspaces fail
// ("*": all).
type fakeStore struct {
	mu      sync.Mutex
	down    map[string]bool
	applied []Entry
}

func (f *fakeStore) Apply(_ context.Context, e Entry) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.down["*"] || f.down[e.WorkspaceID] {
		return errDown
	}
	f.applied = append(f.applied, e)
	return nil
}

func (f *fakeStore) Unavailable(err error) bool { return errors.Is(err, errDown) }

func (f *fakeStore) Probe(context.Context) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.down["*"] {
		return errDown
	}
	return nil
}

func (f *fakeStore) set(ws string, down bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.down == nil {
		f.down = map[string]bool{}
	}
	f.down[ws] = down
}

func (f *fakeStore) calls(ws string) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, e := range f.applied {
		if ws == "" || e.WorkspaceID == ws {
			out = append(out, e.CallID)
		}
	}
	return out
}

func newTestSpool(t *testing.T, cfg Config, st Store) (*Spool, *prometheus.Registry) {
	t.Helper()
	reg := prometheus.NewRegistry()
	s, err := Open(cfg, st, WithRegistry(reg))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, reg
}

func run(t *testing.T, s *Spool) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = s.Run(ctx); close(done) }()
	stop = func() { cancel(); <-done }
	t.Cleanup(stop)
	return stop
}

func entry(ws string, i int) Entry {
	return Entry{Op: "append_event", WorkspaceID: ws, CallID: fmt.Sprintf("c%03d", i), Data: []byte(`{"n":` + fmt.Sprint(i) + `}`)}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func want(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("c%03d", i)
	}
	return out
}

func TestSpoolWritesThroughThenQueuesInOrderUntilTheStoreIsBack(t *testing.T) {
	for _, dir := range []string{"", "disk"} {
		t.Run("dir="+dir, func(t *testing.T) {
			st := &fakeStore{}
			cfg := Config{}
			if dir != "" {
				cfg.Dir = t.TempDir()
			}
			s, reg := newTestSpool(t, cfg, st)
			ctx := context.Background()
			if err := s.Write(ctx, entry("a", 0)); err != nil {
				t.Fatal(err)
			}
			st.set("*", true)
			for i := 1; i < 50; i++ {
				if err := s.Write(ctx, entry("a", i)); err != nil {
					t.Fatal(err)
				}
			}
			if got := s.Stats().Entries; got != 49 {
				t.Fatalf("spooled %d, want 49", got)
			}
			run(t, s)
			st.set("*", false)
			waitFor(t, "replay", func() bool { return s.Up() })
			if got := st.calls("a"); fmt.Sprint(got) != fmt.Sprint(want(50)) {
				t.Fatalf("applied %v", got)
			}
			if n := testutil.ToFloat64(s.met.replayed.WithLabelValues("append_event")); n != 49 {
				t.Fatalf("replayed metric %v", n)
			}
			if dir != "" && s.Stats().DiskBytes != 0 {
				t.Fatalf("segments left: %d bytes", s.Stats().DiskBytes)
			}
			_ = reg
		})
	}
}

func TestSpoolOnDiskSurvivesARestartAndReplaysOnlyWhatWasNotApplied(t *testing.T) {
	dir := t.TempDir()
	st := &fakeStore{}
	st.set("*", true)
	s, err := Open(Config{Dir: dir, SegmentBytes: 512}, st)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 30 {
		if err := s.Append(entry("a", i)); err != nil {
			t.Fatal(err)
		}
	}
	// Ten are applied before the "crash": they must not come back.
	st.set("*", false)
	for range 10 {
		s.mu.Lock()
		it := s.items[0]
		s.mu.Unlock()
		if err := st.Apply(context.Background(), it.e); err != nil {
			t.Fatal(err)
		}
		s.remove(it)
	}
	s.disk.cur.Close() // no Close: a killed process
	s.disk.lock.Close()

	s2, _ := newTestSpool(t, Config{Dir: dir, SegmentBytes: 512}, st)
	if got := s2.Stats().Entries; got != 20 {
		t.Fatalf("recovered %d entries, want 20", got)
	}
	run(t, s2)
	waitFor(t, "replay", func() bool { return s2.Up() })
	if got := st.calls(""); fmt.Sprint(got) != fmt.Sprint(want(30)) {
		t.Fatalf("applied %v", got)
	}
	waitFor(t, "segments deleted", func() bool { return s2.Stats().DiskBytes == 0 })
}

func TestSpoolCutsATornTailAtStart(t *testing.T) {
	dir := t.TempDir()
	st := &fakeStore{}
	s, err := Open(Config{Dir: dir}, st)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		_ = s.Append(entry("a", i))
	}
	path := s.disk.segs[0].path
	s.Close()
	b, _ := os.ReadFile(path)
	if err := os.WriteFile(path, append(b, b[:entry("a", 0).size()-3]...), 0o600); err != nil { // a torn fourth record
		t.Fatal(err)
	}
	s2, _ := newTestSpool(t, Config{Dir: dir}, st)
	if got := s2.Stats().Entries; got != 3 {
		t.Fatalf("recovered %d, want 3", got)
	}
	if n := testutil.ToFloat64(s2.met.corrupt); n != 1 {
		t.Fatalf("corrupt tails %v, want 1", n)
	}
	if fi, _ := os.Stat(path); fi.Size() != int64(len(b)) {
		t.Fatalf("segment not cut: %d bytes, want %d", fi.Size(), len(b))
	}
}

func TestSpoolDropsOnlyWhenMemoryAndDiskAreBothFull(t *testing.T) {
	st := &fakeStore{}
	st.set("*", true)
	e := entry("a", 0)
	// Memory for 2, disk for 4 entries: 2 in both, 2 spilled to disk, then drops.
	s, _ := newTestSpool(t, Config{Dir: t.TempDir(), MaxEntries: 2, MaxBytes: int64(4*e.size() + 1)}, st)
	var dropped int
	for i := range 6 {
		if err := s.Append(entry("a", i)); errors.Is(err, ErrFull) {
			dropped++
		}
	}
	if st := s.Stats(); dropped != 2 || st.Entries != 4 || !st.DiskFull || st.Dropped != 2 {
		t.Fatalf("dropped %d, stats %+v", dropped, st)
	}
	if n := testutil.ToFloat64(s.met.dropped.WithLabelValues("full")); n != 2 {
		t.Fatalf("dropped metric %v", n)
	}
	run(t, s)
	st.set("*", false)
	waitFor(t, "replay of the spilled entries", func() bool { return s.Up() })
	if got := st.calls(""); fmt.Sprint(got) != fmt.Sprint(want(4)) {
		t.Fatalf("applied %v", got)
	}
}

func TestSpoolInMemoryOnlyWhileTheDiskIsFull(t *testing.T) {
	st := &fakeStore{}
	st.set("*", true)
	s, _ := newTestSpool(t, Config{Dir: t.TempDir(), MaxBytes: 1}, st)
	for i := range 5 {
		if err := s.Append(entry("a", i)); err != nil {
			t.Fatal(err)
		}
	}
	if st := s.Stats(); st.Entries != 5 || !st.DiskFull {
		t.Fatalf("stats %+v", st)
	}
	s.Close()
	if n := testutil.ToFloat64(s.met.dropped.WithLabelValues("shutdown")); n != 5 {
		t.Fatalf("memory-only entries lost at close counted %v, want 5", n)
	}
}

func TestSpoolOneWorkspaceBacklogDoesNotHoldAnother(t *testing.T) {
	st := &fakeStore{}
	s, _ := newTestSpool(t, Config{}, st)
	st.set("a", true)
	ctx := context.Background()
	for i := range 5 {
		_ = s.Write(ctx, entry("a", i))
	}
	run(t, s)
	// b's entries appended behind a's are replayed while a still fails.
	for i := range 5 {
		if err := s.Append(entry("b", i)); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "b replayed", func() bool { return len(st.calls("b")) == 5 })
	if len(st.calls("a")) != 0 {
		t.Fatal("a applied while down")
	}
	st.set("a", false)
	waitFor(t, "a replayed", func() bool { return s.Up() })
	if got := st.calls("a"); fmt.Sprint(got) != fmt.Sprint(want(5)) {
		t.Fatalf("a applied %v", got)
	}
}

func TestSpoolDirectoryIsLockedToOneProcess(t *testing.T) {
	dir := t.TempDir()
	newTestSpool(t, Config{Dir: dir}, &fakeStore{})
	if _, err := Open(Config{Dir: dir}, &fakeStore{}); !errors.Is(err, ErrLocked) {
		t.Fatalf("second open: %v, want ErrLocked", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "LOCK")); err != nil {
		t.Fatal(err)
	}
}

// TestSpoolEncodesAValueOnlyWhenItQueues: a write applied straight through
// reaches the store with its Value unencoded; one the spool must queue (the
// store is down) waits as JSON, without its Value, and is replayed so.
func TestSpoolEncodesAValueOnlyWhenItQueues(t *testing.T) {
	st := &fakeStore{}
	s, _ := newTestSpool(t, Config{}, st)
	type args struct{ N int }
	if err := s.Write(context.Background(), Entry{Op: "append_event", WorkspaceID: "ws_a", CallID: "c1", Value: args{1}}); err != nil {
		t.Fatal(err)
	}
	st.set("*", true)
	if err := s.Write(context.Background(), Entry{Op: "append_event", WorkspaceID: "ws_a", CallID: "c2", Value: args{2}}); err != nil {
		t.Fatal(err)
	}
	if err := s.Write(context.Background(), Entry{Op: "append_event", WorkspaceID: "ws_a", CallID: "c3", Value: func() {}}); err == nil {
		t.Fatal("a value JSON cannot encode was queued")
	}
	st.set("*", false)
	run(t, s)
	waitFor(t, "replay", func() bool { return len(st.calls("ws_a")) == 2 })
	st.mu.Lock()
	defer st.mu.Unlock()
	first, second := st.applied[0], st.applied[1]
	if first.Value != (args{1}) || first.Data != nil {
		t.Errorf("direct write: value %#v, data %q", first.Value, first.Data)
	}
	if second.Value != nil || string(second.Data) != `{"N":2}` {
		t.Errorf("queued write: value %#v, data %q", second.Value, second.Data)
	}
}

// TestSpoolCountsOutagesThatAreOver: an outage is counted once, when the
// store goes down, and stays counted after the store is back, so that a
// look after a short outage still sees it (the edge re-asserts its calls
// after one: Redis may have come back empty).
func TestSpoolCountsOutagesThatAreOver(t *testing.T) {
	st := &fakeStore{}
	s, _ := newTestSpool(t, Config{}, st)
	run(t, s)
	for i := 1; i <= 2; i++ {
		st.set("*", true)
		s.MarkDown()
		s.MarkDown() // the same outage
		st.set("*", false)
		waitFor(t, "store back", func() bool { return s.Up() })
		if st := s.Stats(); st.StoreDown || st.Outages != int64(i) {
			t.Fatalf("after outage %d: %+v", i, st)
		}
	}
}
