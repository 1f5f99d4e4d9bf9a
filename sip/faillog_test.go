package sip

import (
	"bytes"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
)

// failLogLines is how many of the last log lines a failed test prints.
const failLogLines = 400

// failLog keeps the last lines of a test edge's debug log and prints them
// when the test fails, so that a failure on a loaded CI machine comes
// with the edge's side of the story. Writes after the test has ended are
// kept, never sent to t (which would panic).
type failLog struct {
	mu    sync.Mutex
	lines []string // a ring of failLogLines
	next  int
	full  bool
}

// newFailLog registers its dump as a cleanup; call it before anything
// whose cleanup still logs, so that the dump runs after them.
func newFailLog(t *testing.T) *failLog {
	l := &failLog{lines: make([]string, failLogLines)}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("the edge's last log lines:\n%s", l.String())
		}
	})
	return l
}

func (l *failLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, line := range bytes.Split(bytes.TrimRight(p, "\n"), []byte("\n")) {
		l.lines[l.next] = string(line)
		l.next = (l.next + 1) % len(l.lines)
		l.full = l.full || l.next == 0
	}
	return len(p), nil
}

func (l *failLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var kept []string
	if l.full {
		kept = append(kept, l.lines[l.next:]...)
	}
	kept = append(kept, l.lines[:l.next]...)
	return strings.Join(kept, "\n")
}

// logger logs at debug level into w as well as into l.
func (l *failLog) logger(w io.Writer) *slog.Logger {
	out := io.Writer(l)
	if w != nil {
		out = io.MultiWriter(l, w)
	}
	return slog.New(slog.NewTextHandler(out, &slog.HandlerOptions{Level: slog.LevelDebug}))
}
