// Command edge is the telephony edge's data plane: SIP trunks in, voice
// agents out, media anchored (design sections 7 and 9). SIGTERM drains
// (no new calls, existing calls finish, bounded); SIGINT stops at once.
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
	term, stopTerm := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	intr, stopInt := signal.NotifyContext(context.Background(), os.Interrupt)
	cfg, err := loadConfig(os.Args[1:], os.LookupEnv, os.Stderr)
	if err != nil {
		fmt.Fprintf(os.Stderr, "edge: %v\n", err)
		os.Exit(2)
	}
	setGCPercent(os.LookupEnv)                // memlimit.go
	setMemoryLimit(os.LookupEnv, os.ReadFile) // memlimit.go
	err = run(term, intr, cfg, os.Stderr)
	stopTerm()
	stopInt()
	if err != nil {
		fmt.Fprintf(os.Stderr, "edge: %v\n", err)
		if errors.Is(err, errUsage) {
			os.Exit(2)
		}
		os.Exit(1)
	}
}
