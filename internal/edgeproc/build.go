package edgeproc

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// Binaries are the built programs.
type Binaries struct{ Edge, Admin, Agent string }

var (
	buildOnce sync.Once
	built     Binaries
	buildErr  string
)

// Build builds cmd/edge, cmd/edge-admin and cmd/edge-agent once for the
// test binary (into a folder removed at its exit by the OS's tmp policy;
// each test binary builds its own).
func Build(t testing.TB) Binaries {
	t.Helper()
	buildOnce.Do(func() {
		root, err := moduleRoot()
		if err != nil {
			buildErr = err.Error()
			return
		}
		dir, err := os.MkdirTemp("", "edgeproc-bin-")
		if err != nil {
			buildErr = err.Error()
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, "go", "build", "-o", dir+string(os.PathSeparator), "./cmd/edge", "./cmd/edge-admin", "./cmd/edge-agent")
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = "go build: " + err.Error() + "\n" + string(out)
			return
		}
		built = Binaries{Edge: filepath.Join(dir, "edge"), Admin: filepath.Join(dir, "edge-admin"), Agent: filepath.Join(dir, "edge-agent")}
	})
	if buildErr != "" {
		t.Fatal(buildErr)
	}
	return built
}

// moduleRoot is the folder of the go.mod above the working directory.
func moduleRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", err
	}
	return filepath.Dir(strings.TrimSpace(string(out))), nil
}
