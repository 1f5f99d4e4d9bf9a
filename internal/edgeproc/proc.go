package edgeproc

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Proc is a running program.
type Proc struct {
	Name  string
	cmd   *exec.Cmd
	group bool // signalled as a process group (Options.Group)
	log   *syncBuffer
	done  chan struct{}
	err   error // of Wait, once done is closed
}

// Start runs bin with only env (and PATH) as its environment. The process
// is killed at cleanup (and if the test binary dies first); its log's
// tail is shown when the test fails.
func Start(t testing.TB, name, bin string, args []string, env map[string]string) *Proc {
	t.Helper()
	return StartWith(t, name, bin, args, env, Options{})
}

// Options are the rarer ways to run a program.
type Options struct {
	// Dir is its working directory (default: the test's), where programs
	// such as sipp write their logs.
	Dir string
	// Group runs it in a process group of its own, signalled and killed
	// as one: for programs that fork workers (kamailio).
	Group bool
}

// StartWith is Start with Options.
func StartWith(t testing.TB, name, bin string, args []string, env map[string]string, o Options) *Proc {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH")}
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	cmd.Dir = o.Dir
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: o.Group}
	p := &Proc{Name: name, cmd: cmd, group: o.Group, log: &syncBuffer{}, done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = p.log, p.log
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	go func() { p.err = cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		p.Signal(syscall.SIGKILL)
		<-p.done
		if t.Failed() {
			out := p.log.String()
			if len(out) > 8000 {
				out = out[len(out)-8000:]
			}
			t.Logf("%s (%s) log:\n%s", name, filepath.Base(bin), out)
		}
	})
	return p
}

// Signal sends sig to the process (nothing once it has exited).
func (p *Proc) Signal(sig syscall.Signal) {
	select {
	case <-p.done:
	default:
		if p.group {
			_ = syscall.Kill(-p.cmd.Process.Pid, sig)
			return
		}
		_ = p.cmd.Process.Signal(sig)
	}
}

// Wait waits up to d for the process to exit and returns its exit code
// (-1 when killed by a signal), or fails t.
func (p *Proc) Wait(t testing.TB, d time.Duration) int {
	t.Helper()
	select {
	case <-p.done:
		return p.cmd.ProcessState.ExitCode()
	case <-time.After(d):
		t.Fatalf("%s still running after %v", p.Name, d)
		return 0
	}
}

// ExitWithin waits up to d for the process to exit and returns its exit
// code, or -1 when it is still running (or was killed by a signal).
func (p *Proc) ExitWithin(d time.Duration) int {
	select {
	case <-p.done:
		return p.cmd.ProcessState.ExitCode()
	case <-time.After(d):
		return -1
	}
}

// Exited reports whether the process has exited.
func (p *Proc) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// Log is what the process has written so far.
func (p *Proc) Log() string { return p.log.String() }

// syncBuffer is a log a process writes while the test reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.b.Len() > 4<<20 { // bounded: keep the newest half
		tail := append([]byte(nil), s.b.Bytes()[s.b.Len()/2:]...)
		s.b.Reset()
		s.b.Write(tail)
	}
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
