package main

import (
	"context"
	"fmt"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/voiceedge/edge/admin/client"
	"github.com/voiceedge/edge/tenancy"
)

// workspace is one provisioned workspace of the test.
type workspace struct {
	id      string
	key     string // owner API key
	numbers []string
}

// numberOf is the E.164 number j of workspace i (+1 555 iii jjjj, a
// fictional range).
func numberOf(i, j int) string { return fmt.Sprintf("+1555%03d%04d", i, j) }

// workspaceFile is the declarative file applied to workspace i: one
// service (SIPp service i mod services), its numbers, one trunk admitting
// the load generators' addresses.
func workspaceFile(i, numbers int, target string, sources []netip.Addr) string {
	var b strings.Builder
	fmt.Fprintf(&b, "services:\n  - id: agent\n    name: Load agent %d\n    target: %q\n", i, target)
	b.WriteString("    agent_config:\n      language: en-US\n")
	b.WriteString("phone_numbers:\n")
	for j := 0; j < numbers; j++ {
		fmt.Fprintf(&b, "  - number: %q\n    service_id: agent\n    label: Load line %d\n", numberOf(i, j), j)
	}
	b.WriteString("trunks:\n  - id: load-carrier\n    name: SIPp load generators\n    allowed_cidrs: [")
	for k, a := range sources {
		if k > 0 {
			b.WriteString(", ")
		}
		b.WriteString(netip.PrefixFrom(a, a.BitLen()).String())
	}
	b.WriteString("]\n")
	b.WriteString("voice_settings:\n  tts_voice: en-US-warm-female-1\n  speed: 1.0\n  keyterms: [Load]\n  sensitive_topics: [diagnosis]\n")
	return b.String()
}

// provision creates the workspaces through the admin API: each with the
// platform token, then its file applied with its owner's key. Every
// workspace's trunk admits sources; workspace 0's also admits flooder, its
// own carrier (from which the others' numbers answer 404).
func provision(ctx context.Context, s *stack, sources []netip.Addr, flooder netip.Addr, log io.Writer) ([]workspace, error) {
	c, err := client.New(client.Config{BaseURL: s.adminURL, Key: s.token, Timeout: 30 * time.Second})
	if err != nil {
		return nil, err
	}
	out := make([]workspace, 0, s.o.Workspaces)
	for i := 0; i < s.o.Workspaces; i++ {
		cw, err := c.CreateWorkspace(ctx, client.NewWorkspace{
			Name: fmt.Sprintf("Load clinic %d", i), Environment: tenancy.EnvDevelopment,
			Owner: client.NewOwner{Name: "Load Owner", Email: fmt.Sprintf("owner%d@load.example", i)},
		})
		if err != nil {
			return nil, fmt.Errorf("create workspace %d: %w", i, err)
		}
		svc := s.services[i%len(s.services)]
		src := sources
		if i == 0 {
			src = append(append([]netip.Addr{}, sources...), flooder)
		}
		text := workspaceFile(i, s.o.Numbers, svc.target, src)
		name := filepath.Join(s.dir, fmt.Sprintf("workspace-%d.yaml", i))
		if err := os.WriteFile(name, []byte(text), 0o600); err != nil {
			return nil, err
		}
		f, err := client.ParseFile(name, []byte(text), func(string) (string, bool) { return "", false })
		if err != nil {
			return nil, fmt.Errorf("workspace file %d: %w", i, err)
		}
		if _, err := c.WithKey(cw.OwnerAPIKey).Apply(ctx, f, cw.ID, client.ApplyOptions{}, io.Discard); err != nil {
			return nil, fmt.Errorf("apply workspace %d: %w", i, err)
		}
		ws := workspace{id: cw.ID, key: cw.OwnerAPIKey}
		for j := 0; j < s.o.Numbers; j++ {
			ws.numbers = append(ws.numbers, numberOf(i, j))
		}
		out = append(out, ws)
	}
	fmt.Fprintf(log, "provisioned %d workspaces x %d numbers through %s\n", len(out), s.o.Numbers, s.adminURL)
	return out, nil
}

// setLimits sets a workspace's limits with the platform token.
func setLimits(ctx context.Context, s *stack, ws string, l tenancy.Limits) error {
	c, err := client.New(client.Config{BaseURL: s.adminURL, Key: s.token})
	if err != nil {
		return err
	}
	if _, err := c.PatchWorkspace(ctx, ws, client.WorkspacePatch{Limits: &l}); err != nil {
		return fmt.Errorf("set limits of %s: %w", ws, err)
	}
	return nil
}

// writeCSV writes a SIPp injection file (SEQUENTIAL) of numbers,
// interleaving the workspaces so consecutive calls hit different ones.
func writeCSV(path string, wss []workspace) error {
	var b strings.Builder
	b.WriteString("SEQUENTIAL\n")
	maxN := 0
	for _, w := range wss {
		maxN = max(maxN, len(w.numbers))
	}
	for j := 0; j < maxN; j++ {
		for _, w := range wss {
			if j < len(w.numbers) {
				b.WriteString(w.numbers[j] + ";\n")
			}
		}
	}
	return os.WriteFile(path, []byte(b.String()), 0o644)
}
