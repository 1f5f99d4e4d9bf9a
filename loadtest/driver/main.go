// Command driver is the edge's load test (make loadtest): it starts a
// private Redis, edge-admin, the edge and SIPp services on loopback,
// provisions N workspaces of M numbers through the admin API, and drives
// SIPp trunks through three runs: the highest call rate with zero failed
// calls (RFC 7502 session establishment rate), the most simultaneous calls
// with PCMU both ways under a packet-loss bound, and a fairness run where
// one workspace floods past its limits while the others' calls all
// succeed. It writes a JSON file, a Markdown report and a PNG chart under
// -out/<timestamp>/ and -out/latest.md. Every run is bounded; every
// process it starts is stopped (by process group) when it ends.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	o, err := parseOptions(os.Args[1:], os.Stderr)
	if err != nil {
		stop()
		fmt.Fprintf(os.Stderr, "driver: %v\n", err)
		os.Exit(2)
	}
	dir, err := run(ctx, o, os.Stdout)
	stop()
	if err != nil {
		fmt.Fprintf(os.Stderr, "driver: %v\n", err)
		if errors.Is(err, errUsage) {
			os.Exit(2)
		}
		os.Exit(1)
	}
	fmt.Printf("results: %s\n", dir)
}
